"""Public replies on a ticket and the customer's rating. A customer's reply reopens a pending or
recently resolved ticket, an agent's first reply opens a new one; what support sends passes the
anti-phishing check, what a customer sends the abuse checks."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.config import Settings
from kefu.core import clock
from kefu.core.errors import Conflict, Forbidden
from kefu.guard.secrets import scan
from kefu.tickets import schemas
from kefu.tickets.abuse_checks import ensure_may_write
from kefu.tickets.events import record_event, ticket_changed
from kefu.tickets.guarding import check_support_text
from kefu.tickets.messages import MessageAuthor, add_message, stored_message
from kefu.tickets.models import Message, Ticket
from kefu.tickets.workflow import set_status


def ticket_closed() -> Conflict:
    """What a message into a closed ticket gets (here and in the chat's batches)."""
    return Conflict("this ticket is closed; open a new one", code="ticket_closed")


async def reply(
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    ticket: Ticket,
    data: schemas.ReplyCreate,
) -> Message:
    """A public message. A customer's reply reopens a pending or recently resolved ticket; an
    agent's first reply opens a new one. A resent ``client_msg_id`` gets the stored message
    back whatever happened since (closed, guard, cool-down): its first send was acknowledged."""
    if data.client_msg_id:
        existing = await stored_message(session, ticket, data.client_msg_id)
        if existing is not None:
            return existing
    if ticket.status == "closed":
        raise ticket_closed()
    if actor.is_customer_side:
        await ensure_may_write(session, actor, ticket=ticket, client_msg_id=data.client_msg_id)
    if actor.agent is not None:
        await check_support_text(session, settings, actor, ticket, data.body,
                                 override=data.override_guard)
    now = clock.now()
    if actor.is_customer_side and ticket.status == "resolved":
        window = timedelta(seconds=settings.reopen_window_s)
        if ticket.resolved_at is not None and now - ticket.resolved_at > window:
            raise Conflict("this ticket was resolved too long ago; open a new one",
                           code="reopen_window_passed")
    message, created = await add_message(
        session, ticket, MessageAuthor.of(actor), body=data.body,
        attachment_ids=data.attachment_ids, client_msg_id=data.client_msg_id,
    )
    if not created:
        return message
    if actor.is_customer_side:
        if ticket.status == "resolved":
            await set_status(session, actor, ticket, "open", None, kind="reopened")
        elif ticket.status == "pending" and ticket.pending_reason == "customer":
            await set_status(session, actor, ticket, "open", None)
    elif ticket.status == "new":
        await open_on_first_reply(session, actor, ticket)
    return message


async def open_on_first_reply(session: AsyncSession, actor: Actor, ticket: Ticket) -> None:
    """An agent's first public reply opens a new ticket (``reply`` and the chat's batches)."""
    await set_status(session, actor, ticket, "open", None)

async def rate(
    session: AsyncSession, actor: Actor, ticket: Ticket, *, score: int, comment: str | None
) -> Ticket:
    """The customer's 1–5 rating once the conversation is resolved (CSAT)."""
    if actor.customer is None or ticket.customer_id != actor.customer.id:
        raise Forbidden("only the customer rates a conversation", code="customer_required")
    if ticket.status not in ("resolved", "closed"):
        raise Conflict("rate the conversation once it is resolved", code="not_resolved")
    if ticket.rating is not None:
        raise Conflict("this conversation is already rated", code="already_rated")
    comment = scan(comment).masked if comment is not None else None
    ticket.rating, ticket.rating_comment, ticket.rated_at = score, comment, clock.now()
    await record_event(session, actor, ticket, "rated", {"score": score})
    await session.flush()
    await ticket_changed(session, ticket, "rating", actor)
    return ticket
