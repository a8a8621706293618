"""The test harness itself: a PostgreSQL database a test used reaches the next test empty, or
not at all."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import EmptiedDatabases, _pg_execute, _plain


async def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    import asyncpg

    conn = await asyncpg.connect(_plain(url))
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


def _databases(pg_databases: EmptiedDatabases | None) -> EmptiedDatabases:
    if pg_databases is None:
        pytest.skip("PostgreSQL is not installed (set KEFU_TEST_POSTGRES=required to fail)")
    return pg_databases


def test_a_used_database_comes_back_empty_under_another_name(
        pg_databases: EmptiedDatabases | None):
    databases = _databases(pg_databases)
    server = databases.server
    name = databases.take()
    asyncio.run(_pg_execute(
        server.url_for(name),
        "INSERT INTO teams (id, name, language, description, created_at)"
        " VALUES (gen_random_uuid(), 'left behind', 'en', '', now())",
        "INSERT INTO customers (id, external_id, display_name, language, vip_tier, flags,"
        " is_visitor, created_at) VALUES (gen_random_uuid(), 'c-1', 'C', 'en', 0, '[]', false,"
        " now())"))
    databases.give_back(name)
    assert name not in databases.free  # a straggler of the last test cannot reach it
    reused = databases.take()
    try:
        url = server.url_for(reused)
        assert asyncio.run(_rows(url, "SELECT name FROM teams")) == []
        assert asyncio.run(_rows(url, "SELECT external_id FROM customers")) == []
        assert asyncio.run(_rows(url, "SELECT version_num FROM alembic_version")) != []
    finally:
        databases.give_back(reused)


def test_a_database_whose_schema_a_test_changed_is_not_used_again(
        pg_databases: EmptiedDatabases | None):
    databases = _databases(pg_databases)
    server = databases.server
    name = databases.take()
    asyncio.run(_pg_execute(server.url_for(name), "ALTER TABLE teams ADD COLUMN extra text"))
    free_before = list(databases.free)
    databases.give_back(name)
    assert databases.free == free_before
    names = [row[0] for row in asyncio.run(_rows(server.url, "SELECT datname FROM pg_database"))]
    assert not [n for n in names if n.startswith("t_") and n not in databases.free]
