"""Messages: appending one to a ticket (``add_message``: gap-free sequences, the secret guard on
a customer's text, the webhook, the ``message`` frame, delivery by the ticket's channel, and the
checks that run after a customer writes), and reading them back (the timeline, the frames a
reconnecting client missed)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from kefu.accounts.actor import Actor
from kefu.accounts.models import Agent, Customer
from kefu.config import Settings
from kefu.core import clock
from kefu.core.errors import InvalidInput
from kefu.core.language import detect_language
from kefu.guard.secrets import scan
from kefu.jobs.runner import enqueue
from kefu.realtime.events import publish_after_commit, ticket_topic
from kefu.tickets import schemas
from kefu.tickets.events import announce_ticket, webhook_ticket
from kefu.tickets.models import DELIVER_JOB, DELIVERED_CHANNELS, Attachment, Message, Ticket
from kefu.webhooks.service import emit


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
    first: bool = False,
) -> tuple[Message, bool]:
    """Append a message. Returns (message, created); re-sending a ``client_msg_id`` returns the
    stored message and stores nothing new. A customer's text is stored masked (secret guard).
    ``rateable`` goes into the ``message`` frame (the assistant's answers; see
    :func:`message_event`). ``first``: the first message of a ticket made in this transaction,
    which has nothing stored to find."""
    guarded = scan(body) if author.kind == "customer" else None
    if guarded is not None:
        body = guarded.masked
    if client_msg_id and not first:
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
