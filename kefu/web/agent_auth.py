"""Agent sign-in pages: password, then the TOTP step (or enrolment when policy demands 2FA),
and sign-out. The session cookie is the same one the API's ``/auth/login`` sets."""

from __future__ import annotations

import hmac
import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kefu.accounts import security
from kefu.accounts import service as accounts
from kefu.accounts.actor import Actor
from kefu.accounts.deps import SESSION_COOKIE
from kefu.core.errors import Forbidden, KefuError
from kefu.core.http import SessionDep, SettingsDep
from kefu.core.ids import new_token
from kefu.db import savepoint
from kefu.web.render import (
    PageActorDep,
    PageRoute,
    clean,
    redirect,
    remember_session,
    render,
)

# Double-submit token for the sign-in form, so another site cannot sign a browser in to an
# account of its choosing (login CSRF).
LOGIN_CSRF_COOKIE = "kefu_login_csrf"
SAFE_NEXT = re.compile(r"/agent(?:[/?][A-Za-z0-9\-._~/?=&%+:]*)?")

router = APIRouter(prefix="/agent", route_class=PageRoute, include_in_schema=False,
                   dependencies=[Depends(remember_session)])


def safe_next(value: str | None) -> str:
    """Only a path inside the console; anything else (other hosts, ``//evil``) goes home."""
    if value and SAFE_NEXT.fullmatch(value):
        return value
    return "/agent"


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _login_page(
    request: Request, *, next_url: str, email: str = "", error: KefuError | None = None,
    token: str | None = None,
) -> HTMLResponse:
    token = token or request.cookies.get(LOGIN_CSRF_COOKIE) or new_token(16)
    response = render(request, "agent/login.html", {
        "section": "agent",
        "next_url": next_url,
        "email": email,
        "login_csrf": token,
        "error": error,
        "page_url": "/agent/login",
    }, status=error.status if error else 200)
    if request.cookies.get(LOGIN_CSRF_COOKIE) != token:
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                            path="/agent", secure=request.app.state.settings.session_cookie_secure)
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(
    request: Request,
    actor: PageActorDep,
    next: Annotated[str, Query(max_length=500)] = "",  # noqa: A002
) -> Response:
    if actor.is_agent:
        return redirect(safe_next(next))
    if getattr(request.state, "pending_mfa", None) is not None:
        return redirect("/agent/2fa")
    return _login_page(request, next_url=safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "",  # noqa: A002
) -> Response:
    next_url = safe_next(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return _login_page(request, next_url=next_url, email=email, token=new_token(16),
                           error=Forbidden("the sign-in form expired", code="login_expired"))
    try:
        _, agent_session, raw = await accounts.login(
            session, settings, email=clean(email), password=password, ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""))
    except KefuError as exc:
        return _login_page(request, next_url=next_url, email=email, error=exc)
    response = redirect("/agent/2fa" if not agent_session.mfa_passed else next_url)
    response.set_cookie(SESSION_COOKIE, raw, max_age=settings.session_lifetime_s,
                        httponly=True, samesite="lax", secure=settings.session_cookie_secure,
                        path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/agent")
    return response


# ---------------------------------------------------------------- two-factor


async def _enrolment_page(
    request: Request, session: SessionDep, actor: Actor, *, error: KefuError | None = None
) -> HTMLResponse:
    agent = actor.agent
    assert agent is not None
    if agent.totp_secret is None:
        secret, uri = await accounts.begin_2fa_setup(session, actor)
    else:
        # Reloading the page must not replace a secret the agent may have scanned already.
        secret, uri = agent.totp_secret, security.totp_uri(agent.totp_secret, agent.email)
    return render(request, "agent/twofactor.html", {
        "section": "agent",
        "mode": "enrol",
        "required": actor.must_enroll_2fa,
        "secret": secret,
        "secret_groups": [secret[i:i + 4] for i in range(0, len(secret), 4)],
        "otpauth_uri": uri,
        "csrf": actor.csrf_token or "",
        "error": error,
        "page_url": "/agent/2fa",
    }, status=error.status if error else 200)


def _code_page(request: Request, csrf: str, *, error: KefuError | None = None) -> HTMLResponse:
    return render(request, "agent/twofactor.html", {
        "section": "agent",
        "mode": "verify",
        "csrf": csrf,
        "error": error,
        "page_url": "/agent/2fa",
    }, status=error.status if error else 200)


@router.get("/2fa", response_class=HTMLResponse)
async def two_factor_form(request: Request, session: SessionDep, actor: PageActorDep) -> Response:
    pending = getattr(request.state, "pending_mfa", None)
    if pending is not None:
        return _code_page(request, pending[2])
    if actor.agent is None:
        return redirect("/agent/login")
    if actor.agent.totp_enabled:
        return redirect("/agent")
    return await _enrolment_page(request, session, actor)


@router.post("/2fa", response_class=HTMLResponse)
async def two_factor(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: PageActorDep,
    code: Annotated[str, Form(max_length=20)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The sign-in code step, or confirming enrolment with the first code."""
    pending = getattr(request.state, "pending_mfa", None)
    if pending is not None:
        agent_session, agent, csrf = pending
        if not hmac.compare_digest(csrf, csrf_token):
            raise Forbidden("missing or wrong CSRF token", code="csrf_failed")
        step = Actor(kind="agent", agent=agent, session_id=agent_session.id)
        try:
            await accounts.verify_second_factor(session, settings, step, code=code)
        except KefuError as exc:
            return _code_page(request, csrf, error=exc)
        return redirect("/agent")
    if actor.agent is None:
        return redirect("/agent/login")
    if actor.agent.totp_enabled:
        return redirect("/agent")
    try:
        async with savepoint(session):
            await accounts.enable_2fa(session, actor, code=code)
    except KefuError as exc:
        return await _enrolment_page(request, session, actor, error=exc)
    return redirect("/agent?ok=2fa_enabled")


@router.post("/logout")
async def logout(
    request: Request,
    session: SessionDep,
    actor: PageActorDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> RedirectResponse:
    pending = getattr(request.state, "pending_mfa", None)
    if actor.session_id is not None:
        await accounts.logout(session, actor.session_id)
    elif pending is not None and hmac.compare_digest(pending[2], csrf_token):
        await accounts.logout(session, pending[0].id)
    response = redirect("/agent/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
