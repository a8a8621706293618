"""The migrations create exactly what the models describe (`alembic check`), on both databases."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import TextClause, Uuid, bindparam, select, text
from sqlalchemy.exc import IntegrityError

from kefu.accounts.models import Agent
from kefu.db import Database, UTCDateTime
from kefu.kb.models import ArticleTranslation
from kefu.kb.render import RENDERER_VERSION
from kefu.kb.rerender import rerender_translations
from kefu.migrations.runner import alembic_config, check, head_revision, upgrade
from kefu.tickets.models import Macro
from tests.conftest import _pg_execute
from tests.servers import PostgresServer


async def empty_database(backend: str, tmp_path: Path, postgres: PostgresServer | None) -> str:
    """A new, empty database on ``backend`` to migrate step by step."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    assert postgres is not None, "PostgreSQL is required for this test"
    name = "m_" + uuid.uuid4().hex[:12]
    await _pg_execute(postgres.url, f"CREATE DATABASE {name}")
    return postgres.url_for(name)


async def test_alembic_check_and_head(database_url: str):
    await asyncio.to_thread(check, database_url)
    newest = sorted((Path(__file__).parents[2] / "kefu/migrations/versions").glob("0*.py"))[-1]
    assert head_revision() == newest.name.split("_", 1)[0]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_0002_numbers_existing_customer_messages(
    backend: str, tmp_path: Path, postgres: PostgresServer | None
):
    """Upgrading a database with conversations gives their public messages gap-free public_seq
    (internal notes get none) and each ticket its last_public_seq."""
    url = await empty_database(backend, tmp_path, postgres)
    await asyncio.to_thread(upgrade, url, "0001")
    db = Database(url)
    ticket_id, customer_id = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    def typed(sql: str) -> TextClause:
        # The columns' own types bind the values as each dialect stores them.
        return text(sql).bindparams(
            *(bindparam(n, type_=Uuid()) for n in ("id", "customer", "ticket") if f":{n}" in sql),
            *(bindparam("now", type_=UTCDateTime()) for _ in [1] if ":now" in sql))

    async with db.engine.begin() as conn:
        await conn.execute(typed(
            "INSERT INTO customers (id, external_id, display_name, language, vip_tier, flags,"
            " is_visitor, created_at) VALUES (:id, 'c1', '', 'en', 0, '[]', false, :now)"),
            {"id": customer_id, "now": now})
        await conn.execute(typed(
            "INSERT INTO tickets (id, number, subject, status, priority, channel, language,"
            " customer_id, updated_at, created_at, last_seq) VALUES (:id, 'KF-AAAAAA', 's',"
            " 'open', 'normal', 'chat', 'en', :customer, :now, :now, 4)"),
            {"id": ticket_id, "customer": customer_id, "now": now})
        for seq, internal in ((1, False), (2, True), (3, False), (4, False)):
            await conn.execute(typed(
                "INSERT INTO messages (id, ticket_id, seq, author_kind, body, internal,"
                " created_at) VALUES (:id, :ticket, :seq, 'customer', 'b', :internal, :now)"),
                {"id": uuid.uuid4(), "ticket": ticket_id, "seq": seq, "internal": internal,
                 "now": now})
    await db.dispose()
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    async with db.engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT seq, public_seq FROM messages ORDER BY seq"))).all()
        last = (await conn.execute(text("SELECT last_public_seq FROM tickets"))).scalar()
    await db.dispose()
    assert [tuple(r) for r in rows] == [(1, 1), (2, None), (3, 2), (4, 3)]
    assert last == 3


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_0013_personal_macros_up_and_down(
    backend: str, tmp_path: Path, postgres: PostgresServer | None
):
    """Existing macros stay shared (global or their team's); going back down removes the
    personal macros, which would otherwise turn global, and restores one title per language."""
    url = await empty_database(backend, tmp_path, postgres)
    insert = text(
        "INSERT INTO macros (id, title, body, language, created_at)"
        " VALUES (:id, 'Greeting', 'Hi', 'en', :now)").bindparams(
        bindparam("id", type_=Uuid()), bindparam("now", type_=UTCDateTime()))
    await asyncio.to_thread(upgrade, url, "0012")
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.execute(insert, {"id": uuid.uuid4(), "now": datetime.now(UTC)})
    await db.dispose()

    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    async with db.transaction() as session:
        shared = (await session.scalars(select(Macro))).one()
        assert shared.scope == "global"
        agent = Agent(email="a@kefu.test", display_name="A", password_hash="x")
        session.add(agent)
        await session.flush()
        session.add(Macro(title="Greeting", body="Mine", language="en",
                          owner_agent_id=agent.id))
    await db.dispose()

    await asyncio.to_thread(downgrade, url, "0012")
    db = Database(url)
    async with db.engine.connect() as conn:
        bodies = (await conn.execute(text("SELECT body FROM macros"))).scalars().all()
    assert bodies == ["Hi"]
    with pytest.raises(IntegrityError):
        async with db.engine.begin() as conn:
            await conn.execute(insert, {"id": uuid.uuid4(), "now": datetime.now(UTC)})
    await db.dispose()
    await asyncio.to_thread(upgrade, url)
    await asyncio.to_thread(check, url)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_0014_existing_article_html_is_stale_and_rerendered(
    backend: str, tmp_path: Path, postgres: PostgresServer | None
):
    """Translations saved before 0014 get renderer version 0, so the renderer's current rules
    reach them (an http:// image becomes a link) without a save; down and up again keeps them."""
    url = await empty_database(backend, tmp_path, postgres)
    ids = {n: uuid.uuid4() for n in ("category", "article", "translation")}

    def typed(sql: str) -> TextClause:
        return text(sql).bindparams(*(bindparam(n, type_=Uuid()) for n in ids if f":{n}" in sql),
                                    bindparam("now", type_=UTCDateTime()))

    await asyncio.to_thread(upgrade, url, "0013")
    db = Database(url)
    rows = (
        "INSERT INTO kb_categories (id, slug, position, names, descriptions, ticket_category,"
        " created_at) VALUES (:category, 'fees', 0, '{}', '{}', '', :now)",
        "INSERT INTO kb_articles (id, slug, category_id, tags, status, position, views,"
        " helpful_count, unhelpful_count, updated_at, created_at) VALUES (:article,"
        " 'fee-chart', :category, '[]', 'published', 0, 0, 0, 0, :now, :now)",
        # As the renderer stored it before http:// images became links.
        "INSERT INTO kb_translations (id, article_id, lang, title, summary, body_md, body_html,"
        " status, updated_at, created_at) VALUES (:translation, :article, 'en', 'Fees', '',"
        " '![Chart](http://cdn.example/c.png)',"
        " '<p><img src=\"http://cdn.example/c.png\" alt=\"Chart\"></p>', 'published',"
        " :now, :now)",
    )
    async with db.engine.begin() as conn:
        for sql in rows:
            await conn.execute(typed(sql), {**ids, "now": datetime.now(UTC)})
    await db.dispose()

    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    async with db.transaction() as session:
        assert (await session.scalars(select(ArticleTranslation.renderer_version))).all() == [0]
    report = await rerender_translations(db)
    assert (report.rendered, report.changed, report.failures) == (1, 1, [])
    async with db.transaction() as session:
        translation = (await session.scalars(select(ArticleTranslation))).one()
    assert translation.renderer_version == RENDERER_VERSION
    assert translation.body_html == ('<p><a href="http://cdn.example/c.png"'
                                     ' rel="noopener noreferrer">Chart</a></p>\n')
    await db.dispose()

    await asyncio.to_thread(downgrade, url, "0013")
    db = Database(url)
    async with db.engine.connect() as conn:
        titles = (await conn.execute(text("SELECT title FROM kb_translations"))).scalars().all()
    await db.dispose()
    assert titles == ["Fees"]
    await asyncio.to_thread(upgrade, url)
    await asyncio.to_thread(check, url)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
