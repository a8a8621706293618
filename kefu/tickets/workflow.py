"""What agents (and customers, where allowed) do to a ticket: status, escalation, assignment,
merge, tags, fields. Each change is checked against the state machine and recorded as an event."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.models import Agent, Team
from kefu.core import clock
from kefu.core.errors import Conflict, Forbidden, InvalidInput
from kefu.realtime.events import agent_topic, publish_after_commit
from kefu.tickets import schemas
from kefu.tickets.events import record_event, ticket_changed
from kefu.tickets.lifecycle import check_transition, is_active
from kefu.tickets.messages import MessageAuthor, add_message
from kefu.tickets.models import Notification, Tag, Ticket, ticket_tags
from kefu.tickets.service import get_readable

TAG_RE = re.compile(r"^[\w\-:.]{1,64}$", re.UNICODE)


async def change_status(
    session: AsyncSession, actor: Actor, ticket: Ticket, data: schemas.StatusChange
) -> Ticket:
    if data.status == "escalated":
        if not data.reason:
            raise InvalidInput("escalation needs a reason", code="reason_required")
        return await escalate(session, actor, ticket, reason=data.reason)
    if actor.is_customer_side and data.status != "resolved":
        raise Forbidden("customers can only mark their ticket resolved", code="status_forbidden")
    if ticket.status == "escalated" and actor.agent is not None and not actor.is_supervisor:
        # Escalated for a supervisor (a takeover, a large loss): not for the agent who
        # escalated it, or another, to take back quietly. A supervisor moves it on.
        raise Forbidden("only supervisors and admins take a ticket out of escalated",
                        code="escalation_supervisor_only")
    if data.status == "pending" and data.pending_reason is None:
        raise InvalidInput("pending needs pending_reason 'customer' or 'internal'",
                           code="pending_reason_required")
    if data.status != "pending" and data.pending_reason is not None:
        raise InvalidInput("pending_reason applies to 'pending' only", code="invalid_input")
    if data.status == ticket.status and data.pending_reason == ticket.pending_reason:
        raise Conflict(f"the ticket is already {data.status}", code="illegal_transition")
    check_transition(ticket.status, data.status)
    kind = "reopened" if ticket.status == "resolved" and data.status == "open" else \
        "status_changed"
    await set_status(session, actor, ticket, data.status, data.pending_reason, kind=kind,
                     extra={"reason": data.reason} if data.reason else None)
    return ticket


async def escalate(session: AsyncSession, actor: Actor, ticket: Ticket, *, reason: str) -> Ticket:
    """Puts the ticket in the supervisor queue (status ``escalated``) with the reason. A customer
    may escalate their own ticket."""
    if ticket.status == "escalated":
        raise Conflict("the ticket is already escalated", code="already_escalated")
    check_transition(ticket.status, "escalated")
    ticket.escalation_reason, ticket.escalated_at = reason, clock.now()
    await set_status(session, actor, ticket, "escalated", None, kind="escalated",
                     extra={"reason": reason})
    await add_message(session, ticket, MessageAuthor("system"), internal=True,
                      body=f"Escalated by {actor_name(actor)}: {reason}")
    return ticket


def actor_name(actor: Actor) -> str:
    if actor.agent is not None:
        return actor.agent.display_name
    return "the customer" if actor.is_customer_side else "system"


async def assign(
    session: AsyncSession, actor: Actor, ticket: Ticket, data: schemas.AssignRequest
) -> Ticket:
    """Assign to an agent and/or transfer to a team. ``agent_id: null`` unassigns."""
    if not is_active(ticket.status):
        raise Conflict("a resolved or closed ticket cannot be assigned", code="ticket_inactive")
    was = (ticket.team_id, ticket.assignee_id)
    changes: dict[str, str | None] = {}
    if data.team_id is not None and data.team_id != ticket.team_id:
        if await session.get(Team, data.team_id) is None:
            raise InvalidInput("unknown team", code="unknown_team")
        changes["team_id"] = str(data.team_id)
        ticket.team_id = data.team_id
    if "agent_id" in data.model_fields_set and data.agent_id != ticket.assignee_id:
        if data.agent_id is not None:
            agent = await session.get(Agent, data.agent_id)
            if agent is None or not agent.is_active:
                raise InvalidInput("unknown or inactive agent", code="unknown_agent")
        changes["assignee_id"] = str(data.agent_id) if data.agent_id else None
        ticket.assignee_id = data.agent_id
    if not changes:
        raise Conflict("nothing to change", code="no_change")
    await record_event(session, actor, ticket, "assigned", changes)
    if ticket.status == "new" and ticket.assignee_id is not None:
        await set_status(session, actor, ticket, "open", None)
    else:
        await session.flush()
    await ticket_changed(session, ticket, "assignment", actor, was=was)
    if "assignee_id" in changes and ticket.assignee_id is not None:
        await _tell_assignee(session, actor, ticket)
    return ticket


async def _tell_assignee(session: AsyncSession, actor: Actor, ticket: Ticket) -> None:
    """The agent a ticket was given to is told (stored, and live on their consoles), unless
    they took it themselves."""
    assert ticket.assignee_id is not None
    if actor.agent is not None and actor.agent.id == ticket.assignee_id:
        return
    data = {"ticket": ticket.number, "by": actor_name(actor), "subject": ticket.subject[:200]}
    session.add(Notification(agent_id=ticket.assignee_id, kind="assigned", ticket_id=ticket.id,
                             data=data))
    publish_after_commit(session, agent_topic(ticket.assignee_id), {"type": "assigned", **data})
    await session.flush()


async def merge(
    session: AsyncSession, actor: Actor, source: Ticket, *, into_number: str
) -> Ticket:
    """Merge a duplicate into the surviving ticket: history is kept (the source's messages stay
    and show in the survivor's timeline), the source closes, and its number resolves to the
    survivor from now on. Only tickets of one customer merge."""
    target = await get_readable(session, actor, into_number)
    if target.id == source.id:
        raise Conflict("a ticket cannot be merged into itself", code="merge_self")
    if target.customer_id != source.customer_id:
        raise Conflict("only tickets of the same customer can be merged",
                       code="merge_other_customer")
    if target.status == "closed":
        raise Conflict("the surviving ticket is closed", code="ticket_closed")
    now = clock.now()
    previous = source.status
    # Tickets merged earlier into the source follow it to the survivor.
    await session.execute(update(Ticket).where(Ticket.merged_into_id == source.id)
                          .values(merged_into_id=target.id))
    source.merged_into_id, source.status, source.pending_reason = target.id, "closed", None
    source.closed_at = now
    source_tags = list(await session.scalars(
        select(ticket_tags.c.tag_id).where(ticket_tags.c.ticket_id == source.id)))
    target_tags = set(await session.scalars(
        select(ticket_tags.c.tag_id).where(ticket_tags.c.ticket_id == target.id)))
    for tag_id in source_tags:
        if tag_id not in target_tags:
            await session.execute(insert(ticket_tags).values(ticket_id=target.id, tag_id=tag_id))
    await record_event(session, actor, source, "merged",
                       {"into": target.number, "from_status": previous})
    await record_event(session, actor, target, "merged", {"from": source.number})
    await add_message(session, target, MessageAuthor("system"),
                      body=f"Ticket {source.number} was merged into {target.number}.")
    await session.flush()
    await ticket_changed(session, source, "merged", actor)
    await ticket_changed(session, target, "merged", actor)
    return target


def normalize_tag(raw: str) -> str:
    tag = raw.strip().lower()
    if not TAG_RE.match(tag):
        raise InvalidInput(f"invalid tag '{raw[:64]}'", code="invalid_tag")
    return tag


async def change_tags(
    session: AsyncSession, actor: Actor, ticket: Ticket, data: schemas.TagChange
) -> Ticket:
    add = sorted({normalize_tag(t) for t in data.add})
    remove = sorted({normalize_tag(t) for t in data.remove} - set(add))
    current = {name: tag_id for tag_id, name in (await session.execute(
        select(Tag.id, Tag.name).join(ticket_tags, ticket_tags.c.tag_id == Tag.id)
        .where(ticket_tags.c.ticket_id == ticket.id))).all()}
    added = [t for t in add if t not in current]
    removed = [t for t in remove if t in current]
    for name in added:
        tag = await session.scalar(select(Tag).where(Tag.name == name))
        if tag is None:
            tag = Tag(name=name)
            session.add(tag)
            await session.flush()
        await session.execute(insert(ticket_tags).values(ticket_id=ticket.id, tag_id=tag.id))
    if removed:
        await session.execute(delete(ticket_tags).where(
            ticket_tags.c.ticket_id == ticket.id,
            ticket_tags.c.tag_id.in_([current[t] for t in removed])))
    if added or removed:
        await record_event(session, actor, ticket, "tagged", {"added": added, "removed": removed})
        await session.flush()
        await ticket_changed(session, ticket, "tags", actor)
    return ticket


async def update_fields(
    session: AsyncSession, actor: Actor, ticket: Ticket, data: schemas.TicketUpdate
) -> Ticket:
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "team_id" in changes and await session.get(Team, changes["team_id"]) is None:
        raise InvalidInput("unknown team", code="unknown_team")
    was = (ticket.team_id, ticket.assignee_id)  # a team change takes it out of some inboxes
    diff = {}
    for key, value in changes.items():
        if getattr(ticket, key) != value:
            diff[key] = {"from": _plain(getattr(ticket, key)), "to": _plain(value)}
            setattr(ticket, key, value)
    if not diff:
        return ticket
    await record_event(session, actor, ticket, "updated", diff)
    await session.flush()
    await ticket_changed(session, ticket, "fields", actor, was=was)
    return ticket


def _plain(value: object) -> object:
    return str(value) if isinstance(value, uuid.UUID) else value


async def set_status(
    session: AsyncSession,
    actor: Actor,
    ticket: Ticket,
    status: str,
    pending_reason: str | None,
    *,
    kind: str = "status_changed",
    extra: dict[str, Any] | None = None,
) -> None:
    """Set the status (and ``resolved_at``, ``closed_at``), record it as a ``kind`` event and
    tell the ticket's viewers; the caller has decided the change is allowed."""
    previous = ticket.status
    now = clock.now()
    ticket.status, ticket.pending_reason = status, pending_reason
    if status == "resolved":
        ticket.resolved_at = now
    elif status == "closed":
        ticket.closed_at = now
    elif previous == "resolved":
        ticket.resolved_at = None
    await record_event(session, actor, ticket, kind, {
        "from": previous, "to": status, "pending_reason": pending_reason, **(extra or {})})
    await session.flush()
    await ticket_changed(session, ticket, "status", actor)

