"""Public trust pages: Kefu Verify (``/verify``: is this link, address, number, handle or agent
id official?) and the customer's side of step-up identity verification
(``/verify/identity/<token>``), with the demo exchange's simulated sign-in for development.

None of these pages needs a Kefu sign-in: the link's token is the customer's credential, and
Verify is for anyone who received a message claiming to be us. Both are rate limited per
address; a refusal is the page again with 429 and ``Retry-After``."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.models import Customer
from kefu.config import Settings
from kefu.core import clock
from kefu.core.errors import InvalidInput, NotFound
from kefu.core.http import SessionDep, SettingsDep
from kefu.exchange import callbacks
from kefu.exchange.demo import DEMO_SIGN_IN_PATH
from kefu.trust import stepup, verify
from kefu.trust.api import public_base
from kefu.trust.errors import RateLimited
from kefu.trust.models import IdentityCheck
from kefu.trust.ratelimit import Rate, RateRule, client_ip, limiter_of
from kefu.web import i18n
from kefu.web.render import (
    PageRoute,
    clean,
    error_message,
    page_language,
    redirect,
    remember_session,
    render,
)

VERIFY_PAGE = RateRule("verify_page", per_ip=Rate(30, 60))
IDENTITY_PAGE = RateRule("identity_page", per_ip=Rate(60, 60))
PAGE_KINDS = ("any", *verify.VERIFY_KINDS)

router = APIRouter(route_class=PageRoute, include_in_schema=False,
                   dependencies=[Depends(remember_session)])


async def _limited(request: Request, rule: RateRule) -> RateLimited | None:
    try:
        await rule.check(limiter_of(request.app), ip=client_ip(request))
    except RateLimited as exc:
        return exc
    return None


# ---------------------------------------------------------------- Kefu Verify


@router.get("/verify", response_class=HTMLResponse)
async def verify_page(
    request: Request,
    session: SessionDep,
    kind: Annotated[str, Query(max_length=16)] = "any",
    value: Annotated[str, Query(max_length=2048)] = "",
) -> Response:
    """The form, and the verdict once a value was sent: official (green), suspicious with what
    it imitates (red), or not an official channel (warning)."""
    kind = kind if kind in PAGE_KINDS else "any"
    value = clean(value).strip()
    context = {"section": "help", "kinds": PAGE_KINDS, "kind": kind, "value": value,
               "result": None, "error": None, "retry_after": None}
    if not value:
        return render(request, "verify/check.html", context)
    refused = await _limited(request, VERIFY_PAGE)
    if refused is not None:
        return render(request, "verify/check.html", {**context, "retry_after":
                      refused.retry_after_s}, status=429,
                      headers={"Retry-After": str(refused.retry_after_s)})
    try:
        result = (await verify.verify_any(session, value=value) if kind == "any"
                  else await verify.verify_value(session, kind=kind, value=value))
    except InvalidInput as exc:  # in the reader's language; English readers get the detail
        language = page_language(request)
        message = error_message(i18n.Translator(language), exc)
        detailed = language.startswith("en") and message != exc.message
        return render(request, "verify/check.html", {**context, "error": f"{message} "
                      f"({exc.message})" if detailed else message}, status=422)
    return render(request, "verify/check.html", {**context, "result": result})


# ---------------------------------------------------------------- the demo exchange's sign-in


def _demo_only(settings: Settings) -> None:
    """The simulated exchange exists only with the demo adapter, and never in production."""
    if settings.exchange_adapter != "demo" or settings.env == "production":
        raise NotFound("page")


async def _opened_check(session: AsyncSession, reference: str) -> tuple[IdentityCheck, Customer]:
    check = await stepup.find_opened(session, reference)
    customer = await session.get(Customer, check.customer_id)
    assert customer is not None
    return check, customer


@router.get(DEMO_SIGN_IN_PATH, response_class=HTMLResponse)
async def demo_sign_in(
    request: Request, session: SessionDep, settings: SettingsDep,
    reference: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """Development: what the exchange's re-authentication page would be."""
    _demo_only(settings)
    check, customer = await _opened_check(session, reference)
    return render(request, "verify/demo_exchange.html", {
        "section": "help", "check": check, "customer": customer, "done": None})


@router.post(DEMO_SIGN_IN_PATH, response_class=HTMLResponse)
async def demo_sign_in_answer(
    request: Request, session: SessionDep, settings: SettingsDep,
    reference: Annotated[str, Form(max_length=64)] = "",
    decision: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """The simulated exchange signs its result and hands it to the same code as the real
    callback, so the demo exercises the signature check too."""
    _demo_only(settings)
    if decision not in ("verified", "failed"):
        raise InvalidInput("choose to sign in or to cancel", code="invalid_decision")
    check, customer = await _opened_check(session, reference)
    secret = stepup.callback_secret(settings)
    assert secret is not None  # the demo adapter always has one
    body = json.dumps({
        "reference": str(check.id), "external_id": customer.external_id, "result": decision,
        "method": "demo sign-in (password + 2FA)",
        "authenticated_at": clock.now().isoformat()}).encode()
    signature = callbacks.sign(secret, body, timestamp=int(clock.now().timestamp()))
    completed = await stepup.complete_check(session, settings, body=body, signature=signature)
    return render(request, "verify/demo_exchange.html", {
        "section": "help", "check": completed, "customer": customer, "done": decision})


# ---------------------------------------------------------------- the customer's link


async def _identity_page(request: Request, session: AsyncSession, token: str) -> Response:
    refused = await _limited(request, IDENTITY_PAGE)
    if refused is not None:
        return render(request, "verify/identity.html", {
            "section": "help", "check": None, "state": "rate_limited", "token": token,
            "retry_after": refused.retry_after_s}, status=429,
            headers={"Retry-After": str(refused.retry_after_s)})
    check = await stepup.find_by_token(session, token)
    if check is None:
        raise NotFound("verification link")
    return render(request, "verify/identity.html", {
        "section": "help", "check": check, "state": stepup.link_state(check), "token": token,
        "retry_after": None}, headers={"Referrer-Policy": "no-referrer"})


@router.get("/verify/identity/{token}", response_class=HTMLResponse)
async def identity_link(request: Request, token: str, session: SessionDep) -> Response:
    """What the customer sees on opening the link: why, and a button to the exchange's
    sign-in. Opening it changes nothing (link previews in chat apps fetch it too)."""
    return await _identity_page(request, session, token)


@router.post("/verify/identity/{token}")
async def identity_continue(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> Response:
    """On to the exchange's sign-in page."""
    refused = await _limited(request, IDENTITY_PAGE)
    if refused is not None:
        return await _identity_page(request, session, token)
    base = public_base(request, settings)
    url = await stepup.begin_check(session, request.app.state.exchange, settings, token=token,
                                   base_url=base)
    response: RedirectResponse = redirect(url)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
