"""Engine and session factory, the declarative base, and column types that behave the same on
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy import JSON, DateTime, MetaData, Uuid, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from kefu.core import clock
from kefu.core.ids import new_id

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always returns aware UTC datetimes (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return clock.ensure_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else clock.ensure_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime,
        uuid.UUID: Uuid,
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class CreatedMixin:
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


def _sqlite_listeners(engine: AsyncEngine, *, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "savepoint")
    def _begin_before_savepoint(conn: Any, _name: str) -> None:
        # pysqlite (legacy transaction control, which we keep so that reads do not hold a
        # snapshot and writers queue on the lock) emits BEGIN only before a DML statement.
        # A SAVEPOINT issued first would open the transaction itself and its RELEASE would
        # commit it, so an outer rollback would not undo it. Open the transaction first,
        # IMMEDIATE: a savepoint means writes are coming, and a deferred transaction that
        # read first would be refused the write lock at once if another commit came between.
        driver = conn.connection.driver_connection
        if not driver.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        _sqlite_listeners(engine, busy_timeout_ms=30000)
        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


class InlineSQLite(aiosqlite.Connection):
    """aiosqlite's interface over a sqlite3 connection used on the event loop's own thread.

    aiosqlite runs every statement on a worker thread: two thread switches and a wake-up of the
    loop per statement, which with the GIL contended by a busy loop cost more than the statement
    itself (SQLite in WAL mode with ``synchronous=NORMAL`` commits without an fsync). The chat's
    group-commit writer runs whole batches on one of these instead. It never waits on SQLite's
    lock inside a call: the connection's busy timeout is 0 and :meth:`begin_immediate` takes the
    write lock with asynchronous retries, after which nothing in the transaction waits for a
    lock (WAL readers never block a writer)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=256)

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> InlineSQLite:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineSQLite]:
        return self._connect().__await__()

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()

    async def begin_immediate(self, *, timeout_s: float = 30.0) -> None:
        """``BEGIN IMMEDIATE``, waiting for another writer's commit without blocking the loop."""
        delay, waited = 0.0005, 0.0
        while True:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or waited >= timeout_s:
                    raise
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.02)


def create_inline_sqlite_engine(url: str, *, read_only: bool = False) -> AsyncEngine:
    """An engine whose connections are :class:`InlineSQLite` (see there). ``read_only``: for
    :meth:`Database.read`, several connections that refuse to write (``query_only``)."""
    connect: dict[str, Any] = {}

    async def creator() -> InlineSQLite:
        return await InlineSQLite(partial(sqlite3.connect, *connect["args"], **connect["kwargs"]))

    engine = create_async_engine(url, async_creator=creator,
                                 pool_size=READ_CONNECTIONS if read_only else 1, max_overflow=0)
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    connect.update(args=args, kwargs={**kwargs, "timeout": 0, "check_same_thread": False})
    # A WAL reader waits for a lock only in rare moments (the log being recovered or reset):
    # briefly, on the loop's thread, rather than failing the read.
    _sqlite_listeners(engine, busy_timeout_ms=READ_BUSY_TIMEOUT_MS if read_only else 0)

    @event.listens_for(engine.sync_engine, "connect")
    def _no_checkpoints_here(dbapi_connection: Any, _record: Any) -> None:
        # A commit that crosses SQLite's WAL threshold copies the log into the database and
        # syncs it, inside that commit: on this connection, on the event loop's thread. The
        # writer checkpoints from the ordinary pool's thread instead (MessageWriter).
        dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")
        if read_only:
            dbapi_connection.execute("PRAGMA query_only=ON")

    return engine


# Reads on the loop's thread (Database.read) that may be open at once: a read awaits nothing
# but its statements, so more are open only while one waits for something else.
READ_CONNECTIONS = 8
READ_BUSY_TIMEOUT_MS = 200


async def writer_sqlite(session: AsyncSession) -> sqlite3.Connection | None:
    """The sqlite3 connection under ``session`` when it is the chat writer's
    (:class:`InlineSQLite`, used on this thread) and has nothing waiting to be flushed; else
    None. The chat's batches run their fixed statements on it directly: through the ORM each
    cost 100–400 µs of Python, most of a small batch's time (see
    ``docs/decisions/0002-chat-hot-path.md``). Values go in as SQLAlchemy stores them on
    SQLite: :func:`sqlite_value`."""
    if session.new or session.dirty or session.deleted:
        return None
    cached = session.info.get(_WRITER_SQLITE)
    if cached is not None:
        return cached or None
    raw = None
    if session.get_bind().dialect.name == "sqlite":
        connection = await session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        if isinstance(driver, InlineSQLite):
            raw = driver._conn
    session.info[_WRITER_SQLITE] = raw or False
    return raw


_WRITER_SQLITE = "writer_sqlite"


def sqlite_value(value: Any) -> Any:
    """``value`` as SQLAlchemy binds it on SQLite: UUIDs as 32 hex digits, datetimes as UTC
    text with microseconds, booleans as integers."""
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return clock.ensure_utc(value).strftime(SQLITE_DATETIME)
    if isinstance(value, bool):
        return int(value)
    return value


SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"


def sqlite_datetime(text: str) -> datetime:
    """A datetime column's SQLite text back as an aware UTC datetime."""
    return clock.ensure_utc(datetime.fromisoformat(text))


async def insert_or_ignore(session: AsyncSession, table: Any, values: dict[str, Any]) -> bool:
    """``INSERT … ON CONFLICT DO NOTHING`` on SQLite and PostgreSQL; True if a row was inserted.

    Cheaper than ``begin_nested()`` + catching IntegrityError, and it does not abort the
    transaction on PostgreSQL."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    result = await session.execute(insert(table).values(**values).on_conflict_do_nothing())
    return bool(getattr(result, "rowcount", 0) == 1)


AfterCommit = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run ``callback`` once the session's transaction has committed; dropped on rollback.

    This is how jobs are woken and realtime events published: a rolled-back reply never emails
    and never reaches a websocket."""
    session.info.setdefault("after_commit", []).append(callback)


@asynccontextmanager
async def savepoint(session: AsyncSession) -> AsyncIterator[None]:
    """A SAVEPOINT whose failure also drops the after-commit callbacks registered inside it, so
    a rolled-back part of a transaction announces nothing."""
    callbacks: list[AfterCommit] = session.info.setdefault("after_commit", [])
    mark = len(callbacks)
    try:
        async with session.begin_nested():
            yield
    except BaseException:
        del callbacks[mark:]
        raise


async def commit(session: AsyncSession) -> None:
    """Commit, then run the after-commit callbacks registered during the transaction."""
    await session.commit()
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        await callback()


class Database:
    """Owns the engine and hands out sessions; created in the app's lifespan, never global."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # The chat writer's own connection: on SQLite one used on the loop's thread.
        self.write_engine = (create_inline_sqlite_engine(url) if url.startswith("sqlite")
                             else self.engine)
        self.write_sessionmaker = (async_sessionmaker(self.write_engine, expire_on_commit=False)
                                   if self.write_engine is not self.engine else self.sessionmaker)
        # Short reads on the loop's thread (see :meth:`read`); on PostgreSQL the ordinary pool.
        self.read_engine = (create_inline_sqlite_engine(url, read_only=True)
                            if url.startswith("sqlite") else self.engine)
        self.read_sessionmaker = (async_sessionmaker(self.read_engine, expire_on_commit=False)
                                  if self.read_engine is not self.engine else self.sessionmaker)
        # Set by the in-process job runner; poked after a commit that enqueued jobs.
        self.jobs_wakeup: asyncio.Event | None = None
        # Set by the app to the realtime broker's publish; used after commits (realtime.events).
        self.publish: Callable[[str, dict[str, Any]], Awaitable[None]] | None = None
        # Set by the app: what services deep in a transaction need of the configuration (the
        # assistant's switch when a customer message is stored). None in bare scripts.
        self.settings: Any = None
        # In-process caches of what this process wrote, by name (the chat's recent customer
        # messages per ticket, ``kefu.tickets.chat``).
        self.caches: dict[str, Any] = {}

    def wake_jobs(self) -> None:
        if self.jobs_wakeup is not None:
            self.jobs_wakeup.set()

    @asynccontextmanager
    async def transaction(self, *, writer: bool = False) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success (then after-commit callbacks), rolls back on
        error. ``writer``: on the group-commit writer's connection (see :class:`InlineSQLite`);
        the caller takes the write lock first."""
        async with (self.write_sessionmaker if writer else self.sessionmaker)() as session:
            session.info["db"] = self
            try:
                yield session
            except BaseException:
                await session.rollback()
                session.info.pop("after_commit", None)
                raise
            else:
                await commit(session)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A short read (a few indexed lookups, nothing written): on SQLite on a connection used
        on the event loop's own thread, like the writer's (:class:`InlineSQLite`). Through the
        ordinary pool each statement crossed to one of aiosqlite's threads and back: measured,
        a two-statement read cost ~2.2 ms of CPU that way and ~0.7 ms inline, and while the
        loop was busy (a surge of customers connecting) each crossing also waited for the GIL.
        A write in it fails (``query_only``). What SQLite itself takes long over (searches,
        reports over many tickets) belongs in :meth:`transaction`, where it does not stop the
        loop; the queue's tick (the waiting tickets, by an index) is as far as this goes."""
        async with self.read_sessionmaker() as session:
            session.info["db"] = self
            yield session

    async def dispose(self) -> None:
        for engine in {self.write_engine, self.read_engine} - {self.engine}:
            await engine.dispose()
        await self.engine.dispose()
