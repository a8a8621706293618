"""The customer ticket portal. Customers arrive signed in by the exchange: its backend links to
``/portal/sso?token=<short-lived JWT with jti>``; the link works once and leaves a signed,
HttpOnly portal cookie. Everything a customer sees goes through the ticket service's scoping."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

import jwt
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts import security
from kefu.accounts import service as accounts
from kefu.accounts.actor import Actor
from kefu.accounts.deps import PORTAL_COOKIE
from kefu.accounts.models import Customer
from kefu.config import Settings
from kefu.core import clock
from kefu.core.errors import InvalidInput, KefuError, NotFound, Unauthorized
from kefu.core.http import SessionDep, SettingsDep
from kefu.core.ids import new_token
from kefu.db import savepoint
from kefu.kb import deflection
from kefu.kb.indexing import ArticleIndex, article_index
from kefu.tickets import replies, schemas, service, workflow
from kefu.tickets.creation import Opened, open_for_actor
from kefu.tickets.events import ticket_read
from kefu.tickets.lifecycle import TRANSITIONS
from kefu.tickets.listing import TicketFilters, list_tickets
from kefu.tickets.messages import messages_of
from kefu.tickets.models import Ticket
from kefu.trust.antiphishing import anti_phishing_code
from kefu.web import i18n
from kefu.web.render import (
    TYPED_TEXT,
    PageActorDep,
    PageRedirect,
    PageRoute,
    PublicActorDep,
    checked_cursor,
    clean,
    form_model,
    redirect,
    remember_session,
    render,
    render_partial,
)
from kefu.web.uploads import attempt, discard_files, form_files, reply_with_files, save_uploads

PORTAL_LIFETIME_S = 12 * 3600
DEV_TOKEN_LIFETIME_S = 120
PAGE_SIZE = 20
CATEGORIES = ("deposit", "withdrawal", "security", "kyc", "futures", "p2p", "api", "fees", "other")
NOTICES = {"created", "replied", "escalated", "resolved", "rated"}
# (external id, display name, language, VIP tier): customers for the development demo sign-in.
# Ids the demo exchange adapter understands (``vip7…`` is VIP 7, ``unavailable…`` a back office
# that does not answer) and that ``kefu demo`` does not use, so its customers keep their names.
DEMO_CUSTOMERS: tuple[tuple[str, str, str, int], ...] = (
    ("vip7-portal-demo", "Li Wei (VIP 7)", "zh-CN", 7),
    ("portal-demo-en", "Alice Martin", "en", 0),
    ("portal-demo-zh", "王芳", "zh-CN", 2),
    ("unavailable-portal-demo", "Sam Lee", "en", 1),
)

DEV_CUSTOMER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

router = APIRouter(prefix="/portal", route_class=PageRoute, include_in_schema=False,
                   dependencies=[Depends(remember_session)])


def require_customer(actor: Actor, request: Request | None = None) -> Actor:
    """The signed-in customer; otherwise the portal's sign-in page, which brings a customer
    back to the page they asked for (``request``'s, for a page one opens) once signed in."""
    if actor.kind != "customer" or actor.customer is None:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "") \
            if request is not None else ""
        raise PageRedirect(f"/portal?{urlencode({'next': back})}" if back_to(back) else "/portal")
    return actor


def back_to(path: str) -> str:
    """``path`` if it is a portal page to return to after signing in, else "": only this
    site's portal pages (never another site: ``//evil.example``, ``/portal/../x``, a scheme)."""
    if (not path.startswith("/portal/") or "//" in path or "\\" in path or ".." in path
            or "%" in path  # %2e%2e would be ".." once the browser decodes it
            or len(path) > 512 or path.startswith(("/portal/sso", "/portal/dev-login"))):
        return ""
    return path


# ---------------------------------------------------------------- sign-in


@router.get("/sso")
async def sso(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str, Query(max_length=4096)] = "",
    next_page: Annotated[str, Query(alias="next", max_length=512)] = "",
) -> RedirectResponse:
    """The exchange's sign-in link. The token must carry a ``jti``; a second use is refused.
    ``next``: a portal page to open once signed in (``/portal/tickets/new?category=…``)."""
    if not token:
        raise Unauthorized("the sign-in link has no token", code="invalid_token")
    claims = security.decode_customer_jwt(
        token,
        secret=settings.customer_jwt_secret.get_secret_value(),
        max_lifetime_s=settings.customer_jwt_max_lifetime_s,
        leeway_s=settings.customer_jwt_leeway_s,
        now=clock.now(),
    )
    await accounts.consume_single_use_token(session, claims)
    customer = await accounts.upsert_customer(session, claims)
    await session.flush()
    lifetime = min(PORTAL_LIFETIME_S, settings.session_lifetime_s)
    cookie = accounts.portal_cookie(settings.secret_key.get_secret_value(), customer.id,
                                    clock.now() + timedelta(seconds=lifetime))
    response = redirect(back_to(next_page) or "/portal")
    response.set_cookie(PORTAL_COOKIE, cookie, max_age=lifetime, httponly=True, samesite="lax",
                        secure=settings.session_cookie_secure, path="/")
    return response


@router.get("/dev-login")
async def dev_login(
    settings: SettingsDep, customer: Annotated[str, Query(max_length=128)] = "",
    next_page: Annotated[str, Query(alias="next", max_length=512)] = "",
) -> RedirectResponse:
    """Development only: play the exchange and sign in as a demo customer. (Development runs
    with the published demo JWT secret, so this grants nothing that ``kefu token customer``
    does not.)"""
    if settings.env != "development" or not DEV_CUSTOMER_ID.fullmatch(customer):
        raise NotFound("page")
    now = int(clock.now().timestamp())
    claims: dict[str, object] = {"sub": customer, "iat": now, "exp": now + DEV_TOKEN_LIFETIME_S,
                                 "jti": new_token(16)}
    for external_id, name, language, vip in DEMO_CUSTOMERS:
        if external_id == customer:
            claims.update(name=name, lang=language, vip=vip)
    token = jwt.encode(claims, settings.customer_jwt_secret.get_secret_value(),
                       algorithm="HS256")
    query = {"token": token} | ({"next": back_to(next_page)} if back_to(next_page) else {})
    return redirect(f"/portal/sso?{urlencode(query)}")


@router.post("/logout")
async def logout(actor: PageActorDep) -> RedirectResponse:
    response = redirect("/portal")
    response.delete_cookie(PORTAL_COOKIE, path="/")
    return response


# ---------------------------------------------------------------- list


@router.get("", response_class=HTMLResponse)
async def home(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: PublicActorDep,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    ok: Annotated[str, Query(max_length=32)] = "",
    next_page: Annotated[str, Query(alias="next", max_length=512)] = "",
) -> Response:
    back = back_to(next_page)
    if actor.kind != "customer":
        return render(request, "portal/landing.html", {
            "section": "portal",
            "demo_customers": await _demo_customers(session, settings),
            "signed_in_agent": actor.is_agent,
            "next_page": back,
        })
    if back:
        return redirect(back)
    rows, next_cursor = await list_tickets(
        session, actor, TicketFilters(), cursor=checked_cursor(cursor), limit=PAGE_SIZE)
    return render(request, "portal/list.html", {
        "section": "portal",
        "tickets": [await ticket_read(session, t, actor) for t in rows],
        "next_cursor": next_cursor,
        "paged": cursor is not None,
        "notice": ok if ok in NOTICES else "",
    })


async def _demo_customers(session: AsyncSession, settings: Settings) -> list[tuple[str, str]]:
    """Development only: the built-in demo customers and a few from the database (``kefu demo``
    seeds them), as (external id, name)."""
    if settings.env != "development":
        return []
    listed = [(external_id, name) for external_id, name, _, _ in DEMO_CUSTOMERS]
    seeded = await accounts.list_customers(session, scope=select(Customer), limit=6)
    known = {external_id for external_id, _ in listed}
    listed += [(c.external_id, c.display_name or c.external_id) for c in seeded
               if c.external_id not in known]
    return listed


# ---------------------------------------------------------------- new ticket


@router.get("/tickets/new", response_class=HTMLResponse)
async def new_ticket_form(
    request: Request,
    actor: PublicActorDep,
    category: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    require_customer(actor, request)
    return _new_ticket_page(request, {"category": category if category in CATEGORIES else ""})


def _new_ticket_page(
    request: Request, values: dict[str, str], *, error: KefuError | None = None
) -> HTMLResponse:
    return render(request, "portal/new.html", {
        "section": "portal",
        "categories": CATEGORIES,
        "values": {"subject": "", "body": "", "category": "",
                   # One key per ticket being written ties suggestions to the outcome.
                   "deflection_key": deflection.new_key(), **values},
        "error": error,
        "page_url": "/portal/tickets/new",
    }, status=error.status if error else 200)


@router.post("/tickets/suggest", response_class=HTMLResponse)
async def suggest_articles(
    request: Request,
    session: SessionDep,
    actor: PageActorDep,
    index: Annotated[ArticleIndex, Depends(article_index)],
    subject: Annotated[str, Form(max_length=1000)] = "",
    body: Annotated[str, Form(max_length=100_000)] = "",
    deflection_key: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse:
    """Help-center articles for the ticket being written (htmx, while typing). The ones shown
    are recorded, so reading one and leaving counts as deflected."""
    require_customer(actor)
    key = deflection.valid_key(deflection_key)
    lang = i18n.choose_language(request, actor.customer.language if actor.customer else None)
    found = [] if key is None else await deflection.suggest(
        session, index, key=key, channel="portal", lang=lang,
        text=f"{clean(subject)} {clean(body)[:1000]}")
    return HTMLResponse(render_partial(request, "portal/new_suggestions.html", {
        "suggestions": found, "deflection_key": key}), headers={"Cache-Control": "no-store"})


@router.post("/tickets/new", response_class=HTMLResponse)
async def create_ticket(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: PageActorDep,
    subject: Annotated[str, Form(max_length=TYPED_TEXT)] = "",
    body: Annotated[str, Form(max_length=TYPED_TEXT)] = "",
    category: Annotated[str, Form(max_length=32)] = "",
    deflection_key: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    require_customer(actor)
    values = {"subject": subject, "body": body, "category": category,
              "deflection_key": deflection.valid_key(deflection_key) or deflection.new_key()}
    stored: list[str] = []

    async def create() -> Opened:
        if category not in CATEGORIES:
            raise InvalidInput("choose a category", code="category_required")
        data = form_model(schemas.TicketCreate, subject=clean(subject).strip(),
                          body=clean(body), channel="portal")
        opened = await open_for_actor(session, actor, data)
        ticket = opened.ticket
        await workflow.change_tags(session, actor, ticket,
                                   schemas.TagChange(add=[f"category:{category}"]))
        files = await form_files(request)
        attachments = await save_uploads(session, actor, settings, ticket, files)
        stored.extend(a.storage_key for a in attachments)
        if attachments:
            # The request's message carries the files the customer attached to it.
            for attachment in attachments:
                attachment.message_id = opened.message.id
            await session.flush()
        key = deflection.valid_key(deflection_key)
        if key is not None:
            await deflection.mark_submitted(session, key, ticket)
        return opened

    try:
        async with savepoint(session):
            opened = await create()
    except KefuError as exc:
        discard_files(settings, stored)
        return _new_ticket_page(request, values, error=exc)
    # A repeat of an open ticket went there; the ticket's timeline says so.
    done = "replied" if opened.duplicate else "created"
    return redirect(f"/portal/tickets/{opened.ticket.number}?ok={done}")


# ---------------------------------------------------------------- one ticket


async def _detail_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    ticket: Ticket,
    *,
    notice: str = "",
    error: KefuError | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    read = await ticket_read(session, ticket, actor)
    moves = TRANSITIONS.get(read.status, frozenset())
    settings: Settings = request.app.state.settings
    # A resolved ticket takes a reply (which reopens it) until its reopen window has passed.
    reopen_until = (ticket.resolved_at + timedelta(seconds=settings.reopen_window_s)
                    if read.status == "resolved" and ticket.resolved_at is not None else None)
    final = read.status == "closed" or (reopen_until is not None and clock.now() > reopen_until)
    return render(request, "portal/detail.html", {
        "section": "portal",
        "ticket": read,
        "messages": await messages_of(session, ticket, include_internal=False),
        "can_reply": not final,
        "reopen_until": None if final else reopen_until,
        "can_escalate": "escalated" in moves,
        "can_resolve": "resolved" in moves,
        "can_rate": read.status in ("resolved", "closed") and ticket.rating is None,
        # The customer's own code under each message from support, as on every other channel.
        "anti_phishing_code": await anti_phishing_code(session, ticket.customer_id),
        "notice": notice if notice in NOTICES else "",
        "error": error,
        "values": {"body": "", "reason": "", "comment": "", "score": "", **(values or {})},
        "page_url": f"/portal/tickets/{read.number}",
    }, status=error.status if error else 200)


async def _readable(session: AsyncSession, actor: Actor, number: str) -> Ticket:
    return await service.get_readable(session, require_customer(actor), number)


@router.get("/tickets/{number}", response_class=HTMLResponse)
async def ticket_page(
    request: Request,
    number: str,
    session: SessionDep,
    actor: PublicActorDep,
    ok: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    require_customer(actor, request)
    ticket = await _readable(session, actor, number)
    if ticket.number != number:
        return redirect(f"/portal/tickets/{ticket.number}")
    return await _detail_page(request, session, actor, ticket, notice=ok)


async def _act(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    number: str,
    action: Callable[[Ticket, list[str]], Awaitable[None]],
    *,
    notice: str,
    values: dict[str, str],
) -> Response:
    """Run one change in a savepoint; on a refusal show the ticket again with the reason and
    what the customer typed, with the error's status."""
    ticket = await _readable(session, actor, number)
    _, error = await attempt(session, settings, lambda stored: action(ticket, stored))
    if error is not None:
        ticket = await _readable(session, actor, number)
        return await _detail_page(request, session, actor, ticket, error=error, values=values)
    return redirect(f"/portal/tickets/{ticket.number}?ok={notice}")


@router.post("/tickets/{number}/reply", response_class=HTMLResponse)
async def reply(
    request: Request,
    number: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: PageActorDep,
    body: Annotated[str, Form(max_length=TYPED_TEXT)] = "",
) -> Response:
    async def send(ticket: Ticket, stored: list[str]) -> None:
        await reply_with_files(request, session, actor, settings, ticket,
                               form_model(schemas.ReplyCreate, body=clean(body)), stored)

    return await _act(request, session, settings, actor, number, send, notice="replied",
                      values={"body": body})


@router.post("/tickets/{number}/escalate", response_class=HTMLResponse)
async def escalate(
    request: Request,
    number: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: PageActorDep,
    reason: Annotated[str, Form(max_length=TYPED_TEXT)] = "",
) -> Response:
    async def go(ticket: Ticket, _: list[str]) -> None:
        data = form_model(schemas.EscalateRequest, reason=clean(reason))
        await workflow.escalate(session, actor, ticket, reason=data.reason)

    return await _act(request, session, settings, actor, number, go, notice="escalated",
                      values={"reason": reason})


@router.post("/tickets/{number}/resolve", response_class=HTMLResponse)
async def resolve(
    request: Request,
    number: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: PageActorDep,
) -> Response:
    async def go(ticket: Ticket, _: list[str]) -> None:
        await workflow.change_status(session, actor, ticket,
                                     schemas.StatusChange(status="resolved"))

    return await _act(request, session, settings, actor, number, go, notice="resolved",
                      values={})


@router.post("/tickets/{number}/rating", response_class=HTMLResponse)
async def rate(
    request: Request,
    number: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: PageActorDep,
    score: Annotated[str, Form(max_length=8)] = "",
    comment: Annotated[str, Form(max_length=TYPED_TEXT)] = "",
) -> Response:
    """The customer's 1–5 rating of a resolved or closed ticket, with an optional comment."""
    async def go(ticket: Ticket, _: list[str]) -> None:
        if score.strip() not in ("1", "2", "3", "4", "5"):
            raise InvalidInput("choose a score from 1 to 5", code="invalid_score")
        data = form_model(schemas.RatingCreate, score=int(score),
                          comment=clean(comment).strip() or None)
        await replies.rate(session, actor, ticket, score=data.score, comment=data.comment)

    return await _act(request, session, settings, actor, number, go, notice="rated",
                      values={"score": score, "comment": comment})
