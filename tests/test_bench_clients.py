"""The chat benchmark's agent client: subscriptions the server refused are sent again."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from kefu.bench.clients import Agent, Customer, Traffic


class RefusingServer:
    """A websocket whose far end confirms subscriptions, except that it refuses the first
    subscribe of ``refused`` tickets once, as a rate-limited server does (no reference)."""

    close_code = None

    def __init__(self, refused: set[str]) -> None:
        self.refused = set(refused)
        self.agent: Agent | None = None
        self.sent: list[dict[str, Any]] = []
        self.closed = asyncio.Event()

    async def listen(self, on_text: Callable[[str, float], None]) -> None:
        await self.closed.wait()

    async def send(self, raw: str | bytes) -> None:
        frame = json.loads(raw)
        self.sent.append(frame)
        assert self.agent is not None
        number = frame["ticket"]
        answer: dict[str, Any]
        if number in self.refused:
            self.refused.discard(number)
            answer = {"type": "error", "code": "rate_limited", "message": "slow down"}
        else:
            answer = {"type": "subscribed", "ticket": {"number": number}, "since": 0}
        self.agent.on_frame(json.dumps(answer), 0.0)


async def test_refused_subscriptions_are_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kefu.bench.clients.RESUBSCRIBE_AFTER_S", 0.05)
    server = RefusingServer(refused={"K-2", "K-4"})
    traffic = Traffic()
    agent = Agent(server, traffic, 0)
    server.agent = agent
    agent.tickets = ["K-1", "K-2", "K-3", "K-4"]
    await agent.subscribe_all(timeout_s=5)
    assert agent.confirmed == {"K-1", "K-2", "K-3", "K-4"}
    assert [f["ticket"] for f in server.sent] == ["K-1", "K-2", "K-3", "K-4", "K-2", "K-4"]
    assert traffic.errors["rate_limited"] == 2
    server.closed.set()
    await agent.reader


async def test_subscriptions_never_confirmed_time_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kefu.bench.clients.RESUBSCRIBE_AFTER_S", 0.05)
    server = RefusingServer(refused=set())
    server.send = _swallow  # type: ignore[method-assign]
    agent = Agent(server, Traffic(), 0)
    server.agent = agent
    agent.tickets = ["K-1"]
    with pytest.raises(TimeoutError):
        await agent.subscribe_all(timeout_s=0.2)
    server.closed.set()
    await agent.reader


async def _swallow(raw: str | bytes) -> None:
    return None


async def test_the_client_socket_talks_to_a_real_websocket_server() -> None:
    """The load generator's socket against websockets' own server: text both ways, a message
    the server sends in fragments arrives whole, a ping is answered, the close code is seen."""
    from websockets.asyncio.server import ServerConnection, serve

    from kefu.bench.clients import connect_websocket

    pongs: list[float] = []

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            if message == "fragments":
                await ws.send(["frag", "ments ", "一起"])
            elif message == "ping":
                pongs.append(await (await ws.ping()))
                await ws.send("pinged")
            elif message == "bye":
                await ws.close(4001, "done")
            else:
                await ws.send(f"echo {message}")

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        socket = await connect_websocket(f"ws://127.0.0.1:{port}/", compression=False)
        got: list[tuple[str, float]] = []
        arrived = asyncio.Event()

        def on_text(text: str, at: float) -> None:
            got.append((text, at))
            arrived.set()

        async def next_text() -> str:
            await asyncio.wait_for(arrived.wait(), 5)
            arrived.clear()
            return got[-1][0]

        closed = socket.listen(on_text)
        await socket.send("hello")
        assert await next_text() == "echo hello"
        await socket.send('{"bytes": "已编码"}'.encode())
        assert await next_text() == 'echo {"bytes": "已编码"}'
        await socket.send("fragments")
        assert await next_text() == "fragments 一起"
        await socket.send("ping")
        assert await next_text() == "pinged"
        assert len(pongs) == 1
        assert all(at <= time.perf_counter() for _, at in got)
        await socket.send("bye")
        await asyncio.wait_for(closed, 5)
        assert socket.close_code == 4001
        with pytest.raises(ConnectionClosed):
            await socket.send("after the close")


async def test_the_client_socket_refuses_a_server_that_is_not_a_websocket() -> None:
    from kefu.bench.clients import connect_websocket

    async def plain_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(plain_http, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        with pytest.raises(InvalidHandshake):
            await connect_websocket(f"ws://127.0.0.1:{port}/ws/chat", compression=False)


async def test_a_customer_never_repeats_a_text_from_an_earlier_scenario(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each scenario numbers its sends from 0; the bodies go on with the rotation, so the abuse
    screen's repeat count (a sender's last messages) never sees one of them again."""
    monkeypatch.setattr("kefu.bench.clients.CLIENT_RATE", (1000.0, 1000.0))
    server = RefusingServer(refused=set())
    sent: list[str | bytes] = []

    async def keep(raw: str | bytes) -> None:
        sent.append(raw)

    server.send = keep  # type: ignore[method-assign]
    customer = Customer(server, Traffic(), 3)
    for tag in ("k", "o100", "o200"):
        for n in range(20):
            await customer.say(n, tag)
    bodies = [json.loads(raw)["body"] for raw in sent]
    assert len(bodies) == 60
    assert len(set(bodies)) == 60
    server.closed.set()
    await customer.reader
