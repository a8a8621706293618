"""Lists of tickets: the inbox's filters, search and keyset pagination (``list_tickets``, over
the actor's readable set), and the chat widget's current conversation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import and_, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.core.errors import InvalidInput
from kefu.core.ids import normalize_ticket_number
from kefu.core.pagination import Cursor
from kefu.tickets.models import Message, Tag, Ticket, ticket_tags
from kefu.tickets.service import readable_by


@dataclass(frozen=True)
class TicketFilters:
    status: str | None = None
    priority: str | None = None
    channel: str | None = None
    language: str | None = None
    assignee: str | None = None
    tag: str | None = None
    team_id: uuid.UUID | None = None
    q: str | None = None


async def list_tickets(
    session: AsyncSession,
    actor: Actor,
    filters: TicketFilters,
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[Ticket], str | None]:
    """Newest activity first; keyset pagination over (updated_at, id)."""
    stmt = readable_by(actor).where(Ticket.merged_into_id.is_(None))
    if filters.status:
        stmt = stmt.where(Ticket.status == filters.status)
    for column, value in ((Ticket.priority, filters.priority), (Ticket.channel, filters.channel)):
        if value:
            stmt = stmt.where(column == value)
    if filters.language:
        # "zh" is every Chinese ticket (zh, zh-CN, zh-TW), as the supervisor's queues count
        # them; "zh-CN" that one, in any case.
        language = func.lower(Ticket.language)
        wanted = filters.language.lower()
        stmt = stmt.where(or_(language == wanted, language.like(f"{wanted}-%")))
    if filters.team_id:
        stmt = stmt.where(Ticket.team_id == filters.team_id)
    if filters.assignee == "none":
        stmt = stmt.where(Ticket.assignee_id.is_(None))
    elif filters.assignee == "me":
        stmt = stmt.where(Ticket.assignee_id == actor.agent.id if actor.agent else false())
    elif filters.assignee:
        try:
            stmt = stmt.where(Ticket.assignee_id == uuid.UUID(filters.assignee))
        except ValueError as exc:
            raise InvalidInput("assignee must be 'me', 'none' or an agent id",
                               code="invalid_filter") from exc
    if filters.tag and actor.is_agent:  # tags are internal: customers cannot probe them
        stmt = stmt.where(exists().where(
            ticket_tags.c.ticket_id == Ticket.id, ticket_tags.c.tag_id == Tag.id,
            Tag.name == filters.tag.strip().lower()))
    if filters.q:
        like = "%" + filters.q.strip().replace("\\", "\\\\").replace("%", "\\%")\
            .replace("_", "\\_") + "%"
        number = normalize_ticket_number(filters.q)
        message_match = exists().where(
            Message.ticket_id == Ticket.id, Message.body.ilike(like, escape="\\"))
        if not actor.is_agent:
            message_match = exists().where(Message.ticket_id == Ticket.id,
                                           Message.internal.is_(False),
                                           Message.body.ilike(like, escape="\\"))
        stmt = stmt.where(or_(Ticket.subject.ilike(like, escape="\\"), message_match,
                              Ticket.number == (number or "")))
    if cursor:
        position = Cursor.decode(cursor)
        stmt = stmt.where(or_(Ticket.updated_at < position.at,
                              and_(Ticket.updated_at == position.at, Ticket.id < position.id)))
    rows = list(await session.scalars(
        stmt.order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = Cursor(at=rows[-1].updated_at, id=rows[-1].id).encode()
    return rows, next_cursor

async def latest_chat(session: AsyncSession, customer_id: uuid.UUID) -> Ticket | None:
    """The customer's most recent conversation that is still going (for the chat widget)."""
    return await session.scalar(
        select(Ticket).where(Ticket.customer_id == customer_id, Ticket.status != "closed",
                             Ticket.merged_into_id.is_(None), Ticket.channel == "chat")
        .order_by(Ticket.updated_at.desc()).limit(1))
