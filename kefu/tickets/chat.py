"""Chat messages appended in batches: the live chat's hot path.

:func:`kefu.tickets.replies.reply` appends one message with about seven statements (the ticket,
the idempotency check, the sequence increment, the insert, the ticket's timestamps, the author's
name, webhooks). At chat rates that is the whole cost of a message, so the group-commit writer
hands this module every plain chat send of a batch at once, and it does the same work with a
constant number of statements per batch: one select of the batch's tickets (locked, in number
order, on PostgreSQL), one select of already-stored ``client_msg_id``\\ s, one multi-row insert,
and the tickets' new sequence counters and timestamps in one executemany.

Only the common case takes this path: a public message without attachments into a ticket the
sender may read and whose status the message does not change (but for an agent's first reply,
which opens a new ticket with ``reply``'s own :func:`~kefu.tickets.replies.open_on_first_reply`),
with nothing for the secret guard to mask, and nothing for the abuse checks
(:func:`kefu.guard.abuse.screen`; a sender's earlier sends in the same batch count as their
recent messages) but a flag for a supervisor's review, which the batch raises once the message
is appended (:func:`~kefu.tickets.abuse_checks.flag_abuse`, as ``reply`` does). Anything else
(a merged number, a resolved ticket, a customer's reply to a ticket waiting for them, an agent's
reply to an email or Telegram customer, a note with @mentions, an attachment, a message that
cools its sender down or warns of a scam) returns ``None`` for that send, and the writer runs
it through ``reply`` / ``add_note`` as before, so every rule lives in one place. All sends of
one ticket take the same path, so a ticket's messages keep their order.

On the writer's SQLite connection the batch's statements go to sqlite3 directly
(:func:`kefu.db.writer_sqlite`); through the ORM each cost 100–400 µs of Python, most of a
small batch's time.

What ``reply`` would refuse without storing anything is refused here, the error in place of the
outcome, not sent down the slow path, where the refusal would roll the whole batch back and redo
it: a number the sender may not read (``NotFound``, as from ``get_readable``), a closed ticket,
and a sender in a cool-down (found with one more query per batch), the last two unless the send
is a resend of a stored message. A flood of sends that are refused must stay cheap for everyone
else's."""

from __future__ import annotations

import functools
import sqlite3
import uuid
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Column,
    Integer,
    Select,
    String,
    Table,
    Uuid,
    and_,
    bindparam,
    column,
    select,
    update,
    values,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from kefu.accounts.actor import Actor
from kefu.core import clock
from kefu.core.errors import KefuError, NotFound
from kefu.core.ids import normalize_ticket_number
from kefu.core.language import detect_language
from kefu.core.recent import RecentByKey
from kefu.db import (
    UTCDateTime,
    after_commit,
    new_id,
    sqlite_datetime,
    sqlite_value,
    writer_sqlite,
)
from kefu.guard.abuse import RECENT_MESSAGES, RECENT_WINDOW, AbuseSignal, screen
from kefu.guard.secrets import scan
from kefu.realtime.analysis import Analysis
from kefu.realtime.events import publish_after_commit, ticket_topic
from kefu.tickets.abuse_checks import cooldown_subject, flag_abuse, inbound_language
from kefu.tickets.events import announce_ticket, webhook_ticket
from kefu.tickets.messages import customer_name, message_event, settings_of
from kefu.tickets.models import DELIVERED_CHANNELS, Message, Ticket
from kefu.tickets.replies import open_on_first_reply, ticket_closed
from kefu.tickets.service import may_read
from kefu.trust.errors import CoolingDown
from kefu.trust.service import cooldowns_in_force
from kefu.webhooks.service import emit, subscribed


@dataclass(frozen=True)
class ChatSend:
    """One websocket ``send`` of a public chat message without attachments."""

    actor: Actor
    number: str
    body: str
    client_msg_id: str | None
    analysis: Analysis | None = None  # computed ahead in the analysis worker (customers)


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A message this path inserted, without an ORM object (building one costs more than
    inserting the row)."""

    id: uuid.UUID
    ticket_id: uuid.UUID
    seq: int
    public_seq: int | None
    author_kind: str
    author_agent_id: uuid.UUID | None
    author_customer_id: uuid.UUID | None
    body: str
    internal: bool
    client_msg_id: str | None
    created_at: datetime
    language: str | None


@dataclass(frozen=True)
class Appended:
    ticket: Ticket
    message: ChatMessage | Message
    created: bool


def _fast_status(actor: Actor, ticket: Ticket) -> bool:
    """Whether this path may append a public message: it leaves the ticket's status as it is
    (see ``reply``), except that an agent's first reply opens a new ticket."""
    if ticket.status in ("closed", "resolved"):
        return False  # closed refuses; resolved reopens (customer) or has a reopen window
    if actor.agent is not None:
        # An agent's first reply opens a new ticket, here as in ``reply``; one to an email or
        # Telegram customer goes through ``add_message``, which queues its delivery.
        return ticket.channel not in DELIVERED_CHANNELS
    return not (ticket.status == "pending" and ticket.pending_reason == "customer")


def _author_name(actor: Actor) -> str:
    if actor.agent is not None:
        return actor.agent.display_name
    return customer_name(actor)


async def _cooling(session: AsyncSession, subjects: Sequence[uuid.UUID | str | None]
                   ) -> dict[uuid.UUID | str, float]:
    return await cooldowns_in_force(
        session, customer_ids={s for s in subjects if isinstance(s, uuid.UUID)},
        visitor_ids={s for s in subjects if isinstance(s, str)})


class RecentChat:
    """The customer messages this process appended to each ticket in the last
    ``RECENT_WINDOW`` (at most ``RECENT_MESSAGES``), for the abuse screen's repeats when a batch
    is analysed inline (no analysis worker, or it is restarting; the worker keeps its own, see
    ``kefu.realtime.analysis.Repeats``): what ``abuse_checks.screen_inbound`` reads from the
    database for a message stored one at a time, without a query per batch. Bounded to the
    ``MAX_TICKETS`` most recently written tickets."""

    MAX_TICKETS = 50_000

    def __init__(self) -> None:
        self._tickets: RecentByKey[uuid.UUID, tuple[datetime, str]] = RecentByKey(
            RECENT_MESSAGES, self.MAX_TICKETS)

    def bodies(self, ticket_id: uuid.UUID, now: datetime) -> list[str]:
        return [body for at, body in self._tickets.get(ticket_id) if now - at <= RECENT_WINDOW]

    def add(self, ticket_id: uuid.UUID, at: datetime, body: str) -> None:
        self._tickets.add(ticket_id, (at, body))


def recent_chat(session: AsyncSession) -> RecentChat:
    """The process's :class:`RecentChat` for the session's database (a fresh one without)."""
    db = session.info.get("db")
    if db is None:
        return RecentChat()
    memory = db.caches.get("recent_chat")
    if memory is None:
        memory = db.caches["recent_chat"] = RecentChat()
    return cast(RecentChat, memory)


def _guarded(send: ChatSend, ticket: Ticket, earlier: dict[tuple[str, str], list[str]],
             memory: RecentChat, now: datetime) -> str | None:
    """What a customer's send has for the secret guard (``"secret"``) or the abuse checks
    (``"abuse"``), if anything. An analysis made ahead has counted the sender's repeats already
    (the worker remembers what each sender sent). Without one, the screen runs here with the
    ticket's recent customer messages and the sender's earlier sends in this batch
    (``earlier``, which gets this one)."""
    pre = send.analysis
    if pre is not None:
        return "secret" if not pre.clean else "abuse" if pre.actionable else None
    if not scan(send.body).clean:
        return "secret"
    key = (send.actor.label, ticket.number)
    recent = earlier.get(key)
    if recent is None:
        recent = earlier[key] = memory.bodies(ticket.id, now)[-RECENT_MESSAGES:]
    found = screen(send.body, recent=recent).actionable
    recent.append(send.body)
    return "abuse" if found else None


async def _screen_suspects(
    session: AsyncSession, raw: sqlite3.Connection | None, sends: Sequence[ChatSend],
    chosen: Sequence[Ticket | None], refused: Container[int], suspects: list[int],
    now: datetime,
) -> tuple[dict[int, tuple[AbuseSignal, ...]], set[str]]:
    """The abuse screen on the sends in which the analysis found something, as
    ``screen_inbound`` screens a stored message: with the ticket's customer messages of the
    last ``RECENT_WINDOW`` (from the database, and the earlier customer sends of this batch).
    Returns the flags to raise once they are stored, for sends that only need a supervisor's
    review; and the tickets to send down the slow path, where a send cools its sender down or
    warns of a scam (a system message after it, and the ticket's next sends refused)."""
    ids = list(dict.fromkeys(t.id for i in suspects if (t := chosen[i]) is not None))
    since = now - RECENT_WINDOW
    stored: dict[uuid.UUID, list[str]] = {ticket_id: [] for ticket_id in ids}
    if raw is not None:
        for ticket_id, body in raw.execute(
                "SELECT ticket_id, body FROM messages WHERE author_kind = 'customer'"
                " AND created_at >= ? AND ticket_id IN (" + ",".join("?" * len(ids))
                + ") ORDER BY seq", [sqlite_value(since), *(i.hex for i in ids)]):
            stored[uuid.UUID(ticket_id)].append(body)
    else:
        for ticket_id, body in await session.execute(
                select(Message.ticket_id, Message.body).where(
                    Message.author_kind == "customer", Message.created_at >= since,
                    Message.ticket_id.in_(ids)).order_by(Message.seq)):
            stored[ticket_id].append(body)
    flags: dict[int, tuple[AbuseSignal, ...]] = {}
    declined: set[str] = set()
    for index in suspects:
        ticket = chosen[index]
        assert ticket is not None
        batch = [send.body for j, (send, t) in enumerate(zip(sends[:index], chosen, strict=False))
                 if t is ticket and send.actor.agent is None and j not in refused]
        screening = screen(sends[index].body,
                           recent=(stored[ticket.id] + batch)[-RECENT_MESSAGES:])
        if screening.scams or any(signal.cooldown for signal in screening.for_review):
            declined.add(ticket.number)
        elif screening.for_review:
            flags[index] = screening.for_review
    return flags, declined


async def append_chat_batch(
    session: AsyncSession, sends: Sequence[ChatSend]
) -> list[Appended | KefuError | None]:
    """Append ``sends`` in order; ``None`` for each send the caller must run through
    ``reply`` instead, the error for one refused. Re-sent ``client_msg_id``\\ s return the
    stored message."""
    named = [normalize_ticket_number(s.number) for s in sends]
    numbers = {number for number in named if number is not None}
    if not numbers:
        return [None] * len(sends)
    # in number order, like the writer's batches: no deadlock (FOR UPDATE on PostgreSQL)
    raw = await writer_sqlite(session)
    if raw is not None:
        by_number = {t.number: t for t in _tickets_raw(raw, sorted(numbers))}
    else:
        postgres = session.get_bind().dialect.name == "postgresql"
        by_number = {t.number: t for t in await session.scalars(
            _TICKETS_LOCKED if postgres else _TICKETS_BY_NUMBER, {"numbers": sorted(numbers)})}
    subjects = [cooldown_subject(s.actor) for s in sends]  # who each send's cool-down holds
    cooling = await _cooling(session, subjects)
    memory, now = recent_chat(session), clock.now()

    chosen: list[Ticket | None] = []
    declined: set[str] = set()  # tickets whose sends all take the slow path, in order
    # Refused here, storing nothing (so the ticket's order is not at stake), as ``reply``
    # would refuse them: without a ticket; or on their ticket, unless a resend of a message
    # stored there (its first send was acknowledged).
    unknown: dict[int, KefuError] = {}
    refused: dict[int, KefuError] = {}
    earlier: dict[tuple[str, str], list[str]] = {}
    suspects: list[int] = []  # customer sends in which the analysis found abuse
    for index, send in enumerate(sends):
        ticket = by_number.get(named[index] or "")
        guard: str | None = None
        if ticket is not None and ticket.merged_into_id is not None:
            chosen.append(None)  # ``get_readable`` follows the merge
            declined.add(ticket.number)
            continue
        if ticket is None or not may_read(send.actor, ticket):
            unknown[index] = NotFound("ticket")  # as ``get_readable``: a number reveals nothing
            chosen.append(None)
            continue
        wait = cooling.get(subjects[index] or "")
        if ticket.status == "closed":
            refused[index] = ticket_closed()
            chosen.append(ticket)
        elif wait is not None:
            refused[index] = CoolingDown(wait)
            chosen.append(ticket)
        elif (not _fast_status(send.actor, ticket)
                or (send.actor.agent is None and send.actor.customer is None)
                or (guard := None if send.actor.agent is not None
                    else _guarded(send, ticket, earlier, memory, now)) == "secret"):
            declined.add(ticket.number)
            chosen.append(None)
        else:
            if guard == "abuse":
                suspects.append(index)
            chosen.append(ticket)
    flags: dict[int, tuple[AbuseSignal, ...]] = {}
    if suspects:
        flags, slow = await _screen_suspects(session, raw, sends, chosen, refused, suspects,
                                              now)
        declined |= slow
    chosen = [t if t is not None and (i in refused or t.number not in declined) else None
              for i, t in enumerate(chosen)]
    if not any(chosen):
        return [unknown.get(index) for index in range(len(sends))]

    stored: dict[tuple[uuid.UUID, str | None], ChatMessage | Message] = dict(
        await _stored_messages(session, sends, chosen))
    outcomes: list[Appended | KefuError | None] = []
    rows: list[ChatMessage] = []
    touched: dict[uuid.UUID, Ticket] = {}
    from_customer: dict[uuid.UUID, int] = {}  # the customer's new messages per ticket
    for index, (send, ticket) in enumerate(zip(sends, chosen, strict=True)):
        if ticket is None:
            outcomes.append(unknown.get(index))
            continue
        key = (ticket.id, send.client_msg_id)
        if send.client_msg_id and key in stored:
            outcomes.append(Appended(ticket, stored[key], created=False))
            continue
        if index in refused:
            outcomes.append(refused[index])
            continue
        touched[ticket.id] = ticket
        agent, customer = send.actor.agent, send.actor.customer
        if agent is None:
            from_customer[ticket.id] = from_customer.get(ticket.id, 0) + 1
        message = ChatMessage(
            id=new_id(), ticket_id=ticket.id, seq=ticket.last_seq + 1,
            public_seq=ticket.last_public_seq + 1,
            author_kind="agent" if agent is not None else "customer",
            author_agent_id=agent.id if agent is not None else None,
            author_customer_id=customer.id if agent is None and customer else None,
            body=send.body, internal=False, client_msg_id=send.client_msg_id, created_at=now,
            language=None if agent is not None else send.analysis.language
            if send.analysis is not None else detect_language(send.body))
        # Committed values: the row is written below by one executemany, not by a flush.
        set_committed_value(ticket, "last_seq", message.seq)
        set_committed_value(ticket, "last_public_seq", message.public_seq)
        set_committed_value(ticket, "updated_at", now)
        if agent is None:
            set_committed_value(ticket, "last_customer_message_at", now)
        elif ticket.first_response_at is None:
            set_committed_value(ticket, "first_response_at", now)
        rows.append(message)
        if send.client_msg_id:
            stored[key] = message  # the same id twice in one batch: stored once
        outcomes.append(Appended(ticket, message, created=True))
    if not rows:
        return outcomes

    async def remember() -> None:
        for row in rows:
            if row.author_kind == "customer":
                memory.add(row.ticket_id, row.created_at, row.body)

    after_commit(session, remember)
    if raw is not None:  # the writer's SQLite connection: the same rows, without the ORM
        at = sqlite_value(now)  # every row of the batch was made now
        raw.executemany(_MESSAGES_INSERT_SQL, [
            (m.id.hex, m.ticket_id.hex, m.seq, m.public_seq, m.author_kind,
             m.author_agent_id.hex if m.author_agent_id else None,
             m.author_customer_id.hex if m.author_customer_id else None,
             m.body, 0, m.client_msg_id, at, m.language) for m in rows])
        raw.executemany(_TICKET_UPDATE_SQL, [
            (t.last_seq, t.last_public_seq, at,  # updated now, as most of the rest
             at if (last := t.last_customer_message_at) is now else sqlite_value(last),
             at if (first := t.first_response_at) is now else sqlite_value(first), t.id.hex)
            for t in touched.values()])
    else:
        await session.execute(_MESSAGES.insert(), [
            {f: getattr(m, f) for f in ChatMessage.__slots__} for m in rows])
        await session.execute(_TICKET_UPDATE, [
            {"_id": t.id, "_last_seq": t.last_seq, "_last_public_seq": t.last_public_seq,
             "_updated_at": t.updated_at,
             "_last_customer_message_at": t.last_customer_message_at,
             "_first_response_at": t.first_response_at} for t in touched.values()])
    hooks = await subscribed(session, "message.created")
    for send, outcome in zip(sends, outcomes, strict=True):
        if not isinstance(outcome, Appended) or not outcome.created:
            continue
        ticket, sent = outcome.ticket, outcome.message
        if hooks:
            await emit(session, "message.created", {
                "ticket": webhook_ticket(ticket),
                "message": {"id": str(sent.id), "seq": sent.seq,
                            "author_kind": sent.author_kind, "internal": False,
                            "body": sent.body, "created_at": now.isoformat()}})
        publish_after_commit(session, ticket_topic(ticket.id), await message_event(
            session, ticket, sent, [],
            names={sent.author_agent_id or sent.author_customer_id: _author_name(send.actor)}))
    for ticket in touched.values():  # once per ticket and batch
        announce_ticket(session, ticket, "message",
                        customer_messages=from_customer.get(ticket.id, 0))
    attached: dict[uuid.UUID, Ticket] = {}

    async def attach(ticket: Ticket) -> Ticket:
        """The ticket in the session, for the ORM's steps below."""
        if raw is None:
            return ticket
        if ticket.id not in attached:  # read without the session: attach it as it is (no query)
            make_transient_to_detached(ticket)
            attached[ticket.id] = await session.merge(ticket, load=False)
        return attached[ticket.id]

    for index, signals in flags.items():  # after the message, as ``screen_inbound`` does
        outcome = outcomes[index]
        if isinstance(outcome, Appended) and outcome.created:
            ticket = await attach(outcome.ticket)
            await flag_abuse(session, ticket, outcome.message, signals,
                             inbound_language(ticket, outcome.message))
    opening: dict[uuid.UUID, tuple[Ticket, Actor]] = {}
    for send, outcome in zip(sends, outcomes, strict=True):
        if (isinstance(outcome, Appended) and outcome.created and send.actor.agent is not None
                and outcome.ticket.status == "new"):
            opening.setdefault(outcome.ticket.id, (outcome.ticket, send.actor))
    for ticket, actor in opening.values():  # after the messages, as ``reply`` does
        await open_on_first_reply(session, actor, await attach(ticket))
    settings = settings_of(session)
    if settings is not None:
        from kefu.assistant.service import after_customer_messages  # it builds on tickets

        await after_customer_messages(session, [
            (o.ticket, o.message) for o in outcomes
            if isinstance(o, Appended) and o.created and o.message.author_kind == "customer"],
            settings=settings)
    return outcomes


_TICKETS_BY_NUMBER = (select(Ticket).where(Ticket.number.in_(bindparam("numbers", expanding=True)))
                      .order_by(Ticket.number))
_TICKETS_LOCKED = _TICKETS_BY_NUMBER.with_for_update()
_MESSAGES = cast(Table, Message.__table__)
_TICKETS = cast(Table, Ticket.__table__)
_TICKET_UPDATE = (
    update(_TICKETS)
    .where(_TICKETS.c.id == bindparam("_id"))
    .values(last_seq=bindparam("_last_seq"), last_public_seq=bindparam("_last_public_seq"),
            updated_at=bindparam("_updated_at"),
            last_customer_message_at=bindparam("_last_customer_message_at"),
            first_response_at=bindparam("_first_response_at"))
)
_MESSAGES_INSERT_SQL = ("INSERT INTO messages (id, ticket_id, seq, public_seq, author_kind,"
                        " author_agent_id, author_customer_id, body, internal, client_msg_id,"
                        " created_at, language) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_TICKET_UPDATE_SQL = ("UPDATE tickets SET last_seq = ?, last_public_seq = ?, updated_at = ?,"
                      " last_customer_message_at = ?, first_response_at = ? WHERE id = ?")


def _tickets_raw(raw: sqlite3.Connection, numbers: list[str]) -> list[Ticket]:
    """The tickets ``numbers`` as transient ``Ticket`` objects holding what the ORM would load,
    read on the writer's SQLite connection: the ORM's select and loading cost ~150 µs a
    statement and ~25 µs a ticket, a fifth of a small batch; this costs ~7 µs a ticket."""
    configure_mappers()  # at once if done (the ORM does it on its first query)
    read = _READ
    if len(read) > _READ_MAX:
        read.clear()
    tickets = []
    for row in raw.execute(_TICKETS_SQL + ",".join("?" * len(numbers)) + ")", numbers):
        values = dict(zip(_TICKET_KEYS, row, strict=True))
        for key, convert in _TICKET_CONVERSIONS:
            if (value := values[key]) is not None:
                if (known := read.get(value)) is None:
                    known = read[value] = convert(value)
                values[key] = known
        ticket = _TICKET_MANAGER.new_instance()
        ticket.__dict__.update(values)
        tickets.append(ticket)
    return tickets


def _from_sqlite(column: Column[Any]) -> Callable[[Any], Any] | None:
    """How a ticket column's SQLite value becomes what the ORM loads."""
    if isinstance(column.type, Uuid):
        return uuid.UUID
    if isinstance(column.type, UTCDateTime):
        return sqlite_datetime
    if isinstance(column.type, String | Integer):  # Text is a String
        return None
    raise TypeError(f"tickets.{column.name}: no SQLite reading for {column.type!r}")


_TICKET_KEYS = [Ticket.__mapper__.get_property_by_column(c).key for c in _TICKETS.columns]
_TICKET_CONVERSIONS = [(key, convert) for key, c in zip(_TICKET_KEYS, _TICKETS.columns, strict=True)
                       if (convert := _from_sqlite(c)) is not None]
_TICKETS_SQL = (f"SELECT {', '.join(c.name for c in _TICKETS.columns)} FROM tickets"
                " WHERE number IN (")
_TICKET_MANAGER = Ticket.__mapper__.class_manager
# Column texts already converted, to what they became (UUIDs, datetimes: immutable, so shared):
# a chat's ticket is read by batch after batch, its ids and most of its times unchanged, and
# ``uuid.UUID(hex)`` alone cost more than the rest of a ticket's reading.
_READ: dict[str, Any] = {}
_READ_MAX = 50_000


@functools.lru_cache(maxsize=16)
def _resend_query(size: int) -> Select[uuid.UUID]:
    """Ids of the messages whose (ticket, client id) is one of ``size`` bound pairs
    ``t{i}``/``c{i}``."""
    asked = values(column("ticket_id", Uuid), column("client_msg_id", String),
                   name="asked").data([(bindparam(f"t{i}", type_=Uuid),
                                        bindparam(f"c{i}", type_=String))
                                       for i in range(size)]).cte("asked")
    return select(Message.id).join(asked, and_(
        Message.ticket_id == asked.c.ticket_id, Message.client_msg_id == asked.c.client_msg_id))


@functools.lru_cache(maxsize=16)
def _resend_sql(size: int) -> str:
    """:func:`_resend_query` as SQLite text; parameters are the pairs in order."""
    return ("WITH asked(ticket_id, client_msg_id) AS (VALUES "
            + ",".join(["(?, ?)"] * size) + ") SELECT messages.id FROM messages JOIN asked"
            " ON messages.ticket_id = asked.ticket_id"
            " AND messages.client_msg_id = asked.client_msg_id")


async def _stored_messages(
    session: AsyncSession, sends: Sequence[ChatSend], chosen: Sequence[Ticket | None]
) -> dict[tuple[uuid.UUID, str | None], Message]:
    # in the batch's order, each once (the order of a VALUES table changes nothing found)
    ordered = list(dict.fromkeys((t.id, s.client_msg_id) for s, t in zip(sends, chosen, strict=True)
                                 if t is not None and s.client_msg_id))
    if not ordered:
        return {}
    # The keys as a VALUES table joined to messages: each key is one search of the
    # (ticket_id, client_msg_id) index. A row-value IN made SQLite scan the whole messages
    # table (each batch slower than the last), and two IN lists probed their cross product.
    # Columns first, as a resend is rare; the few found are loaded whole.
    size = max(8, 1 << (len(ordered) - 1).bit_length())  # a few shapes, each compiled once
    ordered += [ordered[0]] * (size - len(ordered))
    raw = await writer_sqlite(session)
    if raw is not None:  # the writer's SQLite connection: the same query, without the ORM
        found = [uuid.UUID(row[0]) for row in raw.execute(_resend_sql(size), [
            sqlite_value(v) for pair in ordered for v in pair])]
    else:
        params: dict[str, object] = {f"t{i}": ticket_id
                                     for i, (ticket_id, _) in enumerate(ordered)}
        params.update({f"c{i}": client_id for i, (_, client_id) in enumerate(ordered)})
        found = list((await session.execute(_resend_query(size), params)).scalars())
    if not found:
        return {}
    messages = await session.scalars(select(Message).where(Message.id.in_(found)))
    return {(m.ticket_id, m.client_msg_id): m for m in messages}
