"""The chat benchmark's agent client: subscriptions the server refused are sent again."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from kefu.bench.clients import Agent, Traffic


class RefusingServer:
    """A websocket whose far end confirms subscriptions, except that it refuses the first
    subscribe of ``refused`` tickets once, as a rate-limited server does (no reference)."""

    close_code = None

    def __init__(self, refused: set[str]) -> None:
        self.refused = set(refused)
        self.agent: Agent | None = None
        self.sent: list[dict[str, Any]] = []
        self.closed = asyncio.Event()

    def __aiter__(self) -> RefusingServer:
        return self

    async def __anext__(self) -> str:
        await self.closed.wait()
        raise StopAsyncIteration

    async def send(self, raw: str) -> None:
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


async def _swallow(raw: str) -> None:
    return None
