from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from kefu.config import Settings
from kefu.core import clock
from tests.realtime.live import LiveServer, factory_app, live_server
from tests.servers import RedisServer, find_redis_server

# ``KEFU_TEST_REDIS``: ``required`` (CI) fails when redis-server is missing; ``auto`` (default)
# skips the tests that need it, with the reason; ``off`` skips them on purpose.
REDIS_MODE = os.environ.get("KEFU_TEST_REDIS", "auto")


@pytest.fixture
def at() -> Iterator[Callable[[datetime], None]]:
    """Sets the clock; the wall clock comes back after the test, whatever happens."""

    def set_to(when: datetime) -> None:
        clock.set_clock(lambda: when)

    try:
        yield set_to
    finally:
        clock.set_clock(None)


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    with live_server(settings.model_copy(update={"customer_jwt_leeway_s": 0})) as server:
        yield server


@pytest.fixture
async def setup_app(live: LiveServer) -> AsyncIterator[Any]:
    """Factories run against the live server's database from the test's own event loop."""
    async with factory_app(live) as app:
        yield app


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real Redis for the session (tests may stop and restart it on the same port)."""
    if REDIS_MODE == "off":
        pytest.skip("KEFU_TEST_REDIS=off")
    if find_redis_server() is None:
        if REDIS_MODE == "required":
            pytest.fail("KEFU_TEST_REDIS=required but redis-server is not installed")
        pytest.skip("redis-server is not installed (set KEFU_TEST_REDIS=required to fail)")
    server = RedisServer.start()
    try:
        yield server
    finally:
        server.stop()
