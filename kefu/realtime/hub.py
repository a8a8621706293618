"""This process's websocket connections, what each follows, and in-order delivery.

The broker hands every event to :meth:`Hub.dispatch`; the hub gives it to the connections that
follow its topic, and each connection decides what its reader may see (a customer never gets
internal notes, and sees ``public_seq`` as ``seq``). Messages reach a connection gap-free and in
order: while a connection replays from the database, live events are held back; a live event
that skips ahead (events from other processes may arrive out of order) makes the connection
fetch the missing ones from the database first."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson
from starlette.websockets import WebSocket, WebSocketState

from kefu.accounts.actor import Actor
from kefu.core.logging import get_logger
from kefu.realtime.budget import SharedSendBudget
from kefu.realtime.events import INBOX, topic_ticket
from kefu.realtime.protocol import (
    CUSTOMER_RATE,
    INBOX_COALESCE_S,
    OUTBOUND_QUEUE,
    VIEWING_REFRESH_S,
    VIEWING_TTL_S,
    Close,
)
from kefu.realtime.transport import SEND_MANY, can_send_many, writer_of

# Frames written together at most, when many queued up for one connection.
SEND_BURST = 64
# How long a connection that is closing waits for its reader to take the last frames.
CLOSE_AFTER_S = 2.0
SIGNED_OUT: dict[str, Any] = {"type": "error", "code": "signed_out", "fatal": True,
                              "message": "the session or token was signed out; sign in again"}
# To agent connections when the broker's subscription came back after an outage: the events of
# the gap (inbox rows, statuses, mentions, …) are lost, so the console fetches what it shows.
RESYNC: dict[str, Any] = {"type": "resync", "reason": "broker"}

log = get_logger("kefu.realtime.hub")
Fetch = Callable[[uuid.UUID, int], Awaitable[list[dict[str, Any]]]]


class TokenBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.at = time.monotonic()

    def take(self, amount: float = 1.0) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= amount:
            self.tokens -= amount
            return True
        return False

    def retry_after(self, amount: float = 1.0) -> float:
        """Seconds until ``amount`` tokens are there, rounded up to hundredths: a refused frame
        never reads "try again in 0 s"."""
        return retry_after_s((amount - self.tokens) / self.rate)


def retry_after_s(wait: float) -> float:
    """A refusal's ``retry_after_s``: ``wait`` rounded up to hundredths, at least 0.01."""
    return max(0.01, math.ceil(wait * 100 - 1e-9) / 100)


@dataclass
class Follow:
    """One followed ticket: where delivery stands and what waits behind a replay."""

    ticket_id: uuid.UUID
    number: str
    last_seq: int = 0
    replaying: bool = True
    held: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Closing:
    """Queued behind a connection's last frames: its sender closes the socket when it gets
    here (see :meth:`Connection.close_when_sent`)."""

    code: int
    reason: str


def encode_frame(frame: dict[str, Any]) -> str:
    """A frame as compact JSON. orjson: encoding frames was a tenth of the chat server's time
    with the standard library's encoder; anything it does not know (a Decimal) becomes its
    ``str``, as before."""
    return orjson.dumps(frame, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


class Connection:
    def __init__(self, websocket: WebSocket, actor: Actor, hub: Hub, fetch: Fetch) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.websocket = websocket
        self.actor = actor
        self.hub = hub
        self.fetch = fetch
        self.follows: dict[uuid.UUID, Follow] = {}
        # Frames pushed and not yet written (a Closing last, if any); see push.
        self.outbox: list[dict[str, Any] | Closing] = []
        self.closed = False
        self.closing = False  # the server ends it (see _end): nothing more is queued or read
        self.close_code: int | None = None
        self.strikes = 0
        self.loop: asyncio.AbstractEventLoop | None = None  # set by start: frames go out from then
        self._flush_due = False
        self._drainer: asyncio.Task[None] | None = None  # sending what has to wait (see _flush)
        self.queue_state: dict[str, Any] | None = None
        self._rows_sent: dict[str, str] = {}  # ticket number → its row's ``_row``, as last sent
        # The customer's own anti-phishing code: every message from support carries it.
        self.anti_phishing_code: str | None = None
        # What _may_read needs of the actor: (actor, reads everything, its teams, its own id).
        self._reads: tuple[Actor, bool, frozenset[str], str] | None = None
        self._viewing_refresh: asyncio.TimerHandle | None = None  # while it follows tickets
        self.send_many = can_send_many(getattr(websocket, "scope", None))
        self._write_now = writer_of(getattr(websocket, "scope", None))

    @property
    def is_agent(self) -> bool:
        return self.actor.agent is not None

    # ------------------------------------------------------------ output

    def start(self) -> None:
        """Send from now on: what was pushed before goes out with what comes next."""
        self.loop = asyncio.get_running_loop()
        if self.outbox:
            self._flush_soon()

    def _flush_soon(self) -> None:
        """Write the outbox two turns of the loop from now: what is pushed meanwhile goes in
        the same write. A customer's ack is pushed a turn after the message frame it
        acknowledges (by the session's own task, woken when the writer has committed), so both
        leave together. While a task sends (``_drain``), it takes what is pushed."""
        if self._flush_due or self._drainer is not None or self.loop is None:
            return
        self._flush_due = True
        if self._write_now is not None:
            self.loop.call_soon(self.loop.call_soon, self._flush)
        else:  # every send awaits: a task from the start, which lets one turn pass first
            self._drainer = self.loop.create_task(self._drain_later(), name=f"ws-send-{self.id}")

    def _flush(self) -> None:
        """Write the outbox now, in one write, where the server offers that and the socket
        takes it (:mod:`kefu.realtime.transport`); anything that has to wait — a socket that
        does not drain, a close behind the frames, a server without ``write_now`` — goes to a
        task that sends with ``await`` (``_drain``), and until it is done, everything after.
        A task per connection that waited on a queue for every frame, and the ASGI layers each
        frame went through, were a tenth of the loop at 2,000 messages a second."""
        self._flush_due = False
        if not self.outbox or self._drainer is not None or self.closed:
            return
        texts, closing = self._take()
        if self._write_now is not None and closing is None:
            try:
                if self._write_now(texts):
                    return
            except Exception:  # noqa: BLE001 - the peer went away; the receive loop ends the rest
                self.closed = True
                return
        self._drainer = self.loop.create_task(  # type: ignore[union-attr]
            self._drain(texts, closing), name=f"ws-drain-{self.id}")

    def _take(self) -> tuple[list[str], Closing | None]:
        """Empty the outbox: its frames encoded, and the close queued behind them, if any."""
        frames, self.outbox = self.outbox, []
        texts: list[str] = []
        closing = None
        for frame in frames:
            if isinstance(frame, Closing):
                closing = frame  # always the last: nothing is queued after it
                continue
            try:
                texts.append(encode_frame(frame))
            except orjson.JSONEncodeError:  # a bug, not the peer: skip the frame
                log.error("frame_not_encodable", conn=self.id, type=frame.get("type"))
        return texts, closing

    async def _drain_later(self) -> None:
        await asyncio.sleep(0)
        self._flush_due = False
        await self._drain(*self._take())

    async def _drain(self, texts: list[str], closing: Closing | None) -> None:
        """Send ``texts`` (then close, for ``closing``), then whatever was pushed meanwhile,
        awaiting each send: the transport may be paused by a slow reader."""
        try:
            while True:
                for start in range(0, len(texts), SEND_BURST):
                    await self._write(texts[start:start + SEND_BURST])
                if closing is not None:
                    await self.close(closing.code, closing.reason)
                    return
                if not self.outbox or self.closed:
                    return
                texts, closing = self._take()
        except Exception:  # noqa: BLE001 - the peer went away; the receive loop ends the rest
            self.closed = True
        finally:
            self._drainer = None

    async def _write(self, texts: list[str]) -> None:
        """Send ``texts`` in order: with one write where the server can (see
        :mod:`kefu.realtime.transport`), one frame at a time elsewhere."""
        if len(texts) > 1 and self.send_many:
            await self.websocket.send({"type": "websocket.send", "text": texts[0],
                                       SEND_MANY: texts[1:]})
            return
        for text in texts:
            await self.websocket.send_text(text)

    def push(self, frame: dict[str, Any]) -> None:
        """Queue a frame. A reader that lets the queue overflow is cut off (1008) at once, what
        was queued dropped: it can reconnect and resume from its last seq, so nothing
        acknowledged is lost."""
        if self.closed or self.closing:
            return  # what comes after the end is dropped unlogged (thousands under load)
        if len(self.outbox) >= OUTBOUND_QUEUE:
            log.warning("slow_consumer", conn=self.id)
            self._end(Close.POLICY, "slow consumer: reconnect and resume", drain=False)
            return
        self.outbox.append(frame)
        self._flush_soon()

    def close_when_sent(self, code: int, reason: str, last: dict[str, Any]) -> None:
        """Close after the frames already queued (the acks of what was accepted) and ``last``,
        the fatal error that says why; nothing after them is sent. Closing at once dropped
        them: a flooder closed with 4429 never read the errors, nor the acks of its last
        accepted messages."""
        if self.closed or self.closing:
            return
        self.push(last)  # a full queue cuts the reader off here: the end below is that one
        self._end(code, reason, drain=True)

    def _end(self, code: int, reason: str, *, drain: bool) -> None:
        """The one way the server ends a connection: from now on nothing more is queued, and
        the session reads no more frames. ``drain``: the sender closes once it has sent what
        was queued until now, or after :data:`CLOSE_AFTER_S` for a reader that does not take
        it; without (a slow consumer), or when the queue has no room left for the close, it
        closes at once and what was queued is dropped."""
        if self.closing:
            return
        self.closing = True
        loop = asyncio.get_running_loop()
        if drain and len(self.outbox) < OUTBOUND_QUEUE:
            self.outbox.append(Closing(code, reason))
            self._flush_soon()
        else:
            self.outbox = []  # dropped: it resumes from its last seq
            loop.create_task(self.close(code, reason))
            return

        def deadline() -> None:
            if not self.closed:
                loop.create_task(self.close(code, reason))

        loop.call_later(CLOSE_AFTER_S, deadline)

    async def close(self, code: int, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        with contextlib.suppress(Exception):
            if self.websocket.application_state != WebSocketState.DISCONNECTED:
                await self.websocket.close(code, reason[:120])

    async def finish(self) -> None:
        """Stop sending (after the queued frames, briefly) and leave every topic."""
        self.hub.detach_all(self)
        if self._viewing_refresh is not None:
            self._viewing_refresh.cancel()
            self._viewing_refresh = None
        self.closing = True  # nothing more is queued
        if self.loop is None:
            return
        if self.outbox and self._drainer is None and not self.closed:
            self._drainer = self.loop.create_task(self._drain(*self._take()))
        if self._drainer is not None:
            drainer = self._drainer
            try:
                await asyncio.wait_for(drainer, timeout=2)
            except (TimeoutError, asyncio.CancelledError):
                drainer.cancel()

    # ------------------------------------------------------------ following tickets

    async def follow(self, ticket_id: uuid.UUID, number: str, since: int) -> int:
        """Replay messages after ``since`` from the database, then go live. Returns the last
        seq sent. Events arriving during the replay are held and sent after it, in order."""
        state = Follow(ticket_id=ticket_id, number=number, last_seq=since)
        self.follows[ticket_id] = state
        self.hub.attach(f"ticket:{ticket_id}", self)
        if self.is_agent and self._viewing_refresh is None:
            self._refresh_viewing_later()
        await self._catch_up(state)
        return state.last_seq

    def _refresh_viewing_later(self) -> None:
        self._viewing_refresh = asyncio.get_running_loop().call_later(
            self.hub.viewing_refresh_s, self._refresh_viewing)

    def _refresh_viewing(self) -> None:
        """Every :attr:`Hub.viewing_refresh_s` while an agent's connection follows tickets:
        it announces them again (one timer per connection, one task for all its tickets), so
        the consoles, which drop a viewer after the frame's ``ttl_s``, keep showing it. A
        ``state: false`` that never came (a process killed, Redis away) thus heals by itself."""
        self._viewing_refresh = None
        if self.closed or self.closing or not self.follows:
            return  # the next follow starts it again
        self.hub.refresh_viewing([self], reply=True)
        self._refresh_viewing_later()

    def unfollow(self, ticket_id: uuid.UUID) -> None:
        self.follows.pop(ticket_id, None)
        self.hub.detach(f"ticket:{ticket_id}", self)

    async def _catch_up(self, state: Follow) -> None:
        state.replaying = True
        try:
            for _attempt in range(5):
                for frame in await self.fetch(state.ticket_id, state.last_seq):
                    self._emit_message(state, frame)
                held, state.held = state.held, []
                pending = sorted((f for f in held if f["seq"] > state.last_seq),
                                 key=lambda f: f["seq"])
                if pending and pending[0]["seq"] != state.last_seq + 1:
                    continue  # still a gap: read the database again
                for frame in pending:
                    if frame["seq"] == state.last_seq + 1:
                        self._emit_message(state, frame)
                if not state.held:
                    return
            # The database cannot fill the gap (should not happen): keep order, move on.
            for frame in sorted(state.held, key=lambda f: f["seq"]):
                self._emit_message(state, frame)
            state.held = []
        finally:
            state.replaying = False

    def _emit_message(self, state: Follow, frame: dict[str, Any]) -> None:
        if frame["seq"] <= state.last_seq:
            return
        state.last_seq = frame["seq"]
        self.push(frame)

    # ------------------------------------------------------------ events from the broker

    def deliver(self, topic: str, event: dict[str, Any], gathered: int = 0) -> None:
        """``gathered``: for an inbox change, how many of the customer's messages the hub had
        gathered for the ticket's row (see :meth:`Hub.dispatch`); the row stands for them too."""
        if topic == INBOX:
            if not self.is_agent:
                return
            if self._may_read(event.get("_team_id"), event.get("_assignee_id")):
                self._sent_whole(event["ticket"]["number"], event.get("_row"))
                self.push(_counted(_public(event), gathered))
            elif event.get("_was") and self._may_read(*event["_was"]):
                self._lost_access(event["ticket"]["number"])
            return
        kind = event.get("type")
        if topic.startswith("agent:") or topic == "agents":
            if kind == "signed_out":
                self._signed_out(event)
            elif self.is_agent:
                self.push(_public(event))
            return
        ticket_id = topic_ticket(topic)
        state = self.follows.get(ticket_id)
        if state is None:
            return
        if kind == "message":
            frame = self._message_view(event)
            if frame is None:
                return
            if state.replaying:
                state.held.append(frame)
            elif frame["seq"] == state.last_seq + 1:
                self._emit_message(state, frame)
            elif frame["seq"] > state.last_seq + 1:
                state.held.append(frame)
                state.replaying = True
                asyncio.get_running_loop().create_task(self._catch_up(state))
            return
        if self.is_agent:
            if kind == "ticket" and not self._may_read(event["state"].get("team_id"),
                                                       event["state"].get("assignee_id")):
                # Transferred away from the agent's teams: the feed ends with the access.
                self.unfollow(ticket_id)
                self.push({"type": "unsubscribed", "ticket": state.number, "reason": "no_access"})
                return
            if event.get("_conn") != self.id:
                self.push(_public(event))
                if kind == "viewing" and event.get("state") and not event.get("reply") \
                        and event.get("agent", {}).get("id") != str(self.actor.agent.id):  # type: ignore[union-attr]
                    self.hub.announce_viewing(self, state.number, ticket_id, reply=True)
            return
        # Customers: what the other side does, never internal activity or who views.
        if kind == "typing" and not event.get("internal") and event.get("_conn") != self.id:
            self.push(_public({**event, "who": {"kind": event["who"]["kind"],
                                                "name": event["who"]["name"]}}))
        elif kind == "read" and event.get("by", {}).get("kind") == "agent":
            if event.get("_public_seq"):  # the customer's numbering: no internal notes
                self.push({**_public(event), "seq": event["_public_seq"]})
        elif kind == "ticket":
            # pending_reason: whether support waits for the customer's reply (the portal says
            # so too); priority, team and assignee stay support's own.
            state_view = {k: event["state"][k] for k in ("number", "status", "pending_reason")}
            self.push({"type": "ticket", "ticket": event["ticket"], "change": event["change"],
                       "state": state_view})

    def _signed_out(self, event: dict[str, Any]) -> None:
        """The session or API token this connection was opened with was signed out or revoked:
        close at once (the agent's other connections stay)."""
        actor = self.actor
        if (event.get("session_id") is not None
                and event["session_id"] == str(actor.session_id)) or (
                event.get("token_id") is not None and event["token_id"] == str(actor.token_id)):
            self.close_when_sent(Close.UNAUTHORIZED, "signed out", SIGNED_OUT)

    def _lost_access(self, number: str) -> None:
        """A ticket this agent could read was moved where they cannot (another team, another
        agent): its row goes, and nothing else about it."""
        self._rows_sent.pop(number, None)
        self.push({"type": "inbox", "change": "removed", "ticket": {"number": number}})

    def send_moved(self, moved: list[Moved]) -> None:
        """The rows the hub gathered (:meth:`Hub.dispatch`) that this agent may read, as one
        frame. A row this connection has already sent whole, unchanged but for what a message
        changes, goes as those fields only (``partial``): the console merges them into the row
        it has. At 1,000 chats and 20 agents the whole rows were 90 % of the bytes sent."""
        if not self.is_agent or self.closed or self.closing:
            return
        may_read, sent = self._may_read, self._rows_sent
        rows = []
        for number, team_id, assignee_id, row, partial, whole in moved:
            if not may_read(team_id, assignee_id):
                continue
            if row is not None and sent.get(number) == row:
                rows.append(partial)
            else:
                self._sent_whole(number, row)
                rows.append(whole)
        if len(rows) == 1:
            self.push({"type": "inbox", "change": "message", "ticket": rows[0]})
        elif rows:
            self.push({"type": "inbox", "change": "message", "tickets": rows})

    def _sent_whole(self, number: str, row: str | None) -> None:
        """Note that a ticket's whole inbox row goes out now, with its fingerprint ``row``."""
        if row is None:  # an event without the fingerprint: always whole
            self._rows_sent.pop(number, None)
            return
        if len(self._rows_sent) >= ROWS_REMEMBERED:
            self._rows_sent.clear()  # rows go whole again, once each
        self._rows_sent[number] = row

    def _message_view(self, event: dict[str, Any]) -> dict[str, Any] | None:
        frame = _public(event)
        if self.is_agent:
            return frame
        if frame.get("internal"):
            return None
        frame["seq"] = frame.pop("public_seq")
        frame["author"] = {k: v for k, v in frame["author"].items() if k != "agent_id"}
        frame.pop("internal", None)
        if self.anti_phishing_code and frame["author"]["kind"] != "customer":
            frame["anti_phishing_code"] = self.anti_phishing_code
        return frame

    def _may_read(self, team_id: str | None, assignee_id: str | None) -> bool:
        """``tickets.service.may_read`` for an agent, on a ticket's team and assignee as the
        strings events carry. Every inbox event asks this of every agent connection, so what
        it needs of the actor is worked out once per actor (the connection gets a new one when
        its agent's role or teams change): parsing a UUID, or reading the agent's role, per
        event and agent was a visible share of the loop."""
        reads = self._reads
        if reads is None or reads[0] is not self.actor:
            reads = self._reads = self._reads_of(self.actor)
        _, everything, teams, me = reads
        return everything or team_id in teams or assignee_id == me

    @staticmethod
    def _reads_of(actor: Actor) -> tuple[Actor, bool, frozenset[str], str]:
        agent = actor.agent
        assert agent is not None
        return (actor, actor.is_supervisor, frozenset(str(t) for t in actor.team_ids),
                str(agent.id))


# Inbox rows a connection remembers having sent whole; console.js keeps as many rows it received
# (Socket.rowsKept), so a partial row always finds the row it completes.
ROWS_REMEMBERED = 20_000


class Moved(NamedTuple):
    """An inbox row that new messages moved, as the hub hands it to each agent connection."""

    number: str
    team_id: str | None
    assignee_id: str | None
    row: str | None  # the fingerprint of the rest of the row (``_row``)
    partial: dict[str, Any]  # what a message changes, for a console that has the rest
    whole: dict[str, Any]


def _public(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if not k.startswith("_")}


def _counted_row(row: dict[str, Any], count: int) -> dict[str, Any]:
    """An inbox row that stands for more than one new message of the customer says how many
    (``customer_messages``; a console counts one when it is absent). Rows are shared by every
    agent's connection, so the count goes on a copy, and only then (it is rare)."""
    return {**row, "customer_messages": count} if count > 1 else row


def _counted(frame: dict[str, Any], count: int) -> dict[str, Any]:
    """:func:`_counted_row` for a frame with one ``ticket`` (a change that flushed the row
    gathered for its ticket)."""
    return {**frame, "ticket": _counted_row(frame["ticket"], count)} if count > 1 else frame


class Hub:
    def __init__(self, send_budget: SharedSendBudget | None = None, *,
                 viewing_refresh_s: float = VIEWING_REFRESH_S,
                 viewing_ttl_s: float = VIEWING_TTL_S) -> None:
        self.send_budget = send_budget  # cluster mode: a person's sends across processes
        self.viewing_refresh_s, self.viewing_ttl_s = viewing_refresh_s, viewing_ttl_s
        # Run after the connections were told to resync (the supervisor feed sends whole
        # frames again).
        self.resync_hooks: list[Callable[[], None]] = []
        self.topics: dict[str, set[Connection]] = defaultdict(set)
        self.connections: set[Connection] = set()
        self.publish: Callable[[str, dict[str, Any]], Coroutine[Any, Any, None]] | None = None
        self._buckets: dict[str, TokenBucket] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Inbox rows moved by new messages, gathered for every agent connection at once (see
        # dispatch): ticket number → the newest event, and the customer messages it stands for.
        self._moved: dict[str, dict[str, Any]] = {}
        self._moved_counts: dict[str, int] = {}
        self._moved_flush: asyncio.TimerHandle | None = None

    def take_send(self, actor: Actor, cost: int = 1) -> float | None:
        """Take a ``send`` of ``cost`` tokens (``protocol.send_cost``) from the person's budget
        in this process: None when allowed, else the seconds until it would be. In cluster mode
        a send allowed here must also pass :meth:`take_shared_send`; what this bucket refuses,
        the shared one would refuse too (it has taken at least as much), so a flood costs no
        round trip."""
        bucket = self.customer_bucket(actor)
        return None if bucket.take(cost) else bucket.retry_after(cost)

    async def take_shared_send(self, actor: Actor, cost: int = 1) -> float | None:
        """Cluster mode, after :meth:`take_send` allowed the send: the budget the processes
        share (``send_budget``, Redis) decides; a send it refuses gives this process's tokens
        back."""
        assert self.send_budget is not None
        wait = await self.send_budget.take(actor.label, *CUSTOMER_RATE, amount=cost)
        if wait is None:
            return None
        bucket = self.customer_bucket(actor)
        bucket.tokens = min(bucket.burst, bucket.tokens + cost)
        return retry_after_s(wait)

    def customer_bucket(self, actor: Actor) -> TokenBucket:
        """One message budget per person across all their connections in this process."""
        key = actor.label
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 100_000:
                self._buckets.clear()
            bucket = self._buckets[key] = TokenBucket(*CUSTOMER_RATE)
        return bucket

    def register(self, connection: Connection) -> None:
        self.connections.add(connection)

    def attach(self, topic: str, connection: Connection) -> None:
        self.topics[topic].add(connection)

    def detach(self, topic: str, connection: Connection) -> None:
        followers = self.topics.get(topic)
        if followers is not None:
            followers.discard(connection)
            if not followers:
                del self.topics[topic]

    def detach_all(self, connection: Connection) -> None:
        self.connections.discard(connection)
        for topic in [t for t, c in self.topics.items() if connection in c]:
            self.detach(topic, connection)

    def dispatch(self, topic: str, event: dict[str, Any]) -> None:
        """Give ``event`` to the connections that follow ``topic``.

        Inbox rows that new messages moved are gathered here for :data:`INBOX_COALESCE_S` and
        go to every agent connection as one frame with the newest state of each row
        (:meth:`Connection.send_moved`): one frame per message per agent was most of the
        server's work at chat rates, and handing each message's row to every agent connection
        on its own to gather was still a tenth of the loop at 20 agents. Any other inbox change
        goes at once, and replaces what was gathered for its ticket (it carries the newer
        state); other tickets' rows keep waiting — flushing them all with every status change
        sent most rows many times a second."""
        gathered = 0
        if topic == INBOX:
            number = event["ticket"]["number"]
            if event.get("change") == "message":
                self._moved[number] = event
                if count := event.get("_customer_messages"):
                    self._moved_counts[number] = self._moved_counts.get(number, 0) + count
                if self._moved_flush is None:
                    self._moved_flush = asyncio.get_running_loop().call_later(
                        INBOX_COALESCE_S, self._send_moved)
                return
            self._moved.pop(number, None)
            gathered = self._moved_counts.pop(number, 0)
        for connection in list(self.topics.get(topic, ())):
            try:
                connection.deliver(topic, event, gathered)
            except Exception:  # noqa: BLE001 - one bad connection must not stop the others
                log.exception("deliver_failed", conn=connection.id)

    def _send_moved(self) -> None:
        self._moved_flush = None
        events, self._moved = self._moved, {}
        counts, self._moved_counts = self._moved_counts, {}
        moved = [Moved(number, event.get("_team_id"), event.get("_assignee_id"),
                       event.get("_row"),
                       _counted_row(event.get("_moved") or event["ticket"], count),
                       _counted_row(event["ticket"], count))
                 for number, event in events.items() for count in (counts.get(number, 0),)]
        for connection in list(self.topics.get(INBOX, ())):
            try:
                connection.send_moved(moved)
            except Exception:  # noqa: BLE001 - one bad connection must not stop the others
                log.exception("deliver_failed", conn=connection.id)

    def announce_viewing(self, connection: Connection, number: str, ticket_id: uuid.UUID, *,
                         reply: bool = False, state: bool = True) -> None:
        """Tell the ticket's other viewers that this connection's agent views it (``state``)
        or left. ``reply``: an answer to another's announcement, or a refresh, which nobody
        answers (a new viewer's announcement makes the others announce themselves)."""
        event = self._viewing_event(connection, number, reply=reply, state=state)
        if event is not None:
            self._spawn(self._publish_quietly(f"ticket:{ticket_id}", event))

    def refresh_viewing(self, connections: list[Connection], *, reply: bool) -> None:
        """Announce again every ticket these connections follow, in one task."""
        if self.publish is not None and connections:
            self._spawn(self._announce_followed(connections, reply=reply))

    async def _announce_followed(self, connections: list[Connection], *, reply: bool) -> None:
        for connection in connections:
            for state in list(connection.follows.values()):
                if connection.closed or connection.closing \
                        or state.ticket_id not in connection.follows:
                    continue  # left meanwhile: its state false is out
                event = self._viewing_event(connection, state.number, reply=reply)
                if event is not None:
                    await self._publish_quietly(f"ticket:{state.ticket_id}", event)

    def _viewing_event(self, connection: Connection, number: str, *, reply: bool,
                       state: bool = True) -> dict[str, Any] | None:
        agent = connection.actor.agent
        if agent is None or self.publish is None:
            return None
        event: dict[str, Any] = {
            "type": "viewing", "ticket": number, "state": state, "reply": reply,
            "agent": {"id": str(agent.id), "name": agent.display_name}, "_conn": connection.id}
        if state:
            event["ttl_s"] = self.viewing_ttl_s
        return event

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(self._tasks.discard)

    async def _publish_quietly(self, topic: str, event: dict[str, Any]) -> None:
        assert self.publish is not None
        try:
            await self.publish(topic, event)
        except Exception as exc:  # noqa: BLE001 - presence is best effort
            log.warning("publish_failed", topic=topic, error=type(exc).__name__)

    def resync(self) -> None:
        """After the broker was away: events of the gap are lost, so every followed ticket is
        read again from the database (connections send only what they have not sent yet),
        agents' consoles are told to fetch what else they show (``resync``), and what agents
        view is announced again, as by a new viewer (the others answer: both sides may have
        missed announcements)."""
        connections = list(self.connections)
        for connection in connections:
            if connection.is_agent:
                connection.push(RESYNC)
            for state in list(connection.follows.values()):
                if state.replaying:
                    continue  # a catch-up is running and reads the database anyway
                state.replaying = True
                self._spawn(connection._catch_up(state))
        self.refresh_viewing([c for c in connections if c.is_agent and c.follows], reply=False)
        for hook in self.resync_hooks:
            hook()

    async def close_all(self, code: int, reason: str) -> None:
        if self._moved_flush is not None:
            self._moved_flush.cancel()
            self._moved_flush = None
        for connection in list(self.connections):
            await connection.close(code, reason)
