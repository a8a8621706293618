from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from kefu.config import Settings
from kefu.core import clock
from tests.realtime.live import LiveServer, factory_app, live_server


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
