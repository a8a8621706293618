"""Test harness: every database test runs on SQLite and on a real PostgreSQL server.

``KEFU_TEST_POSTGRES``: ``required`` (CI) turns a missing PostgreSQL into a failure; ``auto``
(default) skips the PostgreSQL half with a reason when the server binaries are absent; ``off``
skips it on purpose."""

from __future__ import annotations

import os

# One thread per OpenMP/BLAS pool in every test process (and the processes they start): xdist
# already runs a test process per core, and OpenMP's workers spin while they wait for a core,
# so on busy cores a scikit-learn fit with a thread per core took ten times as long (the
# matcher's adapt test: 6 s alone with a core each, 45 s beside two busy cores, 7 s with one
# thread). Set before anything imports numpy or scikit-learn.
for _pool in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_pool, "1")

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from kefu.accounts import security
from kefu.app import create_app
from kefu.config import Settings
from kefu.migrations.runner import upgrade
from tests.exchange.fake_backoffice import (
    API_KEY,
    FakeBackoffice,
    fixed_clock,
    running_fake_backoffice,
)
from tests.servers import PostgresServer, RedisServer, find_pg_bin, find_redis_server

# Argon2 at production cost is 0.1-0.3 s of CPU per hash or check, by design; the suite creates
# and signs in thousands of agents (measured: 508 hashes in 220 tests, 120 s of CPU). Every test
# process — module fixtures and live servers included — hashes with the same algorithm at the
# lowest cost; tests/accounts/test_auth.py holds the production hasher to its parameters.
PRODUCTION_HASHER = security._hasher
security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
security._DUMMY_HASH = security._hasher.hash("kefu-timing-equaliser")

PG_MODE = os.environ.get("KEFU_TEST_POSTGRES", "auto")
# ``KEFU_TEST_REDIS``: ``required`` (CI) fails when redis-server is missing; ``auto`` (default)
# skips the tests that need it, with the reason; ``off`` skips them on purpose.
REDIS_MODE = os.environ.get("KEFU_TEST_REDIS", "auto")

# Modules whose tests must share one xdist worker: the demo seed's database is seeded once per
# worker that runs them (~11 s a backend), and the cluster tests start two server processes,
# Redis and PostgreSQL each. pytest-xdist 3.8's ``xdist_group`` mark renames ``item._nodeid``,
# which pytest 9 no longer reads, so the mark groups nothing; the scheduler below groups these
# modules instead.
GROUPED_MODULES = frozenset({"tests/demo/test_seed.py", "tests/realtime/test_cluster.py"})


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """``--dist loadgroup`` with the modules of ``GROUPED_MODULES`` as groups."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class ModuleGroups(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in GROUPED_MODULES else super()._split_scope(nodeid)

    return ModuleGroups(config, log)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | None]:
    if PG_MODE == "off":
        yield None
        return
    if find_pg_bin() is None:
        if PG_MODE == "required":
            pytest.fail("KEFU_TEST_POSTGRES=required but PostgreSQL is not installed")
        yield None
        return
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


async def _pg_execute(url: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_plain(url))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def migrated_templates(
    postgres: PostgresServer | None, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Migrate once per worker; each test then gets a copy (SQLite: the file; PostgreSQL: a
    database made from this template, or one a test used, emptied: ``EmptiedDatabases``), so
    every test starts from a freshly migrated, empty database."""
    templates: dict[str, str] = {}
    sqlite_file = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{sqlite_file}")
    templates["sqlite"] = str(sqlite_file)
    if postgres is not None:
        asyncio.run(_pg_execute(postgres.url, "CREATE DATABASE kefu_template"))
        upgrade(postgres.url_for("kefu_template"))
        templates["postgresql"] = "kefu_template"
    return templates


class EmptiedDatabases:
    """PostgreSQL databases for one test at a time, made from the migrated template.

    ``CREATE DATABASE … TEMPLATE`` cost PostgreSQL 0.2–0.4 s of CPU a test (it copies and
    WAL-logs the template's ~9 MB, mostly the system catalogs): with ~540 tests on PostgreSQL,
    a minute and a half of the suite on two cores. A database a test has used is emptied
    instead (its connections ended, every row deleted: ~30 ms) and handed to a later test
    under a new name, so that nothing left of the earlier test (a thread still connecting) can
    reach it. One whose schema the test changed, or that could not be emptied, is dropped."""

    def __init__(self, server: PostgresServer, template: str) -> None:
        self.server, self.template = server, template
        self.free: list[str] = []
        self.schema = asyncio.run(self._schema_of(template))

    def take(self) -> str:
        if self.free:
            return self.free.pop()
        name = _database_name()
        asyncio.run(_pg_execute(self.server.url,
                                f"CREATE DATABASE {name} TEMPLATE {self.template}"))
        return name

    def give_back(self, name: str) -> None:
        renamed = _database_name()
        try:
            if asyncio.run(self._emptied(name, renamed)):
                self.free.append(renamed)
                return
        except Exception:  # noqa: BLE001 - a database in an unknown state is not reused
            pass
        for leftover in (name, renamed):
            asyncio.run(_pg_execute(self.server.url,
                                    f"DROP DATABASE IF EXISTS {leftover} WITH (FORCE)"))

    async def _emptied(self, name: str, renamed: str) -> bool:
        """``name``, renamed ``renamed`` and emptied; whether its schema is the template's."""
        import asyncpg

        admin = await asyncpg.connect(_plain(self.server.url))
        try:
            for _ in range(500):  # ending a connection takes effect a moment later
                ended = await admin.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = $1 AND pid <> pg_backend_pid()", name)
                if not ended:
                    break
                await asyncio.sleep(0.01)
            await admin.execute(f"ALTER DATABASE {name} RENAME TO {renamed}")
        finally:
            await admin.close()
        conn = await asyncpg.connect(_plain(self.server.url_for(renamed)))
        try:
            tables = [row[0] for row in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> 'alembic_version'")]
            # as a replica, foreign keys do not fire: the tables empty in any order
            await conn.execute("SET session_replication_role = replica;"
                               + "".join(f'DELETE FROM "{table}";' for table in tables)
                               + "RESET session_replication_role;")
            return await self._schema(conn) == self.schema
        finally:
            await conn.close()

    async def _schema_of(self, name: str) -> tuple[object, ...]:
        import asyncpg

        conn = await asyncpg.connect(_plain(self.server.url_for(name)))
        try:
            return await self._schema(conn)
        finally:
            await conn.close()

    @staticmethod
    async def _schema(conn: Any) -> tuple[object, ...]:
        """What a test could change of the schema: relations, columns, constraints, defaults,
        and the migration."""
        row = await conn.fetchrow("""
            SELECT (SELECT string_agg(version_num, ',') FROM alembic_version),
              (SELECT md5(string_agg(relname || ':' || relkind::text, ',' ORDER BY relname))
                 FROM pg_class WHERE relnamespace = 'public'::regnamespace),
              (SELECT md5(string_agg(attrelid::regclass::text || '.' || attname || ':'
                                     || format_type(atttypid, atttypmod) || ':' || attnotnull
                                     || ':' || coalesce(pg_get_expr(d.adbin, d.adrelid), ''),
                                     ',' ORDER BY 1))
                 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                 LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                 WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0
                   AND NOT a.attisdropped),
              (SELECT md5(string_agg(conname || ':' || pg_get_constraintdef(oid), ','
                                     ORDER BY conname))
                 FROM pg_constraint WHERE connamespace = 'public'::regnamespace)""")
        return tuple(row)


def _database_name() -> str:
    return "t_" + uuid.uuid4().hex[:16]


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg", "postgresql")


@pytest.fixture(scope="session")
def pg_databases(postgres: PostgresServer | None,
                 migrated_templates: dict[str, str]) -> EmptiedDatabases | None:
    if postgres is None or "postgresql" not in migrated_templates:
        return None
    return EmptiedDatabases(postgres, migrated_templates["postgresql"])


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest,
    migrated_templates: dict[str, str],
    pg_databases: EmptiedDatabases | None,
    tmp_path: Path,
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "kefu.db"
        shutil.copyfile(migrated_templates["sqlite"], path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    if pg_databases is None:
        pytest.skip("PostgreSQL is not installed (set KEFU_TEST_POSTGRES=required to fail)"
                    if PG_MODE != "off" else "KEFU_TEST_POSTGRES=off")
    name = pg_databases.take()
    try:
        yield pg_databases.server.url_for(name)
    finally:
        pg_databases.give_back(name)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path / "data",
        database_url=database_url,
        jobs_enabled=False,
        chat_analysis_worker=False,  # tests/realtime/test_analysis.py runs it
        # Each image upload would start an OCR child (~1 s of CPU): the authorization matrix
        # alone uploads hundreds. tests/tickets/test_attachment_ocr.py turns it on.
        ocr=False,
        log_json=True,
        log_level="WARNING",
        jobs_backoff_base_s=0.01,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://kefu.test") as c:
        yield c


@pytest.fixture(scope="module")
def fake_backoffice() -> Iterator[FakeBackoffice]:
    """The fake exchange back office (docs/exchange-api.yaml over the demo adapter, at a fixed
    time) on loopback, one per module; a module's own fixture resets its ``fault``."""
    with running_fake_backoffice(api_key=API_KEY, clock=fixed_clock) as state:
        yield state


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
