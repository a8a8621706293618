"""Frames that queue up for one connection leave in one socket write (kefu.realtime.transport),
in order and intact, compressed or not; a server without the extension gets them one by one;
while flow control pauses the transport, nothing is written and the frames wait, in order."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import websockets
from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from kefu.accounts.actor import Actor
from kefu.realtime.hub import SEND_BURST, Connection, Hub
from kefu.realtime.transport import WRITE_NOW, KefuWebSocketProtocol
from tests.servers import serving_in_thread

WRITES: list[int] = []  # bytes of each write to the socket, handshake included


class CountingWrites:
    """The real transport, noting each write."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        WRITES.append(len(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CountingKefu(KefuWebSocketProtocol):
    def connection_made(self, transport: Any) -> None:
        super().connection_made(CountingWrites(transport))  # type: ignore[arg-type]


class CountingPlain(WebSocketsSansIOProtocol):
    def connection_made(self, transport: Any) -> None:
        super().connection_made(CountingWrites(transport))  # type: ignore[arg-type]


async def _no_history(ticket_id: uuid.UUID, after: int) -> list[dict[str, Any]]:
    return []


def _frame(n: int) -> dict[str, Any]:
    return {"type": "pong", "n": n, "text": "充值未到账 ✓ " * (n % 7 + 1)}


Scenario = Callable[[dict[str, Any], Connection, dict[str, Any]], Awaitable[None]]


def _server(scenario: Scenario) -> Any:
    """A websocket app that runs ``scenario`` (scope, connection, what it saw) once the client
    is ready, and closes once the client has every frame."""
    def build(base: str) -> tuple[dict[str, Any], Any]:
        seen: dict[str, Any] = {"url": base.replace("http://", "ws://") + "/"}

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            websocket = WebSocket(scope, receive, send)
            await websocket.accept()
            connection = Connection(websocket, Actor(kind="visitor", visitor_id="v_t"), Hub(),
                                    _no_history)
            await websocket.receive_text()  # the client is ready
            await scenario(scope, connection, seen)
            await websocket.receive_text()  # the client has them all
            await connection.finish()
            await websocket.close()

        return seen, app

    return build


def _burst(frames: int) -> Scenario:
    async def scenario(scope: dict[str, Any], connection: Connection,
                       seen: dict[str, Any]) -> None:
        seen["send_many"] = connection.send_many
        for n in range(frames):  # queued before the connection sends: one burst
            connection.push(_frame(n))
        connection.start()

    return scenario


async def _receive(url: str, frames: int, compression: str | None) -> list[Any]:
    async with websockets.connect(url, compression=compression) as client:
        await client.send("ready")
        got = [json.loads(await asyncio.wait_for(client.recv(), 10)) for _ in range(frames)]
        writes = list(WRITES)  # before the client's "done" lets the server close
        await client.send("done")
        return [got, writes]


@pytest.mark.parametrize("compression", ["deflate", None])
@pytest.mark.parametrize(("protocol", "batched"),
                         [(CountingKefu, True), (CountingPlain, False)])
def test_a_burst_arrives_in_order_in_as_few_writes(protocol: type, batched: bool,
                                                     compression: str | None) -> None:
    frames = SEND_BURST + 6  # more than one write's worth
    WRITES.clear()
    with serving_in_thread(_server(_burst(frames)), "websocket server", ws=protocol,
                           http="httptools", loop="auto") as seen:
        got, writes = asyncio.run(_receive(seen["url"], frames, compression))
    assert got == [_frame(n) for n in range(frames)]
    assert seen["send_many"] is batched
    burst = writes[1:]  # after the handshake's response
    assert len(burst) == (1 if batched else frames)


def _paused(frames: int) -> Scenario:
    """Pauses the transport as flow control does for a peer that reads slowly, pushes frames,
    notes the socket writes meanwhile, then resumes it."""
    async def scenario(scope: dict[str, Any], connection: Connection,
                       seen: dict[str, Any]) -> None:
        protocol = scope["extensions"][WRITE_NOW]["write"].__self__
        connection.start()
        protocol.pause_writing()
        before = len(WRITES)
        for n in range(frames):
            connection.push(_frame(n))
            await asyncio.sleep(0.001)
        seen["written_while_paused"] = len(WRITES) - before
        seen["waiting"] = connection._drainer is not None
        protocol.resume_writing()

    return scenario


def test_frames_wait_for_a_paused_transport_and_then_arrive_in_order() -> None:
    frames = 40
    WRITES.clear()
    with serving_in_thread(_server(_paused(frames)), "websocket server", ws=CountingKefu,
                           http="httptools", loop="auto") as seen:
        got, _ = asyncio.run(_receive(seen["url"], frames, None))
    assert seen["written_while_paused"] == 0
    assert seen["waiting"]  # a task waits for the transport to drain
    assert got == [_frame(n) for n in range(frames)]
