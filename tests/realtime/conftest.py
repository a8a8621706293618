from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from kefu.config import Settings
from kefu.db import Database
from tests.realtime.live import LiveServer, live_server, local_app


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    with live_server(settings.model_copy(update={"customer_jwt_leeway_s": 0})) as server:
        yield server


@pytest.fixture
async def setup_app(live: LiveServer) -> AsyncIterator[Any]:
    """Factories run against the live server's database from the test's own event loop."""
    db = Database(live.settings.resolved_database_url)
    try:
        yield local_app(live.settings, db)
    finally:
        await db.dispose()
