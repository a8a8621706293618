"""The per-person send budget that the processes of a cluster share (``kefu.realtime.budget``),
against a real Redis of this module's own (one test stops it)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from kefu.accounts.actor import Actor
from kefu.realtime import budget as budget_module
from kefu.realtime import hub as hub_module
from kefu.realtime.budget import SharedSendBudget
from kefu.realtime.hub import Hub
from tests.servers import RedisServer

SLOW = 0.001  # tokens a second: nothing refills during a test


async def test_processes_share_one_budget_and_a_batch_is_one_round_trip(
        redis_server: RedisServer):
    first, second = SharedSendBudget(redis_server.url), SharedSendBudget(redis_server.url)
    key = f"customer:{uuid.uuid4()}"
    try:
        assert [await first.take(key, SLOW, 4), await second.take(key, SLOW, 4)] == [None, None]
        trips = first.round_trips
        # Sends asking at the same moment go to Redis together.
        waits = await asyncio.gather(*(first.take(key, SLOW, 4) for _ in range(4)))
        assert first.round_trips == trips + 1
        assert waits[:2] == [None, None]
        assert all(wait is not None and wait > 900 for wait in waits[2:])  # ~1/SLOW seconds
        assert await second.take(key, SLOW, 4) is not None
        assert await second.take(f"customer:{uuid.uuid4()}", SLOW, 4) is None  # per person
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_refusal_by_the_shared_budget_gives_the_local_token_back(
        redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch):
    """The process's own bucket keeps its token when the cluster refuses the send, so it stays
    a filter that never refuses what the shared budget would allow."""
    monkeypatch.setattr(hub_module, "CUSTOMER_RATE", (SLOW, 4.0))
    hub, elsewhere = Hub(send_budget=SharedSendBudget(redis_server.url)), SharedSendBudget(
        redis_server.url)
    actor = Actor(kind="visitor", visitor_id=uuid.uuid4().hex)
    try:
        for _ in range(3):  # the same person, through another process
            assert await elsewhere.take(actor.label, SLOW, 4.0) is None
        assert hub.take_send(actor) is None
        assert await hub.take_shared_send(actor) is None  # the budget's last send
        assert hub.take_send(actor) is None
        wait = await hub.take_shared_send(actor)
        assert wait is not None
        assert wait > 900
        assert hub.customer_bucket(actor).tokens == pytest.approx(3.0, abs=0.01)
    finally:
        assert hub.send_budget is not None
        await hub.send_budget.aclose()
        await elsewhere.aclose()


async def test_without_redis_sends_are_allowed_at_once_and_the_budget_comes_back(
        redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch):
    """Redis away: the process's own bucket limits (the take says nothing, without waiting);
    Redis back, empty (the script gone too): shared again."""
    monkeypatch.setattr(budget_module, "RETRY_REDIS_AFTER_S", 0.0)
    shared = SharedSendBudget(redis_server.url)
    key = f"customer:{uuid.uuid4()}"
    try:
        assert await shared.take(key, SLOW, 1) is None
        redis_server.halt()
        try:
            for _ in range(3):
                assert await asyncio.wait_for(shared.take(key, SLOW, 1), timeout=2) is None
        finally:
            redis_server.restart()
        assert await shared.take(key, SLOW, 1) is None  # a new Redis: a full bucket
        assert await shared.take(key, SLOW, 1) is not None
    finally:
        await shared.aclose()


async def test_a_long_send_takes_a_token_per_thousand_characters(redis_server: RedisServer):
    """Per process and across the cluster alike: 20,000 characters are 20 sends' worth."""
    from kefu.realtime.protocol import CUSTOMER_RATE, MAX_BODY_CHARS, send_cost

    assert [send_cost(body) for body in ("", "a", "a" * 1_000, "a" * 1_001, "提" * 20_000)] == [
        1, 1, 1, 2, 20]
    assert send_cost("a" * MAX_BODY_CHARS) <= CUSTOMER_RATE[1] / 2  # the longest fits, twice
    hub, actor = Hub(), Actor(kind="visitor", visitor_id=uuid.uuid4().hex)
    burst = int(CUSTOMER_RATE[1])  # 60
    assert [hub.take_send(actor, 20) for _ in range(burst // 20)] == [None] * (burst // 20)
    wait = hub.take_send(actor, 20)
    assert wait is not None
    assert wait == pytest.approx(20 / CUSTOMER_RATE[0], abs=0.05)  # until 20 tokens are back
    assert hub.take_send(Actor(kind="visitor", visitor_id=uuid.uuid4().hex), 20) is None

    shared, key = SharedSendBudget(redis_server.url), f"customer:{uuid.uuid4()}"
    try:
        assert await shared.take(key, SLOW, 4, amount=3) is None
        refused = await shared.take(key, SLOW, 4, amount=2)  # one token left
        assert refused is not None
        assert refused == pytest.approx(1 / SLOW, rel=0.01)
        assert await shared.take(key, SLOW, 4) is None  # the last one
    finally:
        await shared.aclose()
