"""Opening tickets: a number, a language and a team for a new ticket and its first message
(``create_ticket``), and the API's create for customers, visitors and agents on a customer's
behalf (``open_for_actor``), which a repeated request or a cool-down turns away."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.models import Customer, Team
from kefu.accounts.service import visitor_customer
from kefu.core import clock
from kefu.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from kefu.core.ids import new_ticket_number
from kefu.core.language import detect_language
from kefu.guard.secrets import scan
from kefu.tickets import schemas
from kefu.tickets.events import announce_ticket, record_event, webhook_ticket
from kefu.tickets.messages import MessageAuthor, add_message
from kefu.tickets.models import Message, Ticket
from kefu.webhooks.service import emit


async def default_team(session: AsyncSession, language: str) -> Team | None:
    """Until the routing issue lands: the first team serving the language (a team of the exact
    tag first, "zh-TW" for a zh-TW ticket; then one of the same base language, whether the team
    says "zh" or "zh-CN"), else an English one."""
    tag = language.lower()
    base = tag.split("-")[0]

    def serving(lang: str) -> ColumnElement[bool]:
        column = func.lower(Team.language)
        return or_(column == lang, column.like(f"{lang}-%"))

    teams = list(await session.scalars(
        select(Team).where(or_(serving(base), serving("en")))
        .order_by(Team.created_at, Team.name)))

    def rank(team: Team) -> int:
        own = team.language.lower()
        return 0 if own == tag else 1 if own.split("-")[0] == base else 2

    return min(teams, key=rank, default=None)  # min keeps the first of equals: the oldest


async def _unique_number(session: AsyncSession) -> str:
    for _ in range(20):
        number = new_ticket_number()
        if await session.scalar(select(Ticket.id).where(Ticket.number == number)) is None:
            return number
    raise Conflict("could not allocate a ticket number", code="number_exhausted")


async def create_ticket(
    session: AsyncSession,
    actor: Actor,
    *,
    customer: Customer,
    subject: str,
    body: str,
    channel: str,
    language: str | None = None,
    priority: str = "normal",
    client_msg_id: str | None = None,
) -> Opened:
    """A new ticket and its first message, the customer's request."""
    # A language the caller chose (an agent, the widget's language) wins; else the language
    # the customer wrote in, when the text tells; else their profile's.
    detected = detect_language(f"{subject}\n{body}")
    language = language or (detected if detected != "und" else None) or customer.language or "en"
    team = await default_team(session, language)
    now = clock.now()
    ticket = Ticket(
        number=await _unique_number(session), subject=scan(subject).masked, status="new",
        priority=priority, channel=channel, language=language, customer_id=customer.id,
        team_id=team.id if team else None, created_at=now, updated_at=now,
    )
    session.add(ticket)
    # A concurrent insert of the same number (odds ~1e-9) fails the unique constraint: a 409.
    await session.flush()
    await record_event(session, actor, ticket, "created", {"channel": channel})
    await emit(session, "ticket.created", {"ticket": webhook_ticket(ticket)})
    announce_ticket(session, ticket, "created", tags=[])
    # The first message is the customer's request, also when an agent records it for them.
    author = MessageAuthor("customer", customer_id=customer.id,
                           name=customer.display_name or schemas.UNNAMED_CUSTOMER)
    message, _ = await add_message(session, ticket, author, body=body,
                                   client_msg_id=client_msg_id, first=True)
    return Opened(ticket, message)


@dataclass(frozen=True)
class Opened:
    """What a request became: a new ticket and its first message, or (``duplicate``) the
    customer's open ticket asking the same, with ``message`` added to it."""

    ticket: Ticket
    message: Message
    duplicate: bool = False


# What a customer or visitor may name as a ticket's channel through the API. Email, Telegram
# and phone tickets come from those channels (their own code opens them) or from an agent: a
# customer naming one would have support's replies delivered by a channel that never heard
# from them.
CUSTOMER_CHANNELS = ("chat", "portal", "webform", "api")


def ensure_customer_channel(actor: Actor, channel: str | None) -> None:
    """The API's check of a customer's or visitor's ``channel`` (403 ``field_forbidden``)."""
    if actor.agent is None and channel is not None and channel not in CUSTOMER_CHANNELS:
        raise Forbidden(f"customers open tickets on {', '.join(CUSTOMER_CHANNELS)}, not "
                        f"{channel}", code="field_forbidden")


async def open_for_actor(
    session: AsyncSession, actor: Actor, data: schemas.TicketCreate
) -> Opened:
    """The API's create: a customer opens their own; a visitor one pre-login conversation; an
    agent on behalf of a customer (phone, email forwarded by hand). A customer's or visitor's
    request that repeats one of their open tickets goes there instead
    (``abuse_checks.add_to_open_duplicate``); one in a cool-down opens nothing."""
    if actor.agent is not None:
        if not data.customer_external_id:
            raise InvalidInput("agents must name customer_external_id", code="customer_required")
        customer = await session.scalar(
            select(Customer).where(Customer.external_id == data.customer_external_id))
        if customer is None:
            raise NotFound("customer", code="customer_not_found")
        channel = data.channel or "phone"
        priority = data.priority or "normal"
    elif actor.kind == "customer" and actor.customer is not None:
        customer, channel, priority = actor.customer, data.channel or "portal", "normal"
        if data.priority or data.customer_external_id:
            raise Forbidden("customers cannot set priority or customer", code="field_forbidden")
    elif actor.kind == "visitor" and actor.visitor_id is not None:
        if data.priority or data.customer_external_id:
            raise Forbidden("visitors cannot set priority or customer", code="field_forbidden")
        customer = await visitor_customer(session, actor.visitor_id, create=True,
                                          language=data.language or "en")
        assert customer is not None
        channel, priority = data.channel or "chat", "normal"
    else:
        raise Forbidden("sign in to open a ticket", code="customer_required")
    if data.client_msg_id:
        existing = (await session.execute(
            select(Ticket, Message).join(Message, Message.ticket_id == Ticket.id)
            .where(Ticket.customer_id == customer.id, Message.seq == 1,
                   Message.client_msg_id == data.client_msg_id))).first()
        if existing is not None:
            return Opened(existing[0], existing[1])
    if actor.is_customer_side:
        # it builds on this module (a duplicate request becomes an ``Opened``)
        from kefu.tickets.abuse_checks import add_to_open_duplicate, ensure_may_write

        duplicate = await add_to_open_duplicate(session, actor, customer=customer, data=data)
        if duplicate is not None:
            return duplicate
        await ensure_may_write(session, actor)
    if customer.is_visitor and await session.scalar(
            select(Ticket.id).where(Ticket.customer_id == customer.id)) is not None:
        raise Conflict("sign in to open more conversations", code="visitor_limit")
    return await create_ticket(
        session, actor, customer=customer, subject=data.subject, body=data.body,
        channel=channel, language=data.language, priority=priority,
        client_msg_id=data.client_msg_id,
    )
