"""The agent console: the ticket inbox (filters swap the table with htmx) and the ticket view
with the conversation, internal notes, actions, history and the customer's exchange context.

Every action is a plain form POST (works without JavaScript), runs in a savepoint, and answers
with a 303 back to the ticket; a refusal shows the ticket again with the reason and the typed
text, under the error's 4xx status."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts import service as accounts
from kefu.accounts.actor import Actor
from kefu.accounts.models import Agent
from kefu.config import Settings
from kefu.core import clock
from kefu.core.errors import InvalidInput, KefuError, NotFound
from kefu.core.http import SessionDep, SettingsDep
from kefu.core.language import SUPPORTED_LANGUAGES, UNDETERMINED, own_name
from kefu.exchange.explorers import explorer_url, short_txid
from kefu.exchange.schemas import ACCOUNT_FLAGS, CustomerContext
from kefu.realtime import supervisor
from kefu.tickets import reads, schemas, service, workflow
from kefu.tickets.events import events_of, ticket_read
from kefu.tickets.lifecycle import TRANSITIONS, is_active
from kefu.tickets.listing import TicketFilters, list_tickets
from kefu.tickets.messages import messages_of
from kefu.tickets.models import (
    CHANNELS,
    PENDING_REASONS,
    PRIORITIES,
    STATUSES,
    Ticket,
)
from kefu.tickets.notes import add_note
from kefu.trust.compliance import compliance_state
from kefu.web import i18n
from kefu.web.render import (
    TYPED_TEXT,
    PageActorDep,
    PageRedirect,
    PageRoute,
    add_security_headers,
    checked_cursor,
    clean,
    form_model,
    redirect,
    remember_session,
    render,
    render_partial,
)
from kefu.web.uploads import attempt, reply_with_files

PAGE_SIZE = 25
NOTICES = {"replied", "noted", "status", "assigned", "escalated", "tagged", "merged",
           "2fa_enabled", "transferred", "priority"}

router = APIRouter(prefix="/agent", route_class=PageRoute, include_in_schema=False,
                   dependencies=[Depends(remember_session)])


def require_agent_page(request: Request, actor: Actor) -> Actor:
    """Agents only; everyone else is sent to sign in (customers learn nothing here)."""
    if actor.is_agent:
        return actor
    if getattr(request.state, "pending_mfa", None) is not None:
        raise PageRedirect("/agent/2fa")
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise PageRedirect(f"/agent/login?next={quote(target, safe='')}")


async def agent_actor(request: Request, actor: PageActorDep) -> Actor:
    return require_agent_page(request, actor)


AgentPageDep = Annotated[Actor, Depends(agent_actor)]


# ---------------------------------------------------------------- the live console

# Catalogue families the console's JavaScript needs (row labels, frames it renders).
CONSOLE_LABEL_PREFIXES = ("console.", "status.", "priority.", "channel.", "author.", "pending.",
                          "agent_status.", "ticket.internal_note", "supervisor.", "role.",
                          "error.")


def console_labels(request: Request) -> dict[str, str]:
    language = i18n.choose_language(request)
    return {key: text for key, text in i18n.catalogue()[language].items()
            if key.startswith(CONSOLE_LABEL_PREFIXES)}


def language_name(code: str, ui: str = i18n.DEFAULT_LANGUAGE) -> str:
    """A ticket's or a queue's language as the console names it: by its own name
    (``own_name``, the same for every viewer), written as a menu of languages writes it, first
    letter upper-cased where the script has case ("Español", "Русский", "中文"). A language
    that could not be told (``und``) is said in the UI's language ``ui``; a code Babel does not
    know stays a code. ``console.js`` gets these names (``languages``), and a live inbox row
    its ticket's (``language_name``), so a row added live reads as after a reload."""
    if code == UNDETERMINED:
        t = i18n.Translator(ui)
        return t("console.language.und")
    return own_name(code)


def language_namer(request: Request) -> Callable[[str], str]:
    """``language_name`` in this request's UI language, for the templates."""
    return partial(language_name, ui=i18n.choose_language(request))


def language_names(request: Request, codes: Iterable[str]) -> dict[str, str]:
    """Names for the languages a console page may show: every language Kefu detects, ``und``
    and ``codes`` (the teams' languages, the tickets' on the page)."""
    name = language_namer(request)
    return {code: name(code) for code in (*SUPPORTED_LANGUAGES, UNDETERMINED, *codes)}


async def unread_totals(session: AsyncSession, actor: Actor) -> dict[str, Any]:
    """Where a console page's unread total (the tab title's "(3) …") starts: every active ticket
    ``actor`` may read with customer messages they have not read, whatever the page shows,
    as ``tickets`` {number: [unread, last customer message]} (those with none left out), and
    ``counted_at``, taken before counting (a message after it reaches the page live, as news).
    ``console.js`` loads it before it counts anything itself, so the ticket a page opens still
    counts 0 there."""
    counted_at = clock.now()
    counts = (await reads.unread_tickets(session, actor.agent.id, service.ticket_scope(actor))
              if actor.agent else {})
    return {"tickets": {number: [count, last.isoformat() if last else None]
                        for number, (count, last) in counts.items()},
            "counted_at": counted_at.isoformat()}


async def console_context(
    request: Request, session: AsyncSession, actor: Actor, *, page: str,
    extra: dict[str, Any] | None = None, unread: bool = True,
) -> dict[str, Any]:
    """What every console page gives ``console.js`` (the ``console-data`` JSON) and the console
    bar: who is signed in, their status and load, names for ids, the UI's words and the
    agent's unread counts (:func:`unread_totals`; ``unread=False`` where the page's ticket list
    carries them, as the inbox's does)."""
    agent = actor.agent
    assert agent is not None
    active = await supervisor.assigned_active_numbers(session, agent.id)
    agents = await accounts.list_agents(session)
    teams = await accounts.list_teams(session)
    me = {"id": str(agent.id), "name": agent.display_name, "role": agent.role,
          "status": agent.status, "capacity": agent.capacity, "load": len(active),
          "active": active, "team_ids": sorted(str(t) for t in actor.team_ids),
          "supervisor": actor.is_supervisor}
    return {"language_name": language_namer(request), "console": {
        "page": page,
        "me": me,
        "agents": {str(a.id): a.display_name for a in agents},
        "teams": {str(t.id): t.name for t in teams},
        "languages": language_names(request, (t.language for t in teams)),
        "load_statuses": list(supervisor.LOAD_STATUSES),
        "labels": console_labels(request),
        **({"unread": await unread_totals(session, actor)} if unread else {}),
        **(extra or {}),
    }}


@router.get("/console-state", response_class=JSONResponse)
async def console_state(session: SessionDep, actor: AgentPageDep) -> Response:
    """What the console bar and the tab title hold from frames, as the server has it now: the
    signed-in agent's status, capacity and active tickets assigned to them (their load), and
    their unread counts (:func:`unread_totals`). ``console.js`` fetches it on ``refetch`` (its
    socket was down, or the server lost the events of a broker outage): the ``agent_status``,
    ``inbox`` and ``seen`` frames of the gap never came. Read-only, and only the caller's own
    figures; anyone but an agent is sent to sign in, as on every console page."""
    agent = actor.agent
    assert agent is not None
    active = await supervisor.assigned_active_numbers(session, agent.id)
    return JSONResponse({
        "me": {"id": str(agent.id), "status": agent.status, "capacity": agent.capacity,
               "load": len(active), "active": active},
        "unread": await unread_totals(session, actor),
    }, headers={"Cache-Control": "no-store"})


# ---------------------------------------------------------------- inbox


def _choice(value: str, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed else None


@router.get("", response_class=HTMLResponse)
async def inbox(
    request: Request,
    session: SessionDep,
    actor: AgentPageDep,
    status: Annotated[str, Query(max_length=16)] = "",
    priority: Annotated[str, Query(max_length=16)] = "",
    channel: Annotated[str, Query(max_length=16)] = "",
    language: Annotated[str, Query(max_length=16)] = "",
    assignee: Annotated[str, Query(max_length=8)] = "",
    tag: Annotated[str, Query(max_length=64)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    ok: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    filters = TicketFilters(
        status=_choice(status, STATUSES),
        priority=_choice(priority, PRIORITIES),
        channel=_choice(channel, CHANNELS),
        language=clean(language).strip().lower() or None,
        assignee=_choice(assignee, ("me", "none")),
        tag=clean(tag).strip().lower() or None,
        q=clean(q).strip() or None,
    )
    rows, next_cursor = await list_tickets(
        session, actor, filters, cursor=checked_cursor(cursor), limit=PAGE_SIZE)
    agents = {a.id: a.display_name for a in await accounts.list_agents(session)}
    teams = await accounts.list_teams(session)
    chosen = {"status": filters.status or "", "priority": filters.priority or "",
              "channel": filters.channel or "", "language": filters.language or "",
              "assignee": filters.assignee or "", "tag": filters.tag or "",
              "q": filters.q or ""}
    query = {k: v for k, v in chosen.items() if v}
    totals = await unread_totals(session, actor)
    context: dict[str, Any] = {
        "tickets": [await ticket_read(session, t, actor) for t in rows],
        "last_customer_at": {t.number: t.last_customer_message_at for t in rows},
        "unread": await reads.unread_counts(session, actor.agent.id, [t.id for t in rows])
        if actor.agent else {},
        # every active ticket the agent may read, on this page or not: the tab title's total
        "unread_all": totals["tickets"],
        "unread_counted_at": totals["counted_at"],
        "agent_names": agents,
        "team_names": {t.id: t.name for t in teams},
        "filters": chosen,
        "filtered": bool(query),
        "next_url": f"/agent?{urlencode({**query, 'cursor': next_cursor})}" if next_cursor
        else None,
        "first_url": f"/agent?{urlencode(query)}" if query else "/agent",
        "paged": cursor is not None,
        "language_name": language_namer(request),
    }
    if request.headers.get("hx-request") and not request.headers.get(
            "hx-history-restore-request"):
        response = HTMLResponse(render_partial(request, "agent/_tickets.html", context),
                                headers={"Vary": "HX-Request"})
        add_security_headers(response, request.url.path)
        return response
    name = language_namer(request)
    languages = sorted({"en", "zh", *(t.language for t in teams)},
                       key=lambda code: name(code).casefold())
    return render(request, "agent/inbox.html", {
        **context,
        **await console_context(request, session, actor, page="inbox", unread=False),
        "section": "agent",
        "statuses": STATUSES,
        "priorities": PRIORITIES,
        "channels": CHANNELS,
        "language_choices": languages,
        "notice": ok if ok in NOTICES else "",
    }, headers={"Vary": "HX-Request"})


# ---------------------------------------------------------------- one ticket

# Who can take a ticket soonest: online, then away, then offline.
STATUS_ORDER = {"online": 0, "away": 1, "offline": 2}


@dataclass(frozen=True)
class AssignChoice:
    """An agent in the ticket page's assignee list, with what the choice depends on."""

    id: uuid.UUID
    name: str
    status: str
    load: int  # tickets assigned in ``supervisor.LOAD_STATUSES``, as the supervisor view counts
    capacity: int
    team_ids: tuple[str, ...]
    in_team: bool  # in the ticket's team (every agent is when the ticket has none)


async def assign_choices(
    session: AsyncSession, agents: list[Agent], team_id: uuid.UUID | None
) -> list[AssignChoice]:
    """The active agents a ticket can be given to, those who can take it first: in its team,
    then online before away before offline, then the least loaded."""
    active = [a for a in agents if a.is_active]
    loads = await supervisor.agent_loads(session, [a.id for a in active])
    choices = [AssignChoice(
        id=a.id, name=a.display_name, status=a.status, load=loads.get(a.id, 0),
        capacity=a.capacity, team_ids=tuple(sorted(str(t.id) for t in a.teams)),
        in_team=team_id is None or any(t.id == team_id for t in a.teams)) for a in active]
    return sorted(choices, key=lambda c: (not c.in_team, STATUS_ORDER.get(c.status, 3),
                                          c.load, c.name.casefold()))


def _panel_url(ticket: Ticket) -> str:
    return f"/agent/tickets/{ticket.number}/customer-panel"


async def _customer_local(session: AsyncSession, ticket: Ticket) -> dict[str, Any]:
    """The customer panel as far as Kefu knows it without the exchange, for the ticket page:
    the page never waits for the back office. A customer's exchange part is then loaded from
    ``panel_url`` (:func:`customer_panel`); a visitor has none, their panel is complete."""
    customer = await accounts.get_customer(session, ticket.customer_id)
    return {
        "customer": customer,
        "context": None,
        "unavailable": "visitor" if customer.is_visitor else "",
        "loading": not customer.is_visitor,
        "panel_url": _panel_url(ticket),
        "account_age_days": None,
        "kyc_pending_hours": None,
        "flag_notes": ACCOUNT_FLAGS,
        "explorer_url": explorer_url,
        "short_txid": short_txid,
    }


async def _customer_panel(
    request: Request, session: AsyncSession, actor: Actor, ticket: Ticket
) -> dict[str, Any]:
    """The customer and their exchange context. The exchange being down or not knowing the
    customer is normal: the panel says so and the ticket works without it."""
    panel = {**await _customer_local(session, ticket), "loading": False}
    customer = panel["customer"]
    if customer.is_visitor:
        return panel
    await accounts.audit(session, actor, "customer_context.viewed", target_type="customer",
                         target_id=customer.external_id, details={"ticket": ticket.number})
    try:
        context: CustomerContext = await request.app.state.exchange.customer_context(
            customer.external_id)
    except KefuError as exc:
        panel["unavailable"] = exc.code
        return panel
    panel["context"] = context
    panel["account_age_days"] = (clock.now() - context.account_created_at).days
    review = context.kyc_review
    if review is not None and review.status == "pending":
        panel["kyc_pending_hours"] = max(
            0, int((clock.now() - review.submitted_at).total_seconds() // 3600))
    panel["compliance"] = await compliance_state(session, customer, context=context,
                                                 viewer=actor, ticket_number=ticket.number)
    return panel


def _event_summary(data: dict[str, Any], names: dict[uuid.UUID, str],
                   teams: dict[uuid.UUID, str]) -> list[tuple[str, Any]]:
    """Event data as (field, value) pairs for the history, empty values left out: agents' and
    teams' ids replaced by their names, a change as ``{"from", "to"}``, a list as a list of
    strings; the page names each value in its language."""

    def named(key: str, value: Any) -> Any:
        if key in ("assignee_id", "team_id") and isinstance(value, str):
            lookup = names if key == "assignee_id" else teams
            with contextlib.suppress(ValueError):
                return lookup.get(uuid.UUID(value), value)
        return value

    pairs: list[tuple[str, Any]] = []
    for key, value in data.items():
        if value is None or value == [] or value == "" or value == {}:
            continue
        if isinstance(value, dict) and set(value) == {"from", "to"}:
            value = {"from": named(key, value["from"]), "to": named(key, value["to"])}
        elif isinstance(value, list):
            value = [str(v) for v in value]
        else:
            value = named(key, value)
        pairs.append((key, value))
    return pairs


def _status_choices(actor: Actor, status: str) -> list[str]:
    """The statuses the status form offers from ``status``: escalating has a form of its own,
    an escalated ticket is moved on by a supervisor (``workflow.change_status``), and a pending
    ticket offers "pending" last (to change only the reason)."""
    moves = TRANSITIONS.get(status, frozenset())
    choices = [s for s in STATUSES if s in moves and s != "escalated"]
    if status == "escalated" and not actor.is_supervisor:
        return []
    if status == "pending":
        choices = [s for s in choices if s != "pending"] + ["pending"]
    return choices


async def _live_context(
    session: AsyncSession, actor: Actor, ticket: Ticket, read: schemas.TicketRead
) -> dict[str, Any]:
    """What the page's live parts (``agent/_ticket_live.html``) are drawn from, for the page
    and for ``GET /agent/tickets/{number}/sidebar`` alike: which forms the ticket's status
    and the reader's role allow, and every agent and team as they are now."""
    agents = await accounts.list_agents(session)
    teams = await accounts.list_teams(session)
    moves = TRANSITIONS.get(read.status, frozenset())
    return {
        "ticket": read,
        "agent_names": {a.id: a.display_name for a in agents},
        "team_names": {t.id: t.name for t in teams},
        "teams": teams,
        "assign_choices": await assign_choices(session, agents, ticket.team_id),
        "status_choices": _status_choices(actor, read.status),
        "pending_reasons": PENDING_REASONS,
        "priorities": PRIORITIES,
        "can_escalate": "escalated" in moves,
        "can_assign": is_active(read.status),
        # an agent's reply to a resolved ticket is sent and leaves it resolved (replies.reply)
        "can_reply": read.status != "closed",
        "can_merge": read.status != "closed",
    }


async def _ticket_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    ticket: Ticket,
    *,
    notice: str = "",
    error: KefuError | None = None,
    values: dict[str, str] | None = None,
    not_notified: str = "",
) -> HTMLResponse:
    """``not_notified``: after a note, the ids (comma-separated) of the agents it @mentions
    who may not read the ticket and were not told; the page names them to its author."""
    read = await ticket_read(session, ticket, actor)
    live = await _live_context(session, actor, ticket, read)
    names: dict[uuid.UUID, str] = live["agent_names"]
    team_names: dict[uuid.UUID, str] = live["team_names"]
    events = await events_of(session, ticket)
    return render(request, "agent/ticket.html", {
        "section": "agent",
        **live,
        "messages": await messages_of(session, ticket, include_internal=True),
        "events": [
            {"kind": e.kind, "at": e.at, "actor_kind": e.actor_kind,
             "actor_name": names.get(e.actor_agent_id, "") if e.actor_agent_id else "",
             "details": _event_summary(e.data, names, team_names)}
            for e in reversed(events)
        ],
        "notice": notice if notice in NOTICES else "",
        "not_notified": _agents_named(not_notified, names) if notice == "noted" else [],
        "error": error,
        "values": {"body": "", "note": "", "reason": "", "status_reason": "", "into": "",
                   "tags": "",
                   **(values or {})},
        "page_url": f"/agent/tickets/{read.number}",
        "last_seq": ticket.last_seq,
        **await _customer_local(session, ticket),
        **await console_context(request, session, actor, page="ticket", extra={"ticket": {
            "number": read.number, "id": str(read.id), "last_seq": ticket.last_seq,
            "status": read.status, "language": read.language, "priority": read.priority,
            "pending_reason": read.pending_reason,
            "team_id": str(ticket.team_id) if ticket.team_id else None,
            "assignee_id": str(ticket.assignee_id) if ticket.assignee_id else None,
            "can_reply": read.status != "closed",
            "customer_read_seq": (await reads.customer_read(session, ticket.id))[0],
            "last_customer_at": ticket.last_customer_message_at.isoformat()
            if ticket.last_customer_message_at else None}}),
    }, status=error.status if error else 200)


@router.get("/tickets/{number}", response_class=HTMLResponse)
async def ticket_view(
    request: Request,
    number: str,
    session: SessionDep,
    actor: AgentPageDep,
    ok: Annotated[str, Query(max_length=32)] = "",
    not_notified: Annotated[str, Query(max_length=2000)] = "",
) -> Response:
    ticket = await service.get_readable(session, actor, number)
    if ticket.number != number:
        return redirect(f"/agent/tickets/{ticket.number}")
    return await _ticket_page(request, session, actor, ticket, notice=ok,
                              not_notified=not_notified)


@router.get("/tickets/{number}/customer-panel", response_class=HTMLResponse)
async def customer_panel(
    request: Request, number: str, session: SessionDep, actor: AgentPageDep
) -> Response:
    """The ticket's customer panel with the exchange context: alone for htmx (the ticket page
    loads it after it is shown), else as a page of its own (the page's link without
    JavaScript). Who may read the ticket may read its panel; no one else learns of it."""
    ticket = await service.get_readable(session, actor, number)
    if ticket.number != number:
        return redirect(_panel_url(ticket))
    panel = await _customer_panel(request, session, actor, ticket)
    if request.headers.get("hx-request"):
        response = HTMLResponse(render_partial(request, "agent/_context.html", panel),
                                headers={"Vary": "HX-Request"})
        add_security_headers(response, request.url.path)
        return response
    return render(request, "agent/customer_panel.html", {
        "section": "agent", "ticket_number": ticket.number, **panel,
        **await console_context(request, session, actor, page="customer_panel"),
    }, headers={"Vary": "HX-Request"})


@router.get("/tickets/{number}/sidebar", response_class=HTMLResponse)
async def ticket_sidebar(
    request: Request, number: str, session: SessionDep, actor: AgentPageDep
) -> Response:
    """The ticket page's live parts as they are now (``agent/_ticket_live.html``): the tags,
    the team, assignee and first response (by name, also of agents and teams newer than the
    page), the forms the status and the reader's role allow (status, priority, assignment with
    every agent now, escalation, merge), and what a reply does now (the composer's note). The
    console swaps them in after a `ticket` frame, a first reply or a catch-up, keeping a form
    the agent changed and has not saved, and never the composer's text. Who may read the
    ticket may read these; no one else learns of it."""
    ticket = await service.get_readable(session, actor, number)
    if ticket.number != number:  # merged: the target's (console.js keeps only its own page's)
        return redirect(f"/agent/tickets/{ticket.number}/sidebar")
    read = await ticket_read(session, ticket, actor)
    response = HTMLResponse(render_partial(request, "agent/ticket_sidebar.html", {
        **await _live_context(session, actor, ticket, read),
        "values": {"status_reason": "", "reason": "", "into": ""},
    }), headers={"Cache-Control": "no-store"})
    add_security_headers(response, request.url.path)
    return response


def _agents_named(ids: str, names: dict[uuid.UUID, str]) -> list[str]:
    """The names of the agents among comma-separated ``ids`` (anything else is left out)."""
    found: list[str] = []
    for value in ids.split(","):
        with contextlib.suppress(ValueError):
            name = names.get(uuid.UUID(value.strip()))
            if name is not None and name not in found:
                found.append(name)
    return found


Action = Callable[[Ticket, list[str]], Awaitable[Ticket | None]]


async def _act(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    number: str,
    action: Action,
    *,
    notice: str,
    values: dict[str, str],
    told: dict[str, str] | None = None,
) -> Response:
    """``told``: what the action leaves for the page it goes back to (query parameters)."""
    ticket = await service.get_readable(session, actor, number)
    result, error = await attempt(session, settings, lambda stored: action(ticket, stored))
    if error is not None:
        ticket = await service.get_readable(session, actor, number)
        return await _ticket_page(request, session, actor, ticket, error=error, values=values)
    target = result or ticket
    try:
        await service.get_readable(session, actor, target.number)
    except NotFound:  # transferred to a team or an agent this one cannot read: done with it
        return redirect("/agent?ok=transferred")
    return redirect(f"/agent/tickets/{target.number}?{urlencode({'ok': notice, **(told or {})})}")


@router.post("/tickets/{number}/reply", response_class=HTMLResponse)
async def reply(
    request: Request,
    number: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: AgentPageDep,
    body: Annotated[str, Form(max_length=TYPED_TEXT)] = "",
) -> Response:
    async def send(ticket: Ticket, stored: list[str]) -> None:
        await reply_with_files(request, session, actor, settings, ticket,
                               form_model(schemas.ReplyCreate, body=clean(body)), stored)

    return await _act(request, session, settings, actor, number, send, notice="replied",
                      values={"body": body})


@router.post("/tickets/{number}/note", response_class=HTMLResponse)
async def note(
    request: Request,
    number: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: AgentPageDep,
    body: Annotated[str, Form(max_length=TYPED_TEXT)] = "",
) -> Response:
    told: dict[str, str] = {}

    async def add(ticket: Ticket, _: list[str]) -> None:
        added = await add_note(session, actor, ticket,
                               form_model(schemas.NoteCreate, body=clean(body)))
        if added.not_notified:  # the page says who, so the author does not think them told
            told["not_notified"] = ",".join(str(n.agent_id) for n in added.not_notified)

    return await _act(request, session, settings, actor, number, add, notice="noted",
                      values={"note": body}, told=told)


@router.post("/tickets/{number}/status", response_class=HTMLResponse)
async def change_status(
    request: Request,
    number: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: AgentPageDep,
    status: Annotated[str, Form(max_length=16)] = "",
    pending_reason: Annotated[str, Form(max_length=16)] = "",
    reason: Annotated[str, Form(max_length=TYPED_TEXT)] = "",
) -> Response:
    async def go(ticket: Ticket, _: list[str]) -> None:
        data = form_model(schemas.StatusChange, status=status,
                          pending_reason=(pending_reason or None) if status == "pending"
                          else None,
                          reason=clean(reason).strip() or None)
        await workflow.change_status(session, actor, ticket, data)

    return await _act(request, session, settings, actor, number, go, notice="status",
                      values={"status_reason": reason})


def _optional_uuid(value: str, what: str) -> uuid.UUID | None:
    if not value or value == "none":
        return None
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise InvalidInput(f"unknown {what}", code=f"unknown_{what}") from exc


@router.post("/tickets/{number}/assign", response_class=HTMLResponse)
async def assign(
    request: Request,
    number: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: AgentPageDep,
    agent_id: Annotated[str, Form(max_length=64)] = "",
    team_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    async def go(ticket: Ticket, _: list[str]) -> None:
        data = schemas.AssignRequest(agent_id=_optional_uuid(agent_id, "agent"),
                                     team_id=_optional_uuid(team_id, "team"))
        await workflow.assign(session, actor, ticket, data)

    return await _act(request, session, settings, actor, number, go, notice="assigned",
                      values={})


@router.post("/tickets/{number}/escalate", response_class=HTMLResponse)
async def escalate(
    request: Request,
    number: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: AgentPageDep,
    reason: Annotated[str, Form(max_length=TYPED_TEXT)] = "",
) -> Response:
    async def go(ticket: Ticket, _: list[str]) -> None:
        data = form_model(schemas.EscalateRequest, reason=clean(reason))
        await workflow.escalate(session, actor, ticket, reason=data.reason)

    return await _act(request, session, settings, actor, number, go, notice="escalated",
                      values={"reason": reason})


@router.post("/tickets/{number}/tags", response_class=HTMLResponse)
async def change_tags(
    request: Request,
    number: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: AgentPageDep,
    add: Annotated[str, Form(max_length=2000)] = "",
    remove: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    async def go(ticket: Ticket, _: list[str]) -> None:
        names = [t for t in clean(add).replace(",", " ").split() if t]
        removed = clean(remove).strip()
        if not names and not removed:
            raise InvalidInput("name a tag to add", code="tag_required")
        data = form_model(schemas.TagChange, add=names, remove=[removed] if removed else [])
        await workflow.change_tags(session, actor, ticket, data)

    return await _act(request, session, settings, actor, number, go, notice="tagged",
                      values={"tags": add})


@router.post("/tickets/{number}/priority", response_class=HTMLResponse)
async def change_priority(
    request: Request,
    number: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: AgentPageDep,
    priority: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """The ticket's priority from its page (the API's ``PATCH`` with ``priority``)."""
    async def go(ticket: Ticket, _: list[str]) -> None:
        data = form_model(schemas.TicketUpdate, priority=priority.strip())
        await workflow.update_fields(session, actor, ticket, data)

    return await _act(request, session, settings, actor, number, go, notice="priority",
                      values={})


@router.post("/tickets/{number}/merge", response_class=HTMLResponse)
async def merge(
    request: Request,
    number: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: AgentPageDep,
    into: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    async def go(ticket: Ticket, _: list[str]) -> Ticket:
        data = form_model(schemas.MergeRequest, into=clean(into).strip())
        return await workflow.merge(session, actor, ticket, into_number=data.into)

    return await _act(request, session, settings, actor, number, go, notice="merged",
                      values={"into": into})

