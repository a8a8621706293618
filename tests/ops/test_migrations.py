"""The migrations create exactly what the models describe (`alembic check`), on both databases."""

from __future__ import annotations

import asyncio

from kefu.migrations.runner import check, head_revision


async def test_alembic_check_and_head(database_url: str):
    await asyncio.to_thread(check, database_url)
    assert head_revision() == "0001"
