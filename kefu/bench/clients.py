"""The load generator's side of ``kefu bench chat``: websocket clients that speak the chat
protocol (customers, agents) or talk to ``/ws/echo``, pace themselves under the server's rate
limits, and time what comes back: send → ack, send → the other side's ``message`` frame."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import enable_client_permessage_deflate
from websockets.frames import CONT, TEXT, Frame
from websockets.http11 import Response
from websockets.uri import parse_uri

# Client-side pacing, under the server's per-connection limit (protocol.CONNECTION_RATE, 10/s
# with a burst of 30): a refused frame gets an error without a reference to the message, so a
# closed-loop client that hit the limit would wait for an ack that never comes.
CLIENT_RATE = (9.0, 25.0)
RESUBSCRIBE_AFTER_S = 10.0  # unconfirmed subscriptions are sent again after this pause
# What customers write, in turn: more kinds than a sender's recent-message window (the abuse
# checks' 10), so that a benchmark customer is not taken for someone sending the same thing
# again and again and put in a cool-down, as one line repeated at 2/s would be.
BODIES = (
    "Deposit of 0.5 BTC not credited after 3 confirmations, txid 9f2c41ab… (#{n})",
    "My USDT withdrawal on TRC20 has been pending for two hours, can you check? (#{n})",
    "提币一直显示审核中，已经过了一个小时了，请帮忙看看 (#{n})",
    "I sent ETH on the wrong network (BEP20 instead of ERC20), is it lost? (#{n})",
    "Forgot to add the memo for my XRP deposit of 120 XRP (#{n})",
    "充值的USDT还没到账，链上已经确认了 (#{n})",
    "How do I reset Google Authenticator after changing my phone? (#{n})",
    "The P2P seller marked the order paid but I never received the money (#{n})",
    "Why was my identity verification rejected? The photo was clear (#{n})",
    "What are the withdrawal fees for BTC and for USDT on ERC20? (#{n})",
    "我的账户被冻结了，怎么解冻 (#{n})",
    "API returns error 10001 invalid signature on every private request (#{n})",
    "My futures position was liquidated although the mark price never got there (#{n})",
    "When is the funding fee charged on perpetual contracts? (#{n})",
    "How long does it take to redeem flexible savings? (#{n})",
    "理财产品提前赎回会损失收益吗 (#{n})",
)


def body_for(index: int, n: int) -> str:
    return BODIES[(index + n) % len(BODIES)].format(n=n)

ECHO_PREFIX = '{"type":"send","client_msg_id":"'


# ---------------------------------------------------------------- measurements


def percentiles(values: list[float]) -> dict[str, float | int]:
    """p50/p95/p99/max in milliseconds, and how many."""
    if not values:
        return {"n": 0, "p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"n": len(ordered), "p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99),
            "max_ms": round(ordered[-1] * 1000, 2)}


class Bucket:
    """Client-side token bucket: waits instead of being refused."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.at = time.monotonic()

    async def take(self) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep((1 - self.tokens) / self.rate)


@dataclass
class Phase:
    """What one scenario sent and what came back. Latency is recorded for the sends inside the
    measured window, each of which must come back acknowledged and delivered; throughput counts
    every ack of the scenario that arrives inside the window (also those of earlier sends,
    which matters when acks take longer than the warm-up)."""

    name: str
    sent: dict[str, float] = field(default_factory=dict)  # client_msg_id → send time
    issued: set[str] = field(default_factory=set)  # every send of the scenario
    ack_latency: dict[str, float] = field(default_factory=dict)
    delivery_latency: dict[str, float] = field(default_factory=dict)
    acks_in_window: int = 0
    window: tuple[float, float] = (0.0, 0.0)

    def measuring(self, now: float) -> bool:
        return self.window[0] <= now <= self.window[1]

    def outstanding(self, delivered: bool) -> int:
        done = self.delivery_latency if delivered else self.ack_latency
        return sum(1 for cid in self.sent if cid not in done)


class Traffic:
    """Routes what every connection receives to the running phase."""

    def __init__(self) -> None:
        self.phase = Phase("setup")
        self.waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.frames: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.closed: Counter[int] = Counter()

    def record_send(self, cid: str, now: float) -> None:
        self.phase.issued.add(cid)
        if self.phase.measuring(now):
            self.phase.sent[cid] = now

    def on_ack(self, cid: str, frame: dict[str, Any], now: float) -> None:
        waiter = self.waiters.pop(cid, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(frame)
        if self.phase.measuring(now) and cid in self.phase.issued:
            self.phase.acks_in_window += 1
        sent = self.phase.sent.get(cid)
        if sent is not None:
            self.phase.ack_latency[cid] = now - sent

    def on_delivery(self, cid: str, now: float) -> None:
        sent = self.phase.sent.get(cid)
        if sent is not None and cid not in self.phase.delivery_latency:
            self.phase.delivery_latency[cid] = now - sent

    def expect(self, cid: str) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiters[cid] = future
        return future


# ---------------------------------------------------------------- client connections


class Socket(asyncio.Protocol):
    """A client websocket that hands each text message to a callback as its bytes arrive,
    stamped with the time they did. The load generator shares the machine with the server, so
    what it spends per frame is taken from the server, and a frame that waits in the client
    for a reader task is counted as the server's latency. websockets' own asyncio client gives
    each frame to a reader task through a queue (about half of this client's CPU went there);
    this drives the same library's sans-I/O protocol from the transport's callbacks."""

    def __init__(self, protocol: ClientProtocol) -> None:
        self.protocol = protocol
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._on_text: Callable[[str, float], None] | None = None
        self._early: list[tuple[str, float]] = []  # before anyone listens
        self._fragments: list[bytes] = []
        self._writable = asyncio.Event()
        self._writable.set()

    @property
    def close_code(self) -> int | None:
        return self.protocol.close_code

    def listen(self, on_text: Callable[[str, float], None]) -> asyncio.Future[None]:
        """Call ``on_text(message, arrived_at)`` for every text message, those already here
        first; the future is done when the connection is."""
        self._on_text = on_text
        early, self._early = self._early, []
        for text, at in early:
            on_text(text, at)
        return self.closed

    async def send(self, text: str | bytes) -> None:
        """Send a text message (``bytes``: already UTF-8)."""
        if not self._writable.is_set():  # the server does not read: wait, as a client must
            await self._writable.wait()
        try:
            self.protocol.send_text(text.encode() if isinstance(text, str) else text)
        except Exception as exc:  # InvalidState: closing or closed
            raise self.protocol.close_exc from exc
        self._write()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.protocol.send_request(self.protocol.connect())
        self._write()

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.protocol.receive_data(data)
        self._events(now)

    def eof_received(self) -> bool | None:
        self.protocol.receive_eof()
        self._events(time.perf_counter())
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.protocol.receive_eof()  # closed: the close code is known now (1006 without one)
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)
        self._writable.set()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def _events(self, now: float) -> None:
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                if self.protocol.handshake_exc is not None:
                    self.opened.set_exception(self.protocol.handshake_exc)
                elif not self.opened.done():
                    self.opened.set_result(None)
            elif isinstance(event, Frame) and (event.opcode is TEXT or event.opcode is CONT):
                data = bytes(event.data)
                if not event.fin:
                    self._fragments.append(data)
                    continue
                if self._fragments:
                    data = b"".join([*self._fragments, data])
                    self._fragments = []
                text = data.decode()
                if self._on_text is None:
                    self._early.append((text, now))
                else:
                    self._on_text(text, now)
        self._write()  # pongs, the answer to a close
        if self.protocol.close_expected() and self.transport is not None:
            self.transport.close()

    def _write(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        for chunk in self.protocol.data_to_send():
            if chunk:
                transport.write(chunk)
            elif transport.can_write_eof():
                transport.write_eof()


async def connect_websocket(url: str, compression: bool) -> Socket:
    uri = parse_uri(url)
    protocol = ClientProtocol(uri, max_size=2**22, extensions=enable_client_permessage_deflate(
        None) if compression else None)
    loop = asyncio.get_running_loop()
    _, socket = await loop.create_connection(lambda: Socket(protocol), uri.host, uri.port)
    try:
        await asyncio.wait_for(asyncio.shield(socket.opened), 60)
    except BaseException:
        if socket.transport is not None:
            socket.transport.abort()
        raise
    return socket


class Link:
    """One websocket and the task that reads it."""

    kind = "link"

    def __init__(self, ws: Any, traffic: Traffic, index: int) -> None:
        self.ws = ws
        self.traffic = traffic
        self.index = index
        self.bucket = Bucket(*CLIENT_RATE)
        self.welcome: asyncio.Future[dict[str, Any]] = \
            asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self._read())
        self.sent = 0
        # Bodies written so far, over every scenario: each scenario goes on with the rotation
        # instead of starting it again, so no customer sends a text they sent minutes ago (the
        # abuse screen counts repeats, and a repeated text takes the slow path, as it should).
        self.said = 0

    async def _read(self) -> None:
        try:
            await self.ws.listen(self.on_frame)
        finally:
            code = self.ws.close_code
            self.traffic.closed[code if code is not None else 1006] += 1
            if not self.welcome.done():
                self.welcome.set_exception(ConnectionError(f"closed {code}"))
                self.welcome.exception()  # whoever waits still gets it; nobody else must

    def next_body(self) -> str:
        self.said += 1
        return body_for(self.index, self.said - 1)

    def on_frame(self, raw: str, now: float) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def common(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type", "?")
        self.traffic.frames[kind] += 1
        if kind == "welcome" and not self.welcome.done():
            self.welcome.set_result(frame)
        elif kind == "error":
            self.traffic.errors[str(frame.get("code"))] += 1
            ref = frame.get("ref")
            waiter = self.traffic.waiters.pop(ref, None) if ref else None
            if waiter is not None and not waiter.done():
                waiter.set_exception(RuntimeError(f"refused: {frame.get('code')}"))

    async def send(self, frame: dict[str, Any]) -> None:
        await self.bucket.take()
        await self.ws.send(orjson.dumps(frame))

    def abort(self) -> None:
        self.reader.cancel()
        transport = getattr(self.ws, "transport", None)
        if transport is not None:
            transport.abort()


class Customer(Link):
    kind = "customer"
    ticket = ""

    def on_frame(self, raw: str, now: float) -> None:
        if raw.startswith('{"type":"queue"'):
            self.traffic.frames["queue"] += 1
            return
        frame = orjson.loads(raw)
        kind = frame.get("type")
        if kind == "ack":
            self.traffic.frames["ack"] += 1
            self.traffic.on_ack(frame["client_msg_id"], frame, now)
        elif kind == "message":
            self.traffic.frames["message"] += 1
            cid = frame.get("client_msg_id") or ""
            if cid.startswith("a"):
                self.traffic.on_delivery(cid, now)
        else:
            self.common(frame)

    async def say(self, n: int, tag: str, *, ticket: str | None = None) -> str:
        cid = f"c{tag}-{self.index}-{n}"
        frame: dict[str, Any] = {"type": "send", "client_msg_id": cid,
                                 "body": self.next_body()}
        if ticket:
            frame["ticket"] = ticket
        await self.bucket.take()
        self.traffic.record_send(cid, time.perf_counter())
        await self.ws.send(orjson.dumps(frame))
        self.sent += 1
        return cid


class Agent(Link):
    kind = "agent"

    def __init__(self, ws: Any, traffic: Traffic, index: int) -> None:
        super().__init__(ws, traffic, index)
        self.tickets: list[str] = []
        self.confirmed: set[str] = set()
        self.all_subscribed = asyncio.Event()

    async def subscribe_all(self, timeout_s: float) -> None:
        """Subscribe to every ticket in ``tickets``. A subscribe the server refused (its rate
        limit counts frames as it reads them, so frames paced by the client can still arrive
        bunched behind a busy server) carries no reference, so what is unconfirmed after a
        pause is sent again, until ``timeout_s`` (TimeoutError)."""
        deadline = time.monotonic() + timeout_s
        while True:
            for number in [t for t in self.tickets if t not in self.confirmed]:
                await self.send({"type": "subscribe", "ticket": number, "since": 0})
            try:
                await asyncio.wait_for(self.all_subscribed.wait(), min(
                    RESUBSCRIBE_AFTER_S, max(0.0, deadline - time.monotonic())))
                return
            except TimeoutError:
                if time.monotonic() >= deadline:
                    raise

    def on_frame(self, raw: str, now: float) -> None:
        if raw.startswith('{"type":"inbox"'):
            self.traffic.frames["inbox"] += 1
            return
        if raw.startswith('{"type":"viewing"') or raw.startswith('{"type":"agent_status"'):
            self.traffic.frames["presence"] += 1
            return
        frame = orjson.loads(raw)
        kind = frame.get("type")
        if kind == "message":
            self.traffic.frames["message"] += 1
            cid = frame.get("client_msg_id") or ""
            if cid.startswith("c"):
                self.traffic.on_delivery(cid, now)
        elif kind == "ack":
            self.traffic.frames["ack"] += 1
            self.traffic.on_ack(frame["client_msg_id"], frame, now)
        elif kind == "subscribed":
            self.confirmed.add((frame.get("ticket") or {}).get("number") or "")
            if self.confirmed.issuperset(self.tickets):
                self.all_subscribed.set()
        else:
            self.common(frame)

    async def answer(self, n: int, tag: str) -> str:
        ticket = self.tickets[n % len(self.tickets)]
        cid = f"a{tag}-{self.index}-{n}"
        await self.bucket.take()
        self.traffic.record_send(cid, time.perf_counter())
        await self.ws.send(orjson.dumps({"type": "send", "ticket": ticket, "client_msg_id": cid,
                                         "body": f"Checking it now, please wait ({n})."}))
        self.sent += 1
        return cid


class Echo(Link):
    kind = "echo"

    def on_frame(self, raw: str, now: float) -> None:
        end = raw.find('"', len(ECHO_PREFIX))
        cid = raw[len(ECHO_PREFIX):end]
        self.traffic.frames["echo"] += 1
        self.traffic.on_ack(cid, {}, now)
        self.traffic.on_delivery(cid, now)

    async def say(self, n: int, tag: str) -> str:
        cid = f"e{tag}-{self.index}-{n}"
        # The same shape and size as a chat send, so both carry the same bytes.
        body = orjson.dumps(self.next_body()).decode()
        raw = f'{ECHO_PREFIX}{cid}","body":{body}}}'
        self.traffic.record_send(cid, time.perf_counter())
        await self.ws.send(raw)
        self.sent += 1
        return cid


async def gather_limited(factories: list[Callable[[], Awaitable[Any]]],
                         limit: int = 50) -> list[Any]:
    semaphore = asyncio.Semaphore(limit)

    async def one(factory: Callable[[], Awaitable[Any]]) -> Any:
        async with semaphore:
            return await factory()

    return await asyncio.gather(*(one(f) for f in factories))
