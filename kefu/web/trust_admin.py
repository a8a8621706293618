"""Trust pages of the agent console: the official-channel registry (admins), the abuse review
queue (supervisors), and a ticket's trust panel: compliance hold, identity checks, the step-up
link button and the agent's public id.

The ticket page includes ``agent/trust_include.html``, which loads the panel with htmx (and
links to it as a page without JavaScript). Forms post, answer with a 303 on success, and show
the page again with the reason under the error's 4xx status on refusal."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.models import Customer
from kefu.core.errors import Forbidden, InvalidInput, KefuError, NotFound
from kefu.core.http import SessionDep, SettingsDep
from kefu.db import savepoint
from kefu.guard import abuse
from kefu.tickets import service as tickets
from kefu.tickets.models import Ticket
from kefu.trust import compliance, review, stepup, verify
from kefu.trust.api import public_base
from kefu.trust.models import CHANNEL_KINDS, STEP_UP_PURPOSES, OfficialChannel
from kefu.web.agent import AgentPageDep, console_context
from kefu.web.render import (
    PageRoute,
    add_security_headers,
    clean,
    redirect,
    remember_session,
    render,
    render_partial,
)

CHANNEL_NOTICES = ("saved", "removed")
REVIEW_NOTICES = ("reviewed",)
RECENT_DECISIONS = 20

router = APIRouter(prefix="/agent", route_class=PageRoute, include_in_schema=False,
                   dependencies=[Depends(remember_session)])


async def admin_page_actor(actor: AgentPageDep) -> Actor:
    if not actor.is_admin:
        raise Forbidden("the official-channel registry is for admins", code="admin_required")
    return actor


async def supervisor_page_actor(actor: AgentPageDep) -> Actor:
    if not actor.is_supervisor:
        raise Forbidden("the review queue is for supervisors and admins",
                        code="supervisor_required")
    return actor


AdminPageDep = Annotated[Actor, Depends(admin_page_actor)]
SupervisorPageDep = Annotated[Actor, Depends(supervisor_page_actor)]


# ---------------------------------------------------------------- official channels


async def _channels_page(
    request: Request, session: AsyncSession, actor: Actor, *, notice: str = "",
    error: KefuError | None = None, values: dict[str, str] | None = None,
) -> HTMLResponse:
    return render(request, "agent/trust_channels.html", {
        "section": "agent",
        "channels": await verify.list_channels(session),
        "kinds": CHANNEL_KINDS,
        "display": verify.display,
        "notice": notice if notice in CHANNEL_NOTICES else "",
        "error": error,
        "values": {"kind": "domain", "value": "", "label": "", **(values or {})},
        "page_url": "/agent/trust/channels",
        **await console_context(request, session, actor, page="trust_channels"),
    }, status=error.status if error else 200)


@router.get("/trust/channels", response_class=HTMLResponse)
async def channels(
    request: Request, session: SessionDep, actor: AdminPageDep,
    ok: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    return await _channels_page(request, session, actor, notice=ok)


@router.post("/trust/channels", response_class=HTMLResponse)
async def save_channel(
    request: Request, session: SessionDep, actor: AdminPageDep,
    kind: Annotated[str, Form(max_length=16)] = "",
    value: Annotated[str, Form(max_length=254)] = "",
    label: Annotated[str, Form(max_length=200)] = "",
    active: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    try:
        async with savepoint(session):
            await verify.upsert_channel(session, actor, kind=kind, value=clean(value),
                                        label=clean(label), active=active == "on")
    except KefuError as exc:
        return await _channels_page(request, session, actor, error=exc,
                                    values={"kind": kind, "value": value, "label": label})
    return redirect("/agent/trust/channels?ok=saved")


async def _channel(session: AsyncSession, channel_id: str) -> OfficialChannel:
    try:
        channel = await session.get(OfficialChannel, uuid.UUID(channel_id))
    except ValueError:
        channel = None
    if channel is None:
        raise NotFound("official channel")
    return channel


@router.post("/trust/channels/{channel_id}/toggle", response_class=HTMLResponse)
async def toggle_channel(channel_id: str, session: SessionDep, actor: AdminPageDep) -> Response:
    channel = await _channel(session, channel_id)
    await verify.upsert_channel(session, actor, kind=channel.kind, value=channel.value,
                                label=channel.label, active=not channel.active)
    return redirect("/agent/trust/channels?ok=saved")


@router.post("/trust/channels/{channel_id}/delete", response_class=HTMLResponse)
async def delete_channel(channel_id: str, session: SessionDep, actor: AdminPageDep) -> Response:
    channel = await _channel(session, channel_id)
    await verify.remove_channel(session, actor, kind=channel.kind, value=channel.value)
    return redirect("/agent/trust/channels?ok=removed")


# ---------------------------------------------------------------- the review queue


async def _review_page(
    request: Request, session: AsyncSession, actor: Actor, *, notice: str = "",
    error: KefuError | None = None,
) -> HTMLResponse:
    decided = (await review.list_flags(session, status="actioned", limit=RECENT_DECISIONS)
               + await review.list_flags(session, status="dismissed", limit=RECENT_DECISIONS))
    decided.sort(key=lambda v: v.flag.reviewed_at or v.flag.created_at, reverse=True)
    return render(request, "agent/trust_review.html", {
        "section": "agent", "reason_parts": abuse.reason_parts,
        "open_flags": await review.list_flags(session, status="open", limit=200),
        "decided": decided[:RECENT_DECISIONS],
        "notice": notice if notice in REVIEW_NOTICES else "",
        "error": error,
        "page_url": "/agent/review",
        **await console_context(request, session, actor, page="review"),
    }, status=error.status if error else 200)


@router.get("/review", response_class=HTMLResponse)
async def review_queue(
    request: Request, session: SessionDep, actor: SupervisorPageDep,
    ok: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    return await _review_page(request, session, actor, notice=ok)


@router.post("/review/{flag_id}", response_class=HTMLResponse)
async def review_flag(
    request: Request, flag_id: str, session: SessionDep, actor: SupervisorPageDep,
    decision: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    cooldown_minutes: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    try:
        async with savepoint(session):
            if decision not in ("dismissed", "actioned"):
                raise InvalidInput("choose dismiss or action", code="invalid_decision")
            minutes = int(cooldown_minutes) if cooldown_minutes.strip() else None
            await review.review_flag(session, actor, flag_id=uuid.UUID(flag_id),
                                     decision=decision,  # type: ignore[arg-type]
                                     note=clean(note), cooldown_minutes=minutes)
    except ValueError:
        return await _review_page(request, session, actor, error=InvalidInput(
            "the flag or the cool-down minutes are not valid", code="invalid_review"))
    except KefuError as exc:
        return await _review_page(request, session, actor, error=exc)
    return redirect("/agent/review?ok=reviewed")


# ---------------------------------------------------------------- a ticket's trust panel


async def _panel_context(
    request: Request, session: AsyncSession, actor: Actor, ticket: Ticket
) -> dict[str, Any]:
    """The panel's data; looking at a held customer is audited."""
    customer = await session.get(Customer, ticket.customer_id)
    assert customer is not None
    assert actor.agent is not None
    state = await compliance.refresh_compliance(session, customer, request.app.state.exchange,
                                                viewer=actor, ticket_number=ticket.number)
    return {
        "ticket_number": ticket.number,
        "customer": customer,
        "compliance": state,
        "checks": [(c, stepup.link_state(c)) for c in await stepup.checks_of(session,
                                                                             ticket.id)],
        "purposes": STEP_UP_PURPOSES,
        "open_flags": await review.open_flag_count(session, ticket_id=ticket.id),
        "public_id": verify.agent_public_id(actor.agent.id),
        "can_review": actor.is_supervisor,
    }


@router.get("/tickets/{number}/trust", response_class=HTMLResponse)
async def ticket_trust(
    request: Request, number: str, session: SessionDep, actor: AgentPageDep
) -> Response:
    """The panel alone for htmx (the ticket page's include), else as a page of its own."""
    ticket = await tickets.get_readable(session, actor, number)
    panel = await _panel_context(request, session, actor, ticket)
    if request.headers.get("hx-request"):
        response = HTMLResponse(render_partial(request, "agent/trust_panel.html",
                                               {**panel, "created": None}),
                                headers={"Vary": "HX-Request"})
        add_security_headers(response, request.url.path)
        return response
    return render(request, "agent/trust_ticket.html", {
        "section": "agent", **panel, "created": None,
        **await console_context(request, session, actor, page="ticket_trust"),
    }, headers={"Vary": "HX-Request"})


@router.post("/tickets/{number}/step-up", response_class=HTMLResponse)
async def create_step_up(
    request: Request, number: str, session: SessionDep, settings: SettingsDep,
    actor: AgentPageDep, purpose: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Create the link and show the message to send with it (once: only its hash is kept)."""
    ticket = await tickets.get_readable(session, actor, number)
    customer = await session.get(Customer, ticket.customer_id)
    assert customer is not None
    base = public_base(request, settings)
    link = await stepup.create_step_up_link(session, ticket=ticket, customer=customer,
                                            purpose=purpose, created_by=actor, base_url=base)
    created = {"url": link.url, "expires_at": link.expires_at, "purpose": purpose,
               "text": stepup.link_text(link, purpose=purpose, lang=ticket.language)}
    return render(request, "agent/trust_ticket.html", {
        "section": "agent", **await _panel_context(request, session, actor, ticket),
        "created": created, "page_url": f"/agent/tickets/{ticket.number}/trust",
        **await console_context(request, session, actor, page="ticket_trust"),
    }, headers={"Cache-Control": "no-store"})
