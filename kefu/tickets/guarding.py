"""The secret guard at the door (SPEC §H): customers' words are masked before they are stored.

Whatever a customer writes — a chat or portal message, a ticket subject, a rating comment, an
attachment's file name — goes through :func:`kefu.guard.secrets.scan` first, and only the
masked text is kept, so a seed phrase or a password never reaches the database, the search
index, the logs, a webhook or an LLM. When something was hidden, the conversation gets a system
message telling the customer what and why (for a seed phrase or private key: move the funds now),
and the ticket is tagged ``security`` (plus ``secret-exposed`` and urgent priority when wallet
keys were exposed) with a ``secret_masked`` event naming the kinds, never the values."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.guard.secrets import GuardResult, customer_notice, scan
from kefu.tickets import schemas
from kefu.tickets.models import Ticket
from kefu.tickets.service import MessageAuthor, add_message, record_event, ticket_changed
from kefu.tickets.workflow import change_tags

SYSTEM = Actor(kind="anonymous")  # recorded as "system"
SECURITY_TAG = "security"
EXPOSED_TAG = "secret-exposed"


def masked(text: str | None) -> str | None:
    """``text`` with every secret replaced by its marker (None stays None)."""
    return None if text is None else scan(text).masked


async def secrets_hidden(
    session: AsyncSession, ticket: Ticket, result: GuardResult, *, language: str | None = None
) -> None:
    """Tell the customer what was hidden and flag the ticket for security."""
    notice = customer_notice(result, language or ticket.language)
    if notice:
        await add_message(session, ticket, MessageAuthor("system"), body=notice)
    tags = [SECURITY_TAG, EXPOSED_TAG] if result.security_flag else [SECURITY_TAG]
    await change_tags(session, SYSTEM, ticket, schemas.TagChange(add=tags))
    await record_event(session, SYSTEM, ticket, "secret_masked", {"kinds": list(result.kinds)})
    if result.security_flag and ticket.priority != "urgent":
        ticket.priority = "urgent"
        await session.flush()
        await ticket_changed(session, ticket, "fields", SYSTEM)
