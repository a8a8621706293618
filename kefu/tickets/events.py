"""What a ticket's changes leave behind and tell: the recorded event (``record_event``, audited
when an agent made the change), the ``ticket.updated`` webhook, and the realtime frames that keep
the ticket's viewers and the agents' inboxes current after commit. Also the ticket as a viewer
may read it (``ticket_read``: customers never see tags or staff's escalation reason)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.service import audit
from kefu.core import clock
from kefu.core.language import own_name
from kefu.realtime.events import INBOX, publish_after_commit, ticket_topic
from kefu.tickets import schemas
from kefu.tickets.models import Tag, Ticket, TicketEvent, ticket_tags
from kefu.webhooks.service import emit


async def record_event(
    session: AsyncSession, actor: Actor, ticket: Ticket, kind: str, data: dict[str, Any]
) -> TicketEvent:
    event = TicketEvent(
        ticket_id=ticket.id,
        kind=kind,
        actor_kind=actor_kind(actor),
        actor_agent_id=actor.agent.id if actor.agent else None,
        actor_customer_id=actor.customer.id if actor.customer and not actor.agent else None,
        data=data,
        at=clock.now(),
    )
    session.add(event)
    ticket.updated_at = event.at
    if actor.agent is not None:
        await audit(session, actor, f"ticket.{kind}", target_type="ticket",
                    target_id=ticket.number, details=data)
    return event


def actor_kind(actor: Actor) -> str:
    if actor.agent is not None:
        return "agent"
    if actor.is_customer_side:
        return "customer"
    return "system"


# Built once: every status change announces its ticket's tags, and building the statement cost
# more than running it (a chat's first reply, ~40 a second in ``kefu bench chat``).
_TAGS_OF = (select(Tag.name).join(ticket_tags, ticket_tags.c.tag_id == Tag.id)
            .where(ticket_tags.c.ticket_id == bindparam("ticket_id")).order_by(Tag.name))


async def tags_of(session: AsyncSession, ticket_id: uuid.UUID) -> list[str]:
    return list(await session.scalars(_TAGS_OF, {"ticket_id": ticket_id}))


async def merged_numbers_of(session: AsyncSession, ticket_id: uuid.UUID) -> list[str]:
    rows = await session.scalars(
        select(Ticket.number).where(Ticket.merged_into_id == ticket_id).order_by(Ticket.number)
    )
    return list(rows)


async def ticket_read(
    session: AsyncSession, ticket: Ticket, viewer: Actor
) -> schemas.TicketRead:
    """What ``viewer`` may see of a ticket. Customers never see tags (``fraud-suspect``) or an
    escalation reason written by staff; they see the reason they gave themselves."""
    staff = viewer.is_agent
    reason = ticket.escalation_reason
    if not staff and reason is not None:
        by = await session.scalar(
            select(TicketEvent.actor_kind).where(TicketEvent.ticket_id == ticket.id,
                                                 TicketEvent.kind == "escalated")
            .order_by(TicketEvent.at.desc()).limit(1))
        reason = reason if by == "customer" else None
    return schemas.TicketRead(
        id=ticket.id, number=ticket.number, subject=ticket.subject,
        status=ticket.status,
        pending_reason=ticket.pending_reason,
        priority=ticket.priority,
        channel=ticket.channel,
        language=ticket.language, customer_id=ticket.customer_id, team_id=ticket.team_id,
        assignee_id=ticket.assignee_id, escalation_reason=reason,
        escalated_at=ticket.escalated_at, tags=await tags_of(session, ticket.id) if staff else [],
        merged_numbers=await merged_numbers_of(session, ticket.id),
        created_at=ticket.created_at, updated_at=ticket.updated_at,
        first_response_at=ticket.first_response_at, resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at, rating=ticket.rating, rating_comment=ticket.rating_comment,
    )


def webhook_ticket(ticket: Ticket) -> dict[str, Any]:
    unchanging = _row_of(ticket)[1]
    return {**{key: unchanging[key] for key in _WEBHOOK_FIELDS},
            "updated_at": ticket.updated_at.isoformat()}


_WEBHOOK_FIELDS = ("number", "subject", "status", "pending_reason", "priority", "channel",
                   "language", "customer_id", "team_id", "assignee_id")


async def ticket_changed(
    session: AsyncSession, ticket: Ticket, change: str, actor: Actor | None = None, *,
    was: tuple[uuid.UUID | None, uuid.UUID | None] | None = None,
) -> None:
    """``was``: the ticket's team and assignee before a transfer (who could read it)."""
    await emit(session, "ticket.updated", {"ticket": webhook_ticket(ticket), "change": change})
    announce_ticket(session, ticket, change, actor, was=was,
                    tags=await tags_of(session, ticket.id))


def ticket_summary(ticket: Ticket) -> dict[str, Any]:
    """What realtime clients get about a ticket (inbox rows, status updates); its language also
    by name (``own_name``), so a console names it as its pages do, not as its browser would."""
    return _summary(ticket, _row_of(ticket)[1])


def _summary(ticket: Ticket, unchanging: dict[str, Any]) -> dict[str, Any]:
    summary = dict(unchanging)
    summary["updated_at"] = ticket.updated_at.isoformat()
    last = ticket.last_customer_message_at
    summary["last_customer_message_at"] = last.isoformat() if last is not None else None
    return summary


def _row_of(ticket: Ticket) -> tuple[tuple[Any, ...], dict[str, Any], str]:
    """The part of a ticket's summary that a message does not change, and its fingerprint
    (the inbox row's ``_row``), kept per ticket while the fields they are made of stay the same:
    every chat message announces its ticket, and its ids, dates and names were most of the cost
    (``_ROWS``)."""
    fields = (ticket.number, ticket.subject, ticket.status, ticket.pending_reason,
              ticket.priority, ticket.channel, ticket.language, ticket.customer_id,
              ticket.team_id, ticket.assignee_id, ticket.created_at)
    known = _ROWS.get(ticket.id)
    if known is not None and known[0] == fields:
        return known
    (number, subject, status, pending_reason, priority, channel, language, customer_id,
     team_id, assignee_id, created_at) = fields
    static = {
        "number": number, "subject": subject, "status": status,
        "pending_reason": pending_reason, "priority": priority, "channel": channel,
        "language": language, "customer_id": str(customer_id),
        "team_id": str(team_id) if team_id else None,
        "assignee_id": str(assignee_id) if assignee_id else None,
        "id": str(ticket.id), "created_at": created_at.isoformat(),
        "language_name": own_name(language) if language else None}
    known = (fields, static, "\x1f".join(str(static[k]) for k in _ROW_FIELDS))
    if len(_ROWS) >= _ROWS_MAX:
        _ROWS.clear()
    _ROWS[ticket.id] = known
    return known


# Tickets' unchanging summary parts by ticket id (``_row_of``): immutable once made (a change
# makes a new entry), so shared by every event that carries them.
_ROWS: dict[uuid.UUID, tuple[tuple[Any, ...], dict[str, Any], str]] = {}
_ROWS_MAX = 20_000


def announce_ticket(
    session: AsyncSession, ticket: Ticket, change: str, actor: Actor | None = None, *,
    was: tuple[uuid.UUID | None, uuid.UUID | None] | None = None,
    tags: list[str] | None = None, customer_messages: int = 0,
) -> None:
    """After commit: the ticket's viewers get its new state (and which agent changed it, so a
    console can tell its own changes from someone else's), agents' inboxes the new row (with
    its ``tags`` when the caller read them: not for a message, which changes none); an agent
    who could read it before a transfer (``was``) and cannot now loses the row.
    ``customer_messages``: how many of the customer's messages a ``message`` change stands for
    (a batch appends several), for the consoles' unread counts."""
    _, unchanging, row = _row_of(ticket)
    summary = _summary(ticket, unchanging)
    if tags is not None:
        summary["tags"] = tags
    by = str(actor.agent.id) if actor is not None and actor.agent is not None else None
    if change != "message":  # the message frame itself tells the conversation's viewers
        publish_after_commit(session, ticket_topic(ticket.id),
                             {"type": "ticket", "ticket": ticket.number, "change": change,
                              "by_agent_id": by,
                              "state": {k: summary[k] for k in (
                                  "number", "status", "pending_reason", "priority",
                                  "assignee_id", "team_id")}})
    event = {"type": "inbox", "change": change, "ticket": summary,
             "_team_id": summary["team_id"], "_assignee_id": summary["assignee_id"],
             "_row": row}
    if change == "message":  # what a message changes, for consoles that have the rest
        event["_moved"] = {"number": ticket.number, "partial": True,
                           **{k: summary[k] for k in MOVED_FIELDS}}
        event["_customer_messages"] = customer_messages
    if was is not None:
        event["_was"] = [str(was[0]) if was[0] else None, str(was[1]) if was[1] else None]
    publish_after_commit(session, INBOX, event)


# An inbox row as a new message leaves it: the fields it changes, and the rest (by which a
# connection tells whether a console already has that row; see ``Connection._flush_inbox``).
MOVED_FIELDS = ("updated_at", "last_customer_message_at")
_ROW_FIELDS = ("id", "subject", "status", "pending_reason", "priority", "channel", "language",
               "customer_id", "team_id", "assignee_id", "created_at")

async def events_of(session: AsyncSession, ticket: Ticket) -> list[TicketEvent]:
    rows = await session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.at, TicketEvent.id))
    return list(rows)
