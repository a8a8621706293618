"""Job ``channels.deliver``: what support wrote on an email or Telegram ticket, sent to the
customer there.

``kefu.tickets.messages.add_message`` queues the job (in the message's own transaction, one per
message, deduplicated) for every public message by an agent, the assistant or the system on a
ticket of a delivered channel. This module loads the message and hands it to the sender of the
ticket's channel; a sender raises to be retried (the runner backs off) and must be idempotent:
it records what it sent in ``channel_messages`` and sends nothing twice."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.models import Customer
from kefu.core.logging import get_logger
from kefu.jobs.runner import JobContext, JobRegistry
from kefu.tickets.models import DELIVER_JOB, Message, Ticket

log = get_logger("kefu.channels.delivery")


@dataclass(frozen=True)
class Outgoing:
    """One message to send: its ticket, the ticket's customer, and the message itself."""

    ticket: Ticket
    customer: Customer
    message: Message


Sender = Callable[[AsyncSession, Outgoing, JobContext], Awaitable[None]]


def register_jobs(registry: JobRegistry, senders: Mapping[str, Sender]) -> None:
    """Add ``channels.deliver`` to the app's registry; ``senders`` maps a ticket channel to the
    function that sends on it."""

    async def deliver(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        message_id = uuid.UUID(str(payload["message_id"]))
        row = (await session.execute(
            select(Message, Ticket, Customer)
            .join(Ticket, Ticket.id == Message.ticket_id)
            .join(Customer, Customer.id == Ticket.customer_id)
            .where(Message.id == message_id))).one_or_none()
        if row is None:
            log.info("channel delivery of %s skipped: the message is gone", message_id)
            return
        message, ticket, customer = row
        sender = senders.get(ticket.channel)
        if sender is None or message.internal:
            log.warning("channel delivery of %s skipped: nothing sends on %r",
                        message_id, ticket.channel)
            return
        await sender(session, Outgoing(ticket, customer, message), ctx)

    registry.register(DELIVER_JOB)(deliver)
