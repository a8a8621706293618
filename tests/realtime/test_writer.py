"""The group-commit writer: one failing job fails alone, its writes and its after-commit
announcements are dropped, and the other jobs of the batch commit (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.models import Team
from kefu.accounts.service import create_team
from kefu.core.errors import Conflict
from kefu.db import Database, after_commit
from kefu.realtime.writer import MessageWriter


@pytest.fixture
async def writer(database_url: str) -> AsyncIterator[MessageWriter]:
    db = Database(database_url)
    writer = MessageWriter(db)
    await writer.start()
    try:
        yield writer
    finally:
        await writer.stop()
        await db.dispose()


async def team_names(writer: MessageWriter) -> set[str]:
    async with writer.db.transaction() as session:
        return set(await session.scalars(select(Team.name)))


async def test_a_failing_job_fails_alone_in_its_batch(writer: MessageWriter):
    announced: list[str] = []

    def job(name: str, *, fail: bool = False):  # type: ignore[no-untyped-def]
        async def work(session: AsyncSession) -> str:
            await create_team(session, None, name=name, language="en")  # type: ignore[arg-type]

            async def announce() -> None:
                announced.append(name)

            after_commit(session, announce)
            if fail:
                raise Conflict("this ticket is closed", code="ticket_closed")
            return name
        return work

    results = await asyncio.gather(
        writer.submit(job("first")), writer.submit(job("broken", fail=True)),
        writer.submit(job("third")), return_exceptions=True)
    assert results[0] == "first"
    assert results[2] == "third"
    assert isinstance(results[1], Conflict)
    assert results[1].code == "ticket_closed"
    assert writer.batches == 1  # all three went in one batch
    assert await team_names(writer) == {"first", "third"}
    assert sorted(announced) == ["first", "third"]
    # Alone in its batch, a failing job fails too, and leaves nothing behind.
    with pytest.raises(Conflict):
        await writer.submit(job("lonely", fail=True))
    assert await team_names(writer) == {"first", "third"}
    assert sorted(announced) == ["first", "third"]


async def test_many_concurrent_jobs_all_commit(writer: MessageWriter):
    async def work(session: AsyncSession, i: int) -> int:
        await create_team(session, None, name=f"t{i}", language="en")  # type: ignore[arg-type]
        return i

    done = await asyncio.gather(*(writer.submit(lambda s, i=i: work(s, i)) for i in range(50)))
    assert done == list(range(50))
    async with writer.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Team)) == 50
    assert writer.jobs == 50


async def test_a_batch_that_reads_first_is_not_refused_by_a_concurrent_writer(
    writer: MessageWriter,
):
    """SQLite refuses a transaction that read before another connection committed a write
    ("database is locked", at once, whatever the busy timeout). The batch below holds a failing
    job, so it runs again without it, in a transaction that reads before it writes; the writer
    takes the write lock first, so the other connection waits instead and all commit."""
    racers: list[asyncio.Task[None]] = []

    async def other_writer(name: str) -> None:
        async with writer.db.transaction() as session:
            await create_team(session, None, name=name, language="en")  # type: ignore[arg-type]

    async def reads_then_writes(session: AsyncSession) -> str:
        await session.scalar(select(func.count()).select_from(Team))  # read first
        racers.append(asyncio.create_task(other_writer(f"other-{len(racers)}")))
        await asyncio.sleep(0.3)  # the other connection writes meanwhile
        await create_team(session, None, name="mine", language="en")  # type: ignore[arg-type]
        return "mine"

    async def fails(session: AsyncSession) -> None:
        raise Conflict("this ticket is closed", code="ticket_closed")

    results = await asyncio.gather(writer.submit(reads_then_writes), writer.submit(fails),
                                   return_exceptions=True)
    assert results[0] == "mine", results
    assert isinstance(results[1], Conflict)
    await asyncio.wait_for(asyncio.gather(*racers), 30)
    assert await team_names(writer) == {"mine"} | {f"other-{i}" for i in range(len(racers))}


async def test_a_database_error_fails_only_its_job(writer: MessageWriter):
    """A job the database refuses (here: a broken statement; in life a deadlock or a unique
    violation from a concurrent resend) fails alone with "send it again"; the batch commits."""
    from sqlalchemy import text

    async def fine(session: AsyncSession) -> str:
        await create_team(session, None, name="fine", language="en")  # type: ignore[arg-type]
        return "fine"

    async def refused(session: AsyncSession) -> None:
        await create_team(session, None, name="refused", language="en")  # type: ignore[arg-type]
        await session.execute(text("SELECT no_such_column FROM teams"))

    results = await asyncio.gather(writer.submit(fine), writer.submit(refused),
                                   return_exceptions=True)
    assert results[0] == "fine"
    assert getattr(results[1], "code", None) == "not_saved"
    assert await team_names(writer) == {"fine"}


async def test_a_job_that_crashes_fails_alone_and_is_not_retried(writer: MessageWriter):
    """An exception that is neither ours nor the database's (a validation bug in one sender's
    job) used to fail the whole batch with "not saved": the others' messages too, and the
    widget resends "not saved" every second, so one bad frame kept failing everyone's."""

    async def fine(session: AsyncSession, name: str) -> str:
        await create_team(session, None, name=name, language="en")  # type: ignore[arg-type]
        return name

    async def crashes(session: AsyncSession) -> None:
        await create_team(session, None, name="crashed", language="en")  # type: ignore[arg-type]
        raise ValueError("subject: must not be empty")

    results = await asyncio.gather(
        writer.submit(lambda s: fine(s, "before")), writer.submit(crashes),
        writer.submit(lambda s: fine(s, "after")), return_exceptions=True)
    assert results[0] == "before"
    assert results[2] == "after"
    assert getattr(results[1], "code", None) == "internal_error"  # not "not_saved": no resend
    assert await team_names(writer) == {"before", "after"}
    with pytest.raises(Exception, match="could not be processed"):
        await writer.submit(crashes)  # alone in its batch, the same
    assert await team_names(writer) == {"before", "after"}


async def test_the_write_ahead_log_is_checkpointed_off_the_writers_connection(
        migrated_templates: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite (PostgreSQL has no such log here): the writer's own connection never
    checkpoints inside a commit; the log still reaches the database file, a moment later, from
    the pool."""
    monkeypatch.setattr("kefu.realtime.writer.CHECKPOINT_EVERY_S", 0.05)
    path = tmp_path / "kefu.db"
    shutil.copyfile(migrated_templates["sqlite"], path)
    db = Database(f"sqlite+aiosqlite:///{path}")
    writer = MessageWriter(db)
    async with db.write_engine.connect() as connection:
        assert (await connection.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == 0
    async with db.engine.connect() as connection:  # the pool's connections keep SQLite's default
        assert (await connection.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == 1000
    await writer.start()
    try:
        before = path.stat().st_size
        await asyncio.gather(*(writer.submit(
            lambda s, i=i: create_team(s, None, name=f"team {i} " + "x" * 200, language="en"))
            for i in range(400)))
        for _ in range(100):
            await asyncio.sleep(0.05)
            if path.stat().st_size > before:
                break
        assert path.stat().st_size > before  # the teams' pages were copied from the log
    finally:
        await writer.stop()
        await db.dispose()
