"""Tickets: scoping, creation, messages, queries. Every read of customer data goes through
``readable_by`` so that authorization cannot be forgotten."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    exists,
    false,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from kefu.accounts.actor import Actor
from kefu.accounts.models import Agent, Customer, Team
from kefu.accounts.service import audit, team_ids_of, visitor_customer
from kefu.config import Settings
from kefu.core import clock
from kefu.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from kefu.core.ids import new_ticket_number, normalize_ticket_number
from kefu.core.language import detect_language, own_name
from kefu.core.pagination import Cursor
from kefu.guard.secret_ocr import scan_ocr
from kefu.guard.secrets import scan
from kefu.jobs.runner import enqueue
from kefu.realtime.events import INBOX, agent_topic, publish_after_commit, ticket_topic
from kefu.tickets import schemas
from kefu.tickets.attachment_text import STORED_TEXT_CHARS
from kefu.tickets.attachments import AttachmentStore, name_for_type, safe_filename
from kefu.tickets.models import (
    DELIVER_JOB,
    DELIVERED_CHANNELS,
    Attachment,
    Message,
    Notification,
    Tag,
    Ticket,
    TicketEvent,
    ticket_tags,
)
from kefu.webhooks.service import emit

# ---------------------------------------------------------------- scoping


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


# ---------------------------------------------------------------- events and payloads


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


async def tags_of(session: AsyncSession, ticket_id: uuid.UUID) -> list[str]:
    rows = await session.scalars(
        select(Tag.name).join(ticket_tags, ticket_tags.c.tag_id == Tag.id)
        .where(ticket_tags.c.ticket_id == ticket_id).order_by(Tag.name)
    )
    return list(rows)


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
    return {
        "number": ticket.number, "subject": ticket.subject, "status": ticket.status,
        "pending_reason": ticket.pending_reason, "priority": ticket.priority,
        "channel": ticket.channel, "language": ticket.language,
        "customer_id": str(ticket.customer_id),
        "team_id": str(ticket.team_id) if ticket.team_id else None,
        "assignee_id": str(ticket.assignee_id) if ticket.assignee_id else None,
        "updated_at": ticket.updated_at.isoformat(),
    }


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
    return {**webhook_ticket(ticket), "id": str(ticket.id), "created_at":
            ticket.created_at.isoformat(), "last_customer_message_at":
            ticket.last_customer_message_at.isoformat()
            if ticket.last_customer_message_at else None,
            "language_name": own_name(ticket.language) if ticket.language else None}


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
    summary = ticket_summary(ticket)
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
             "_row": "\x1f".join(str(summary[k]) for k in _ROW_FIELDS)}
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


# ---------------------------------------------------------------- messages


@dataclass(frozen=True)
class MessageAuthor:
    """Who writes a message; ``name``, when the caller knows it, saves the frame a query."""

    kind: str
    agent_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    name: str | None = None

    @classmethod
    def of(cls, actor: Actor) -> MessageAuthor:
        if actor.agent is not None:
            return cls("agent", agent_id=actor.agent.id, name=actor.agent.display_name)
        if actor.customer is not None:
            return cls("customer", customer_id=actor.customer.id,
                       name=customer_name(actor))
        return cls("system")


async def next_seq(
    session: AsyncSession, ticket: Ticket, *, public: bool
) -> tuple[int, int | None]:
    """Gap-free per-ticket sequences, by an atomic increment under the row lock: ``seq`` over
    all messages (what agents see) and ``public_seq`` over those the customer sees."""
    # On the table, not the entity: the ORM's bulk-update machinery (which, by default, also
    # evaluates the criteria against every object in the session: the chat writer's batches
    # hold hundreds) cost more than the statement. The ticket is updated below.
    table = cast(Table, Ticket.__table__)
    row = (await session.execute(
        update(table).where(table.c.id == ticket.id)
        .values(last_seq=table.c.last_seq + 1,
                last_public_seq=table.c.last_public_seq + (1 if public else 0))
        .returning(table.c.last_seq, table.c.last_public_seq))).one()
    set_committed_value(ticket, "last_seq", row[0])
    set_committed_value(ticket, "last_public_seq", row[1])
    return row[0], (row[1] if public else None)


async def _claim_attachments(
    session: AsyncSession, ticket: Ticket, author: MessageAuthor,
    attachment_ids: Sequence[uuid.UUID],
) -> list[Attachment]:
    """Unsent uploads of this ticket; a customer may only send what a customer uploaded."""
    if not attachment_ids:
        return []
    stmt = select(Attachment).where(Attachment.id.in_(attachment_ids),
                                    Attachment.ticket_id == ticket.id,
                                    Attachment.message_id.is_(None))
    if author.kind == "customer":
        stmt = stmt.where(Attachment.uploaded_by_kind == "customer")
    rows = list(await session.scalars(stmt))
    if len(rows) != len(set(attachment_ids)):
        raise InvalidInput("unknown or already used attachment", code="unknown_attachment")
    return rows


async def stored_message(session: AsyncSession, ticket: Ticket, client_msg_id: str
                         ) -> Message | None:
    """The message already stored in ``ticket`` under ``client_msg_id``, if any."""
    return cast(Message | None, await session.scalar(select(Message).where(
        Message.ticket_id == ticket.id, Message.client_msg_id == client_msg_id)))


async def add_message(
    session: AsyncSession,
    ticket: Ticket,
    author: MessageAuthor,
    *,
    body: str,
    internal: bool = False,
    attachment_ids: Sequence[uuid.UUID] = (),
    client_msg_id: str | None = None,
    rateable: bool = False,
) -> tuple[Message, bool]:
    """Append a message. Returns (message, created); re-sending a ``client_msg_id`` returns the
    stored message and stores nothing new. A customer's text is stored masked (secret guard).
    ``rateable`` goes into the ``message`` frame (the assistant's answers; see
    :func:`message_event`)."""
    guarded = scan(body) if author.kind == "customer" else None
    if guarded is not None:
        body = guarded.masked
    if client_msg_id:
        existing = await stored_message(session, ticket, client_msg_id)
        if existing is not None:
            return existing, False
    attachments = await _claim_attachments(session, ticket, author, attachment_ids)
    now = clock.now()
    seq, public_seq = await next_seq(session, ticket, public=not internal)
    message = Message(
        ticket_id=ticket.id, seq=seq, public_seq=public_seq, author_kind=author.kind,
        author_agent_id=author.agent_id, author_customer_id=author.customer_id,
        body=body, internal=internal, client_msg_id=client_msg_id, created_at=now,
        language=detect_language(body) if author.kind == "customer" else None,
    )
    session.add(message)
    await session.flush()
    for attachment in attachments:
        attachment.message_id = message.id
    ticket.updated_at = now
    if author.kind == "customer":
        ticket.last_customer_message_at = now
    elif author.kind == "agent" and not internal and ticket.first_response_at is None:
        ticket.first_response_at = now
    await emit(session, "message.created", {
        "ticket": webhook_ticket(ticket),
        "message": {"id": str(message.id), "seq": message.seq, "author_kind": author.kind,
                    "internal": internal, "body": body, "created_at": now.isoformat()},
    })
    names = ({author.agent_id or author.customer_id: author.name}
             if author.name is not None else None)
    publish_after_commit(session, ticket_topic(ticket.id),
                         await message_event(session, ticket, message, attachments, names,
                                             rateable=rateable))
    announce_ticket(session, ticket, "message",
                    customer_messages=1 if author.kind == "customer" else 0)
    if author.kind != "customer" and not internal and ticket.channel in DELIVERED_CHANNELS:
        # Sent by the channel's job after the commit (kefu.channels.delivery), retried there.
        await enqueue(session, DELIVER_JOB, {"message_id": str(message.id)},
                      dedupe_key=f"{DELIVER_JOB}:{message.id}")
    if guarded is not None and not guarded.clean:
        from kefu.tickets.guarding import secrets_hidden  # it builds on this module

        await secrets_hidden(session, ticket, guarded)
    if author.kind == "customer" and not internal:
        from kefu.tickets.abuse_checks import screen_inbound  # it builds on this module

        await screen_inbound(session, ticket, message)
    settings = settings_of(session)
    if author.kind == "customer" and not internal and settings is not None:
        from kefu.assistant.service import after_customer_message  # it builds on this module

        await after_customer_message(session, ticket, message, settings=settings)
    return message, True


def settings_of(session: AsyncSession) -> Settings | None:
    db = session.info.get("db")
    settings = getattr(db, "settings", None)
    return settings if isinstance(settings, Settings) else None


class MessageFields(Protocol):
    """What a ``message`` frame is made of: a stored :class:`Message` or a row the chat's batch
    path inserted without building ORM objects (:class:`kefu.tickets.chat.ChatMessage`)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def seq(self) -> int: ...
    @property
    def public_seq(self) -> int | None: ...
    @property
    def internal(self) -> bool: ...
    @property
    def author_kind(self) -> str: ...
    @property
    def author_agent_id(self) -> uuid.UUID | None: ...
    @property
    def author_customer_id(self) -> uuid.UUID | None: ...
    @property
    def body(self) -> str: ...
    @property
    def client_msg_id(self) -> str | None: ...
    @property
    def language(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...


async def message_event(
    session: AsyncSession,
    ticket: Ticket,
    message: MessageFields,
    attachments: Sequence[Attachment],
    names: dict[uuid.UUID | None, str] | None = None,
    *,
    rateable: bool = False,
) -> dict[str, Any]:
    """The ``message`` frame. ``seq`` is the agents' sequence; customers' connections replace it
    with ``public_seq`` and never get internal ones. ``rateable``: the widget offers 👍/👎 on it
    (the assistant's answers). The caller says so, so that building a frame costs no query."""
    if names is None:
        assert isinstance(message, Message)
        names = await _author_names(session, [message])
    return {
        "type": "message", "ticket": ticket.number, "id": str(message.id), "seq": message.seq,
        "public_seq": message.public_seq, "internal": message.internal,
        "author": {"kind": message.author_kind,
                   "name": names.get(message.author_agent_id or message.author_customer_id,
                                     message.author_kind),
                   "agent_id": str(message.author_agent_id) if message.author_agent_id
                   else None},
        "body": message.body, "client_msg_id": message.client_msg_id,
        "language": message.language, "created_at": message.created_at.isoformat(),
        "rateable": rateable,
        "attachments": [{"id": str(a.id), "filename": a.filename,
                         "content_type": a.content_type, "size": a.size,
                         "withheld": a.withheld_reason is not None} for a in attachments],
    }


async def messages_of(
    session: AsyncSession, ticket: Ticket, *, include_internal: bool
) -> list[schemas.MessageRead]:
    """The ticket's timeline, including the history of tickets merged into it."""
    family = [ticket.id, *await session.scalars(
        select(Ticket.id).where(Ticket.merged_into_id == ticket.id))]
    numbers = dict((await session.execute(
        select(Ticket.id, Ticket.number).where(Ticket.id.in_(family)))).all())
    stmt = select(Message).where(Message.ticket_id.in_(family))
    if not include_internal:
        stmt = stmt.where(Message.internal.is_(False))
    messages = list(await session.scalars(stmt.order_by(Message.created_at, Message.seq)))
    ids = [m.id for m in messages]
    attachments: dict[uuid.UUID, list[schemas.AttachmentRead]] = {}
    if ids:
        for a in await session.scalars(select(Attachment).where(Attachment.message_id.in_(ids))):
            assert a.message_id is not None
            attachments.setdefault(a.message_id, []).append(
                schemas.AttachmentRead.model_validate(a))
    names = await _author_names(session, messages)
    return [
        schemas.MessageRead(
            # Customers count only what they see: their sequence has no gaps for notes.
            id=m.id, ticket_number=numbers[m.ticket_id],
            seq=m.seq if include_internal else (m.public_seq or 0), public_seq=m.public_seq,
            author_kind=m.author_kind,
            author_name=names.get(m.author_agent_id or m.author_customer_id, m.author_kind),
            body=m.body, internal=m.internal, created_at=m.created_at,
            client_msg_id=m.client_msg_id, language=m.language,
            attachments=attachments.get(m.id, []),
        )
        for m in messages
    ]


def customer_name(actor: Actor) -> str:
    """The name a customer's messages are shown under."""
    return (actor.customer.display_name if actor.customer else "") or schemas.UNNAMED_CUSTOMER


async def _author_names(
    session: AsyncSession, messages: list[Message]
) -> dict[uuid.UUID | None, str]:
    agent_ids = {m.author_agent_id for m in messages if m.author_agent_id}
    customer_ids = {m.author_customer_id for m in messages if m.author_customer_id}
    names: dict[uuid.UUID | None, str] = {}
    if agent_ids:
        names.update((await session.execute(
            select(Agent.id, Agent.display_name).where(Agent.id.in_(agent_ids)))).all())
    if customer_ids:
        for cid, name in (await session.execute(
                select(Customer.id, Customer.display_name)
                .where(Customer.id.in_(customer_ids)))).all():
            names[cid] = name or schemas.UNNAMED_CUSTOMER
    return names


# ---------------------------------------------------------------- create


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
) -> Ticket:
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
    author = MessageAuthor("customer", customer_id=customer.id)
    await add_message(session, ticket, author, body=body, client_msg_id=client_msg_id)
    return ticket


async def first_message(session: AsyncSession, ticket: Ticket) -> Message:
    message = await session.scalar(
        select(Message).where(Message.ticket_id == ticket.id).order_by(Message.seq).limit(1))
    assert message is not None
    return message


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
        from kefu.tickets.abuse_checks import add_to_open_duplicate, ensure_may_write

        duplicate = await add_to_open_duplicate(session, actor, customer=customer, data=data)
        if duplicate is not None:
            return duplicate
        await ensure_may_write(session, actor)
    if customer.is_visitor and await session.scalar(
            select(Ticket.id).where(Ticket.customer_id == customer.id)) is not None:
        raise Conflict("sign in to open more conversations", code="visitor_limit")
    ticket = await create_ticket(
        session, actor, customer=customer, subject=data.subject, body=data.body,
        channel=channel, language=data.language, priority=priority,
        client_msg_id=data.client_msg_id,
    )
    return Opened(ticket, await first_message(session, ticket))


# ---------------------------------------------------------------- reply and note


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
        raise Conflict("this ticket is closed; open a new one", code="ticket_closed")
    if actor.is_customer_side:
        from kefu.tickets.abuse_checks import ensure_may_write  # it builds on this module

        await ensure_may_write(session, actor, ticket=ticket, client_msg_id=data.client_msg_id)
    if actor.agent is not None:
        from kefu.tickets.guarding import check_support_text  # it builds on this module

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
            await _set_status(session, actor, ticket, "open", None, kind="reopened")
        elif ticket.status == "pending" and ticket.pending_reason == "customer":
            await _set_status(session, actor, ticket, "open", None)
    elif ticket.status == "new":
        await open_on_first_reply(session, actor, ticket)
    return message


async def open_on_first_reply(session: AsyncSession, actor: Actor, ticket: Ticket) -> None:
    """An agent's first public reply opens a new ticket (``reply`` and the chat's batches)."""
    await _set_status(session, actor, ticket, "open", None)


# An "@" that starts a mention: not inside an email address (``email@x.io``); Chinese may sit
# right before it ("请@李娜"). What follows is matched against the agents' handles.
_MENTION_AT = re.compile(r"(?<![A-Za-z0-9._%+\-@])@")
# A handle goes on while ASCII word characters follow ("@li.nana" is not "@li.na"); Chinese
# or punctuation after it ends it ("@li.na请核对", "@li.na, please").
_HANDLE_GOES_ON = re.compile(r"[A-Za-z0-9_\-]|\.[A-Za-z0-9]")


def mention_handles(agent: Agent) -> set[str]:
    """How a note may name ``agent`` (lower case): the part of the email before @ (``li.na``),
    the display name without spaces (``lina李娜`` for "Li Na 李娜"), its Latin words together
    (``lina``) and each word in another script (``李娜``); at least two characters each."""
    words = agent.display_name.split()
    latin = "".join(w for w in words if w.isascii())
    handles = {agent.email.split("@")[0], "".join(words), latin,
               *(w for w in words if not w.isascii())}
    return {h.lower() for h in handles if len(h) >= 2}


def mentioned(body: str, agents: Iterable[Agent]) -> list[Agent]:
    """The agents a note names (``mention_handles``), case-insensitive, the longest handle
    first."""
    handles = sorted(((handle, agent) for agent in agents for handle in mention_handles(agent)),
                     key=lambda pair: -len(pair[0]))
    found: dict[uuid.UUID, Agent] = {}
    for at in _MENTION_AT.finditer(body):
        # lower-cased after slicing: "İ".lower() is two characters and would shift positions
        rest = body[at.end():at.end() + 80].lower()
        for handle, agent in handles:
            if rest.startswith(handle) and not _HANDLE_GOES_ON.match(rest, len(handle)):
                found.setdefault(agent.id, agent)
                break
    return list(found.values())


# Why a colleague a note names was not told: they may not read the ticket (a notification
# carries the note's text).
CANNOT_READ_TICKET = "cannot_read_ticket"


@dataclass(frozen=True)
class NotNotified:
    """An agent a note names who was not notified, and why (``CANNOT_READ_TICKET``)."""

    agent_id: uuid.UUID
    name: str
    reason: str


@dataclass(frozen=True)
class NoteAdded:
    """A note, and the agents it names who were not notified: its author is told so, rather
    than believe they were."""

    message: Message
    not_notified: list[NotNotified]


async def add_note(
    session: AsyncSession, actor: Actor, ticket: Ticket, data: schemas.NoteCreate
) -> NoteAdded:
    """An internal note. Only a new note notifies (a resent ``client_msg_id`` returns the stored
    one), but both answers say who was not notified."""
    message, created = await add_message(
        session, ticket, MessageAuthor.of(actor), body=data.body, internal=True,
        attachment_ids=data.attachment_ids, client_msg_id=data.client_msg_id)
    if created:
        await audit(session, actor, "ticket.note", target_type="ticket",
                    target_id=ticket.number)
    readers, others = await mentioned_readers(session, ticket, message.body)
    if created:
        await notify_mentions(session, actor, ticket, message, readers)
    return NoteAdded(message, [NotNotified(a.id, a.display_name, CANNOT_READ_TICKET)
                               for a in others])


async def mentioned_readers(
    session: AsyncSession, ticket: Ticket, body: str
) -> tuple[list[Agent], list[Agent]]:
    """The active agents ``body`` names (``mentioned``): those who may read ``ticket``, and
    those who may not."""
    if "@" not in body:
        return [], []
    named = mentioned(body, await session.scalars(
        select(Agent).where(Agent.is_active.is_(True))))
    readers: list[Agent] = []
    others: list[Agent] = []
    for agent in named:
        reader = Actor(kind="agent", agent=agent, team_ids=await team_ids_of(session, agent.id))
        (readers if may_read(reader, ticket) else others).append(agent)
    return readers, others


async def notify_mentions(
    session: AsyncSession, actor: Actor, ticket: Ticket, message: Message, agents: list[Agent]
) -> None:
    """The agents a note names who may read the ticket (``mentioned_readers``: a notification
    carries the note's text) are notified, its author aside: stored, and pushed to their open
    consoles after commit."""
    by = actor.agent.display_name if actor.agent else "system"
    excerpt = message.body[:200]
    for agent in agents:
        if actor.agent is not None and agent.id == actor.agent.id:
            continue
        session.add(Notification(agent_id=agent.id, kind="mention", ticket_id=ticket.id,
                                 data={"ticket": ticket.number, "by": by, "excerpt": excerpt,
                                       "message_id": str(message.id)}))
        publish_after_commit(session, agent_topic(agent.id), {
            "type": "mention", "ticket": ticket.number, "by": by, "excerpt": excerpt,
            "message_id": str(message.id)})
    await session.flush()


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


async def _set_status(
    session: AsyncSession,
    actor: Actor,
    ticket: Ticket,
    status: str,
    pending_reason: str | None,
    *,
    kind: str = "status_changed",
    extra: dict[str, Any] | None = None,
) -> None:
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


# ---------------------------------------------------------------- list


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


async def events_of(session: AsyncSession, ticket: Ticket) -> list[TicketEvent]:
    rows = await session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.at, TicketEvent.id))
    return list(rows)


# ---------------------------------------------------------------- attachments


async def upload_attachment(
    session: AsyncSession,
    actor: Actor,
    store: AttachmentStore,
    ticket: Ticket,
    *,
    filename: str | None,
    chunks: AsyncIterator[bytes],
) -> Attachment:
    """Store an upload. Its text is kept masked; a customer's file whose text holds a secret is
    withheld: its bytes are deleted at once, the row stays as a placeholder and the ticket gets
    the same security treatment as a secret in a message. A closed ticket takes no more files
    from the customer's side; staff may still upload one, for an internal note."""
    if ticket.status == "closed" and actor.is_customer_side:
        raise Conflict("this ticket is closed", code="ticket_closed")
    stored = await store.save(chunks)
    # OCR'd text also gets the misread-tolerant seed-phrase check (kefu/guard/secret_ocr.py).
    guarded = (scan_ocr if stored.text.ocr else scan)(stored.text.text)
    named = scan(name_for_type(safe_filename(filename), stored.content_type))
    attachment = Attachment(
        ticket_id=ticket.id, filename=named.masked,
        content_type=stored.content_type,
        size=stored.size, sha256=stored.sha256, storage_key=stored.storage_key,
        uploaded_by_kind=actor_kind(actor), text_status=stored.text.status,
        extracted_text=(guarded.masked[:STORED_TEXT_CHARS]
                        if stored.text.status in ("extracted", "partial") else None),
    )
    withheld = attachment.uploaded_by_kind == "customer" and not guarded.clean
    if withheld:
        from kefu.tickets.guarding import withheld_reason  # it builds on this module

        store.delete(stored.storage_key)
        attachment.sha256 = None  # a short file's hash would give its text away
        attachment.withheld_reason = withheld_reason(guarded)
    session.add(attachment)
    await session.flush()
    if attachment.uploaded_by_kind == "customer" and not (guarded.clean and named.clean):
        from kefu.tickets.guarding import secrets_hidden

        # A secret in the text withholds the file; one in its name only masks the name. Either
        # way the customer is told and the ticket flagged, as for a secret in a message.
        await secrets_hidden(session, ticket, guarded if withheld else named,
                             withheld_file=attachment if withheld else None)
    return attachment


async def get_attachment(
    session: AsyncSession, actor: Actor, attachment_id: uuid.UUID
) -> Attachment:
    """Readable if its ticket is; a customer never sees files on internal notes."""
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("attachment")
    ticket = await session.scalar(readable_by(actor).where(Ticket.id == attachment.ticket_id))
    if ticket is None:
        survivor = await session.scalar(select(Ticket.merged_into_id).where(
            Ticket.id == attachment.ticket_id))
        if survivor is None or await session.scalar(
                readable_by(actor).where(Ticket.id == survivor)) is None:
            raise NotFound("attachment")
    if not actor.is_agent:
        if attachment.message_id is None and attachment.uploaded_by_kind != "customer":
            raise NotFound("attachment")  # staff's upload, not sent yet
        if attachment.message_id is not None and await session.scalar(
                select(Message.internal).where(Message.id == attachment.message_id)):
            raise NotFound("attachment")
    return attachment


async def message_events_after(
    session: AsyncSession, ticket: Ticket, *, after: int, public: bool, limit: int = 500
) -> list[dict[str, Any]]:
    """``message`` events after position ``after`` (``seq`` for agents, ``public_seq`` for
    customers), in order: what a reconnecting client missed. Which of them are rateable takes
    one query per page, and only when the page has messages from the assistant."""
    stmt = select(Message).where(Message.ticket_id == ticket.id)
    if public:
        stmt = stmt.where(Message.public_seq > after).order_by(Message.public_seq)
    else:
        stmt = stmt.where(Message.seq > after).order_by(Message.seq)
    messages = list(await session.scalars(stmt.limit(limit)))
    if not messages:
        return []
    files: dict[uuid.UUID, list[Attachment]] = {}
    for a in await session.scalars(select(Attachment).where(
            Attachment.message_id.in_([m.id for m in messages]))):
        assert a.message_id is not None
        files.setdefault(a.message_id, []).append(a)
    names = await _author_names(session, messages)
    rateable: set[uuid.UUID] = set()
    assistants = [m.id for m in messages if m.author_kind == "assistant" and not m.internal]
    if assistants:
        from kefu.assistant.service import rateable_messages  # it builds on this module

        rateable = await rateable_messages(session, assistants)
    return [await message_event(session, ticket, m, files.get(m.id, []), names,
                                rateable=m.id in rateable)
            for m in messages]


async def latest_chat(session: AsyncSession, customer_id: uuid.UUID) -> Ticket | None:
    """The customer's most recent conversation that is still going (for the chat widget)."""
    return await session.scalar(
        select(Ticket).where(Ticket.customer_id == customer_id, Ticket.status != "closed",
                             Ticket.merged_into_id.is_(None), Ticket.channel == "chat")
        .order_by(Ticket.updated_at.desc()).limit(1))


async def notifications_of(
    session: AsyncSession, actor: Actor, *, unread_only: bool = False, limit: int = 100
) -> list[Notification]:
    assert actor.agent is not None
    stmt = select(Notification).where(Notification.agent_id == actor.agent.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return list(await session.scalars(stmt.order_by(Notification.created_at.desc()).limit(limit)))


async def mark_notification_read(
    session: AsyncSession, actor: Actor, notification_id: uuid.UUID
) -> None:
    notification = await session.get(Notification, notification_id)
    if notification is None or actor.agent is None or notification.agent_id != actor.agent.id:
        raise NotFound("notification")
    if notification.read_at is None:
        notification.read_at = clock.now()
        await session.flush()
