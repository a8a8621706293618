"""A reader that never drains is cut off (1008) while everyone else carries on.

Kernel socket buffers on loopback absorb tens of megabytes, so a real stalled socket takes long
to fill; here the connection's websocket is one whose sends never complete, which is exactly
what the server sees of a reader that stopped reading. Resuming without loss after such a cut is
proved over real sockets in test_chat_protocol.py."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from starlette.websockets import WebSocketState
from structlog.testing import capture_logs

from kefu.accounts.actor import Actor
from kefu.realtime import hub as hub_module
from kefu.realtime.hub import Connection, Hub


class StuckSocket:
    """Accepts one frame, then every send hangs, like a peer whose window is closed."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed_with: int | None = None
        self.application_state = WebSocketState.CONNECTED
        self.never = asyncio.Event()

    async def send_text(self, text: str) -> None:
        if self.sent:
            await self.never.wait()
        self.sent.append(text)

    async def close(self, code: int, reason: str = "") -> None:
        self.closed_with = code


class OpenSocket(StuckSocket):
    async def send_text(self, text: str) -> None:
        self.sent.append(text)


async def no_history(ticket_id: uuid.UUID, after: int) -> list[dict[str, Any]]:
    return []


async def test_overflowing_reader_is_closed_1008_and_others_carry_on(monkeypatch):
    monkeypatch.setattr(hub_module, "OUTBOUND_QUEUE", 20)
    hub = Hub()
    actor = Actor(kind="visitor", visitor_id="v_test")
    stuck_socket, open_socket = StuckSocket(), OpenSocket()
    stuck = Connection(stuck_socket, actor, hub, no_history)  # type: ignore[arg-type]
    healthy = Connection(open_socket, actor, hub, no_history)  # type: ignore[arg-type]
    ticket_id = uuid.uuid4()
    for connection in (stuck, healthy):
        hub.register(connection)
        connection.start()
        await connection.follow(ticket_id, "KF-TEST22", 0)
    with capture_logs() as logs:
        for seq in range(1, 101):
            hub.dispatch(f"ticket:{ticket_id}", {
                "type": "message", "ticket": "KF-TEST22", "seq": seq, "public_seq": seq,
                "internal": False, "author": {"kind": "agent", "name": "Li", "agent_id": None},
                "body": f"m{seq}"})
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)
    # said once, not once per frame dropped until the close (thousands under load)
    assert [e["event"] for e in logs].count("slow_consumer") == 1
    assert stuck_socket.closed_with == 1008
    assert stuck.closed
    assert len(open_socket.sent) == 100
    assert not healthy.closed
    stuck_socket.never.set()
    await stuck.finish()
    await healthy.finish()
    assert stuck not in hub.connections


async def test_resync_after_a_broker_gap_delivers_what_was_missed():
    """Events published while Redis was away never arrive; when the broker is back the hub
    re-reads every followed ticket, so the reader still gets them, once and in order."""
    hub = Hub()
    ticket_id = uuid.uuid4()
    stored: list[dict[str, Any]] = []

    async def history(_: uuid.UUID, after: int) -> list[dict[str, Any]]:
        return [m for m in stored if m["seq"] > after]

    socket = OpenSocket()
    reader = Connection(socket, Actor(kind="visitor", visitor_id="v_x"), hub, history)  # type: ignore[arg-type]
    hub.register(reader)
    reader.start()
    await reader.follow(ticket_id, "KF-TEST22", 0)
    for seq in (1, 2):  # committed while the broker was down: no live event came
        stored.append({"type": "message", "ticket": "KF-TEST22", "seq": seq, "body": f"m{seq}"})
    hub.resync()
    await asyncio.sleep(0.05)
    hub.resync()  # a second resync sends nothing twice
    await asyncio.sleep(0.05)
    assert len(socket.sent) == 2
    assert all(f'"seq":{n}' in text for n, text in zip((1, 2), socket.sent, strict=True))
    await reader.finish()


async def test_a_fatal_close_that_fills_the_queue_still_closes(monkeypatch):
    """The fatal error took the queue's last slot, leaving no room for the close behind it:
    the connection closes at once (it is a reader that does not read), it does not stay open
    with nothing queued to end it."""
    monkeypatch.setattr(hub_module, "OUTBOUND_QUEUE", 5)
    socket = StuckSocket()
    reader = Connection(socket, Actor(kind="visitor", visitor_id="v_x"), Hub(),  # type: ignore[arg-type]
                        no_history)
    for n in range(4):
        reader.push({"type": "pong", "t": n})
    reader.close_when_sent(4429, "rate limit exceeded",
                           {"type": "error", "code": "rate_limited", "fatal": True})
    await asyncio.sleep(0.05)
    assert socket.closed_with == 4429
    assert reader.closed
