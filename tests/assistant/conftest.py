"""Fixtures shared by the assistant's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kefu.db import Database


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The migrated test database (``database_url``: SQLite and PostgreSQL)."""
    database = Database(database_url)
    yield database
    await database.dispose()
