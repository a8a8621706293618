"""Transactions behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from kefu.accounts.models import Team
from kefu.config import Settings
from kefu.db import Database, insert_or_ignore
from tests.factories import make_world


async def test_savepoint_before_first_write_is_undone_by_outer_rollback(settings: Settings):
    db = Database(settings.resolved_database_url)
    try:
        try:
            async with db.transaction() as session:
                await session.scalar(select(Team.id))
                async with session.begin_nested():
                    session.add(Team(name="inside savepoint", language="en"))
                session.add(Team(name="after savepoint", language="en"))
                await session.flush()
                raise LookupError
        except LookupError:
            pass
        async with db.transaction() as session:
            assert list(await session.scalars(select(Team.name))) == []
            assert await insert_or_ignore(session, Team, {"name": "x", "language": "en"})
            assert not await insert_or_ignore(session, Team, {"name": "x", "language": "en"})
    finally:
        await db.dispose()


async def test_reads_see_each_commit_at_once_and_do_not_wait_for_a_write(settings: Settings):
    db = Database(settings.resolved_database_url)
    try:
        async with db.transaction() as session:
            session.add(Team(name="first", language="en"))
        async with db.read() as session:
            assert list(await session.scalars(select(Team.name))) == ["first"]
        async with db.transaction() as writing:
            writing.add(Team(name="second", language="en"))
            await writing.flush()  # SQLite's write lock is held from here to the commit
            async with db.read() as session:  # on SQLite a wait for the lock would fail
                assert list(await session.scalars(select(Team.name))) == ["first"]
        async with db.read() as session:
            assert sorted(await session.scalars(select(Team.name))) == ["first", "second"]
    finally:
        await db.dispose()


async def test_nothing_written_in_a_read_is_kept(settings: Settings):
    db = Database(settings.resolved_database_url)

    async def sneak_in() -> None:
        async with db.read() as session:
            session.add(Team(name="sneaked in", language="en"))
            await session.flush()

    try:
        if db.engine.dialect.name == "sqlite":  # refused on the spot
            with pytest.raises(OperationalError, match="readonly"):
                await sneak_in()
        else:  # never committed
            await sneak_in()
        async with db.read() as session:
            assert list(await session.scalars(select(Team.name))) == []
    finally:
        await db.dispose()


async def test_nul_bytes_and_absurd_numbers_are_client_errors(
    app: FastAPI, client: httpx.AsyncClient
):
    world = await make_world(app)
    agent = world.headers["agent"]
    for url in ("/api/v1/tickets?q=%00", "/api/v1/tickets?tag=a%00b",
                "/api/v1/customers?q=%00", "/api/v1/customers?offset=99999999999999999999"):
        response = await client.get(url, headers=agent)
        assert 400 <= response.status_code < 500, (url, response.text)
        assert response.json()["error"]["code"]
    login = await client.post("/api/v1/auth/login",
                              json={"email": "a\u0000@x.io", "password": "whatever-long"})
    assert 400 <= login.status_code < 500


async def test_nul_in_json_bodies_is_refused_the_same_on_both_databases(
    app: FastAPI, client: httpx.AsyncClient
):
    world = await make_world(app)
    response = await client.post(
        "/api/v1/tickets", content=b'{"subject": "a\\u0000b", "body": "text"}',
        headers={**world.headers["customer_a"], "content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_characters"
    listed = await client.get("/api/v1/tickets", headers=world.headers["customer_a"])
    assert listed.json()["items"] == []


async def test_a_nul_in_a_page_query_is_dropped_and_the_page_served(
    app: FastAPI, client: httpx.AsyncClient
):
    page = await client.get("/help/en/search?q=usdt%00deposit")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "usdtdeposit" in page.text
    literal = await client.get("/api/v1/kb/search?q=fee%2500")  # "%00" typed, not a NUL
    assert literal.status_code == 200, literal.text
    assert (await client.get("/help/en%00")).status_code == 400
