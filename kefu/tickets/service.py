"""Tickets: who may read which ticket. Every read of customer data goes through
``readable_by`` (or ``may_read`` for a ticket already loaded) so that authorization cannot be
forgotten."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.models import Customer
from kefu.core.errors import NotFound
from kefu.core.ids import normalize_ticket_number
from kefu.tickets.models import Ticket


def ticket_scope(actor: Actor) -> ColumnElement[bool]:
    """The one rule of who may read which ticket."""
    if actor.is_supervisor:
        return true()
    if actor.agent is not None:
        return or_(Ticket.team_id.in_(actor.team_ids), Ticket.assignee_id == actor.agent.id)
    if actor.customer is not None:
        return Ticket.customer_id == actor.customer.id
    return false()


def may_read(actor: Actor, ticket: Ticket) -> bool:
    """:func:`ticket_scope` for a ticket already loaded (a test keeps the two in step)."""
    if actor.is_supervisor:
        return True
    if actor.agent is not None:
        return ticket.team_id in actor.team_ids or ticket.assignee_id == actor.agent.id
    if actor.customer is not None:
        return ticket.customer_id == actor.customer.id
    return False


def readable_by(actor: Actor) -> Select[Ticket]:
    return select(Ticket).where(ticket_scope(actor))


def customers_readable_by(actor: Actor) -> Select[Customer]:
    """Supervisors see every customer; agents those with a ticket they can read; a customer
    only themself."""
    if actor.is_supervisor:
        return select(Customer)
    if actor.agent is not None:
        return select(Customer).where(
            exists().where(and_(Ticket.customer_id == Customer.id, ticket_scope(actor)))
        )
    if actor.customer is not None:
        return select(Customer).where(Customer.id == actor.customer.id)
    return select(Customer).where(false())


async def get_readable(session: AsyncSession, actor: Actor, number: str) -> Ticket:
    """By number; a merged ticket's number resolves to the survivor. 404 for anything the actor
    may not read, so a number reveals nothing."""
    canonical = normalize_ticket_number(number)
    if canonical is None:
        raise NotFound("ticket")
    # The common case in one query: the number is the ticket's own and the actor may read it.
    direct = await session.scalar(readable_by(actor).where(
        Ticket.number == canonical, Ticket.merged_into_id.is_(None)))
    if direct is not None:
        return direct
    ticket = await session.scalar(select(Ticket).where(Ticket.number == canonical))
    for _ in range(10):
        if ticket is None or ticket.merged_into_id is None:
            break
        ticket = await session.get(Ticket, ticket.merged_into_id)
    if ticket is None:
        raise NotFound("ticket")
    allowed = await session.scalar(readable_by(actor).where(Ticket.id == ticket.id))
    if allowed is None:
        raise NotFound("ticket")
    return ticket
