"""The rate limiter: token buckets in the process, fixed windows in Redis shared by processes,
and the 429 answer with Retry-After on the routes that use it."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from kefu.accounts.actor import Actor
from kefu.accounts.models import Agent, Customer
from kefu.trust.errors import RateLimited
from kefu.trust.ratelimit import MemoryLimiter, Rate, RateRule, RedisLimiter
from tests.servers import RedisServer


class FakeClock:
    def __init__(self, at: float = 1_000.0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


async def test_bucket_allows_a_burst_then_refills_smoothly() -> None:
    now = FakeClock()
    limiter = MemoryLimiter(clock=now)
    rate = Rate(3, 60)  # one token every 20 s
    assert [await limiter.hit("k", rate) for _ in range(3)] == [None, None, None]
    assert await limiter.hit("k", rate) == pytest.approx(20.0)
    now.at += 10
    assert await limiter.hit("k", rate) == pytest.approx(10.0)  # half a token back
    now.at += 10
    assert await limiter.hit("k", rate) is None
    assert await limiter.hit("other", rate) is None  # keys are independent


def test_rate_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="positive"):
        Rate(0, 60)
    with pytest.raises(ValueError, match="positive"):
        Rate(5, 0)


async def test_rule_counts_each_scope_and_reports_the_longest_wait() -> None:
    limiter = MemoryLimiter(clock=FakeClock())
    rule = RateRule("t", per_ip=Rate(10, 60), per_customer=Rate(1, 60), per_visitor=Rate(1, 30))
    customer = Actor(kind="customer", customer=Customer(id=uuid.uuid4(), external_id="c"))
    visitor = Actor(kind="visitor", visitor_id="v_abc")
    agent = Actor(kind="agent", agent=Agent(id=uuid.uuid4()))
    assert [k for k, _ in rule.keys("1.2.3.4", customer)] == [
        "t:ip:1.2.3.4", f"t:customer:{customer.customer.id}"]  # type: ignore[union-attr]
    assert [k for k, _ in rule.keys("1.2.3.4", visitor)] == ["t:ip:1.2.3.4", "t:visitor:v_abc"]
    assert [k for k, _ in rule.keys("1.2.3.4", agent)] == ["t:ip:1.2.3.4"]

    await rule.check(limiter, ip="1.2.3.4", actor=customer)
    with pytest.raises(RateLimited) as refused:
        await rule.check(limiter, ip="5.6.7.8", actor=customer)  # another address, same person
    assert refused.value.retry_after_s == 60
    assert refused.value.code == "rate_limited"
    await rule.check(limiter, ip="1.2.3.4", actor=visitor)  # someone else from that address


async def test_redis_windows_are_shared_by_processes(redis_server: RedisServer) -> None:
    now = FakeClock(1_200.0)  # window [1200, 1260) of a 60 s period
    first, second = RedisLimiter(redis_server.url, clock=now), RedisLimiter(redis_server.url,
                                                                             clock=now)
    key, rate = f"shared-{uuid.uuid4().hex}", Rate(3, 60)
    try:
        assert await first.hit(key, rate) is None
        assert await second.hit(key, rate) is None
        assert await first.hit(key, rate) is None
        now.at += 15
        assert await second.hit(key, rate) == pytest.approx(45.0)  # until the window ends
        now.at += 45  # the next window
        assert await first.hit(key, rate) is None
    finally:
        await first.aclose()
        await second.aclose()


async def test_redis_unreachable_falls_back_to_counting_locally() -> None:
    limiter = RedisLimiter("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        rate = Rate(2, 60)
        assert await limiter.hit("k", rate) is None
        assert await limiter.hit("k", rate) is None
        assert await limiter.hit("k", rate) is not None
    finally:
        await limiter.aclose()


async def test_public_verify_api_answers_429_with_retry_after(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    params = {"kind": "domain", "value": "example.org"}
    statuses = [(await client.get("/api/v1/verify", params=params)).status_code
                for _ in range(30)]
    assert statuses == [200] * 30
    refused = await client.get("/api/v1/verify", params=params)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert isinstance(refused.json()["error"]["message"], str)
    assert 1 <= int(refused.headers["Retry-After"]) <= 2  # 30 a minute: one every 2 s
