"""Read points (``ReadPoint``): how far the customer and each agent have read a conversation.

The customer's widget shows "Read" from the furthest point any agent reached; an agent's
console shows "Seen" up to the customer's point, and counts as unread the customer's messages
after the agent's own point. Points are stored, so all three survive a reload, a second device
and a restart; a point never moves back."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core import clock
from kefu.tickets.lifecycle import TRANSITIONS, is_active
from kefu.tickets.models import READER_CUSTOMER, Message, ReadPoint, Ticket


def reader_of(agent_id: uuid.UUID | None) -> str:
    """The ``reader`` key: an agent's id, or ``customer``."""
    return str(agent_id) if agent_id is not None else READER_CUSTOMER


async def advance(session: AsyncSession, ticket_id: uuid.UUID, reader: str, *, seq: int,
                  public_seq: int) -> bool:
    """Move ``reader``'s point on the ticket up to ``seq`` (never back); True if it moved."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(ReadPoint).values(ticket_id=ticket_id, reader=reader, seq=seq,
                                         public_seq=public_seq, read_at=clock.now())
    statement = statement.on_conflict_do_update(
        index_elements=[ReadPoint.ticket_id, ReadPoint.reader],
        set_={"seq": statement.excluded.seq, "public_seq": statement.excluded.public_seq,
              "read_at": statement.excluded.read_at},
        where=ReadPoint.seq < statement.excluded.seq)
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


async def customer_read(session: AsyncSession, ticket_id: uuid.UUID) -> tuple[int, int]:
    """How far the customer has read: (in the agents' numbering, in their own); (0, 0) when
    nothing yet."""
    row = (await session.execute(select(ReadPoint.seq, ReadPoint.public_seq).where(
        ReadPoint.ticket_id == ticket_id, ReadPoint.reader == READER_CUSTOMER))).first()
    return (row[0], row[1]) if row is not None else (0, 0)


async def support_read_public_seq(session: AsyncSession, ticket_id: uuid.UUID) -> int:
    """How far any agent has read, in the customer's numbering (0: nothing yet)."""
    return await session.scalar(select(func.max(ReadPoint.public_seq)).where(
        ReadPoint.ticket_id == ticket_id, ReadPoint.reader != READER_CUSTOMER)) or 0


async def unread_counts(session: AsyncSession, agent_id: uuid.UUID,
                        ticket_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The customer's messages after ``agent_id``'s read point, per ticket (tickets with none
    unread are left out)."""
    if not ticket_ids:
        return {}
    mine = and_(ReadPoint.ticket_id == Message.ticket_id, ReadPoint.reader == str(agent_id))
    rows = await session.execute(
        select(Message.ticket_id, func.count())
        .outerjoin(ReadPoint, mine)
        .where(Message.ticket_id.in_(list(ticket_ids)), Message.author_kind == "customer",
               Message.seq > func.coalesce(ReadPoint.seq, 0))
        .group_by(Message.ticket_id))
    return {ticket_id: count for ticket_id, count in rows}


UNREAD_TICKETS_LIMIT = 500


async def unread_tickets(session: AsyncSession, agent_id: uuid.UUID, scope: ColumnElement[bool],
                         *, limit: int = UNREAD_TICKETS_LIMIT
                         ) -> dict[str, tuple[int, datetime | None]]:
    """:func:`unread_counts` over every active ticket in ``scope`` (the agent's
    ``ticket_scope``), not one page of a list: ticket number → (the customer's messages after
    ``agent_id``'s read point, when the customer last wrote), tickets with none unread left
    out. The console's unread total is their sum, whatever page or filter it shows. At most
    ``limit`` tickets, those the customers wrote to last (a supervisor's scope is every ticket:
    the page carries this map, and the total is for the title, not an audit)."""
    mine = and_(ReadPoint.ticket_id == Message.ticket_id, ReadPoint.reader == str(agent_id))
    active = [status for status in TRANSITIONS if is_active(status)]
    rows = await session.execute(
        select(Ticket.number, Ticket.last_customer_message_at, func.count())
        .select_from(Message)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .outerjoin(ReadPoint, mine)
        .where(scope, Ticket.status.in_(active), Ticket.merged_into_id.is_(None),
               Message.author_kind == "customer", Message.seq > func.coalesce(ReadPoint.seq, 0))
        .group_by(Ticket.id, Ticket.number, Ticket.last_customer_message_at)
        .order_by(Ticket.last_customer_message_at.desc(), Ticket.id).limit(limit))
    return {number: (count, last) for number, last, count in rows}
