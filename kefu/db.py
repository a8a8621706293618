"""Engine and session factory, the declarative base, and column types that behave the same on
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

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


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
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

        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


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
        # Set by the in-process job runner; poked after a commit that enqueued jobs.
        self.jobs_wakeup: asyncio.Event | None = None
        # Set by the app to the realtime broker's publish; used after commits (realtime.events).
        self.publish: Callable[[str, dict[str, Any]], Awaitable[None]] | None = None

    def wake_jobs(self) -> None:
        if self.jobs_wakeup is not None:
            self.jobs_wakeup.set()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success (then after-commit callbacks), rolls back on
        error."""
        async with self.sessionmaker() as session:
            session.info["db"] = self
            try:
                yield session
            except BaseException:
                await session.rollback()
                session.info.pop("after_commit", None)
                raise
            else:
                await commit(session)

    async def dispose(self) -> None:
        await self.engine.dispose()
