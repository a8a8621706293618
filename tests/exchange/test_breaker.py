"""The HTTP adapter's circuit breaker over real loopback HTTP: a dead back office costs one
timeout per cool-off, not one per call; answers about the customer never open it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest

from kefu.config import Settings
from kefu.exchange.base import CustomerNotFound, ExchangeUnavailable
from kefu.exchange.breaker import CircuitBreaker
from kefu.exchange.http import HttpExchangeAdapter
from kefu.exchange.service import build_exchange_adapter

from .fake_backoffice import API_KEY, FakeBackoffice

TIMEOUT_S = 0.3
COOL_OFF_S = 30.0


class FakeMonotonic:
    """The breaker's clock, moved by the test (the HTTP is real, the cool-off need not be)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def backoffice(fake_backoffice: FakeBackoffice) -> FakeBackoffice:
    fake_backoffice.fault = None
    fake_backoffice.slow_s = 0.5
    fake_backoffice.seen_paths.clear()
    return fake_backoffice


@pytest.fixture
def monotonic() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
async def adapter(
    backoffice: FakeBackoffice, monotonic: FakeMonotonic
) -> AsyncIterator[HttpExchangeAdapter]:
    breaker = CircuitBreaker(failures=3, cool_off_s=COOL_OFF_S, clock=monotonic)
    async with HttpExchangeAdapter(backoffice.base_url, API_KEY, TIMEOUT_S,
                                   breaker=breaker) as http:
        yield http


async def timed_failure(adapter: HttpExchangeAdapter, match: str) -> float:
    started = time.perf_counter()
    with pytest.raises(ExchangeUnavailable, match=match):
        await adapter.customer_context("cust-1")
    return time.perf_counter() - started


async def open_it(adapter: HttpExchangeAdapter, backoffice: FakeBackoffice) -> None:
    """Three timeouts in a row: the breaker opens."""
    backoffice.fault, backoffice.slow_s = "slow", 2.0
    for _ in range(3):
        assert adapter.breaker.state == "closed"
        assert await timed_failure(adapter, "did not answer within") >= TIMEOUT_S * 0.9
    assert adapter.breaker.state == "open"


async def test_timeouts_open_it_and_then_calls_fail_fast_without_a_request(
    adapter: HttpExchangeAdapter, backoffice: FakeBackoffice,
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.INFO, logger="kefu.exchange")
    await open_it(adapter, backoffice)
    asked = len(backoffice.seen_paths)
    assert asked == 3
    for _ in range(5):
        # well under the timeout: no request goes out at all
        assert await timed_failure(adapter, "circuit open") < TIMEOUT_S / 5
    with pytest.raises(ExchangeUnavailable, match="circuit open"):
        await adapter.find_deposit("cust-1", txid="ab" * 32)
    assert len(backoffice.seen_paths) == asked
    opened = [r for r in caplog.records if "circuit opened" in r.getMessage()]
    assert len(opened) == 1  # once, not once per refused call
    assert API_KEY not in caplog.text


async def test_server_errors_open_it_too(
    adapter: HttpExchangeAdapter, backoffice: FakeBackoffice
):
    backoffice.fault = "server_error"
    for _ in range(3):
        await timed_failure(adapter, "HTTP 500")
    assert adapter.breaker.state == "open"
    await timed_failure(adapter, "circuit open")
    assert len(backoffice.seen_paths) == 3


async def test_after_the_cool_off_one_trial_call_closes_it(
    adapter: HttpExchangeAdapter, backoffice: FakeBackoffice, monotonic: FakeMonotonic,
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.INFO, logger="kefu.exchange")
    await open_it(adapter, backoffice)
    monotonic.now += COOL_OFF_S - 1
    await timed_failure(adapter, "circuit open")  # not yet
    monotonic.now += 1
    assert adapter.breaker.state == "half_open"
    # The back office is back but slow to answer the trial: meanwhile others still fail fast.
    backoffice.fault, backoffice.slow_s = "slow", 0.15
    trial = asyncio.create_task(adapter.customer_context("cust-1"))
    await asyncio.sleep(0.05)
    assert await timed_failure(adapter, "circuit open") < 0.05
    assert (await trial).external_id == "cust-1"
    assert adapter.breaker.state == "closed"
    backoffice.fault = None
    asked = len(backoffice.seen_paths)
    assert (await adapter.customer_context("cust-2")).external_id == "cust-2"
    assert len(backoffice.seen_paths) == asked + 1
    closed = [r for r in caplog.records if "circuit closed" in r.getMessage()]
    assert len(closed) == 1


async def test_a_failed_trial_opens_it_for_another_cool_off(
    adapter: HttpExchangeAdapter, backoffice: FakeBackoffice, monotonic: FakeMonotonic
):
    await open_it(adapter, backoffice)
    monotonic.now += COOL_OFF_S
    await timed_failure(adapter, "did not answer within")  # the trial, and it times out
    assert adapter.breaker.state == "open"
    asked = len(backoffice.seen_paths)
    monotonic.now += COOL_OFF_S - 1
    await timed_failure(adapter, "circuit open")
    assert len(backoffice.seen_paths) == asked
    monotonic.now += 1
    backoffice.fault = None
    assert (await adapter.customer_context("cust-1")).external_id == "cust-1"
    assert adapter.breaker.state == "closed"


async def test_a_cancelled_trial_lets_the_next_call_try(
    adapter: HttpExchangeAdapter, backoffice: FakeBackoffice, monotonic: FakeMonotonic
):
    await open_it(adapter, backoffice)
    monotonic.now += COOL_OFF_S
    trial = asyncio.create_task(adapter.customer_context("cust-1"))
    await asyncio.sleep(0.05)
    trial.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial
    backoffice.fault = None
    assert (await adapter.customer_context("cust-1")).external_id == "cust-1"
    assert adapter.breaker.state == "closed"


async def test_unknown_customers_and_bad_requests_never_open_it(
    adapter: HttpExchangeAdapter, backoffice: FakeBackoffice
):
    for _ in range(5):
        with pytest.raises(CustomerNotFound):
            await adapter.customer_context("unknown-7")
    for _ in range(5):  # a txid the back office refuses as invalid (HTTP 400)
        with pytest.raises(ExchangeUnavailable, match="HTTP 400"):
            await adapter.find_deposit("cust-1", txid="a" * 300)
    assert adapter.breaker.state == "closed"
    assert len(backoffice.seen_paths) == 10  # every one of them was asked


async def test_an_answer_between_outages_starts_the_count_again(
    adapter: HttpExchangeAdapter, backoffice: FakeBackoffice
):
    backoffice.fault = "server_error"
    for _ in range(2):
        await timed_failure(adapter, "HTTP 500")
    backoffice.fault = None
    with pytest.raises(CustomerNotFound):
        await adapter.customer_context("unknown-7")
    backoffice.fault = "server_error"
    for _ in range(2):
        await timed_failure(adapter, "HTTP 500")
    assert adapter.breaker.state == "closed"
    await timed_failure(adapter, "HTTP 500")
    assert adapter.breaker.state == "open"


def test_a_call_let_through_before_it_opened_does_not_extend_the_cool_off():
    clock = FakeMonotonic()
    breaker = CircuitBreaker(failures=2, cool_off_s=10, clock=clock)
    early = breaker.allow()
    assert early == "call"
    for _ in range(2):
        admission = breaker.allow()
        assert admission == "call"
        breaker.failed(admission)
    assert breaker.state == "open"
    clock.now += 10
    trial = breaker.allow()
    assert trial == "trial"
    breaker.failed(early)  # the stale call ends now: neither a new cool-off nor a second trial
    assert breaker.state == "half_open"
    assert breaker.allow() is None
    breaker.failed(trial)
    assert breaker.state == "open"
    assert breaker.retry_in() == 10


async def test_settings_size_the_breaker(backoffice: FakeBackoffice):
    settings = Settings.model_validate({
        "exchange_adapter": "http", "exchange_base_url": backoffice.base_url,
        "exchange_api_key": API_KEY, "exchange_breaker_failures": 5,
        "exchange_breaker_cool_off_s": 12.5,
    })
    http = build_exchange_adapter(settings)
    assert isinstance(http, HttpExchangeAdapter)
    assert (http.breaker.failures, http.breaker.cool_off_s) == (5, 12.5)
    await http.aclose()
