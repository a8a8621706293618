"""The durable job runner on a real SQLite database: outbox semantics, retries, dead letters,
crash recovery and exclusive claims."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

import kefu.accounts.models
import kefu.jobs.models
import kefu.webhooks.models  # noqa: F401  (tables for create_all)
from kefu.config import Settings
from kefu.core import clock
from kefu.db import Base, Database
from kefu.jobs import service
from kefu.jobs.models import Job
from kefu.jobs.runner import (
    RETRY_LATER_FOR_S,
    DatabaseJobRunner,
    JobContext,
    JobRegistry,
    RetryLater,
    backoff_delay,
    enqueue,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def fake_clock() -> Iterator[FakeClock]:
    fake = FakeClock(T0)
    clock.set_clock(fake)
    yield fake
    clock.set_clock(None)


async def open_database(url: str) -> Database:
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    return db


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A fresh database per test, SQLite and PostgreSQL (``database_url`` from conftest)."""
    database = await open_database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path,
        jobs_backoff_base_s=0.01,
        jobs_max_attempts=3,
        jobs_poll_interval_s=0.02,
    )


class Recorder:
    """Handlers for the tests, registered in a fresh registry, recording what ran."""

    def __init__(self) -> None:
        self.registry = JobRegistry()
        self.runs: list[tuple[uuid.UUID, dict[str, Any], int]] = []
        self.registry.register("record")(self.record)

    async def record(self, session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        await asyncio.sleep(0)
        self.runs.append((ctx.job_id, payload, ctx.attempt))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def runner(
    db: Database, recorder: Recorder, settings: Settings
) -> AsyncIterator[DatabaseJobRunner]:
    job_runner = DatabaseJobRunner(db, recorder.registry, settings, rng=random.Random(7))
    yield job_runner
    await job_runner.stop()


async def get_job(db: Database, job_id: uuid.UUID) -> Job:
    async with db.sessionmaker() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        return job


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_job_enqueued_in_rolled_back_transaction_never_runs(
    db: Database, runner: DatabaseJobRunner, recorder: Recorder
) -> None:
    async def reply_that_fails() -> None:
        async with db.transaction() as session:
            await enqueue(session, "record", {"n": 1})
            raise RuntimeError("reply failed")

    with pytest.raises(RuntimeError, match="reply failed"):
        await reply_that_fails()

    assert await runner.run_pending() == 0
    assert recorder.runs == []
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Job)) == 0


async def test_committed_job_runs_once_and_is_marked_done(
    db: Database, runner: DatabaseJobRunner, recorder: Recorder
) -> None:
    async with db.transaction() as session:
        job = await enqueue(session, "record", {"ticket_id": "t-1"})

    assert await runner.run_pending() == 1
    assert await runner.run_pending() == 0
    assert recorder.runs == [(job.id, {"ticket_id": "t-1"}, 1)]
    stored = await get_job(db, job.id)
    assert (stored.status, stored.attempts, stored.locked_until) == ("done", 1, None)
    assert stored.finished_at is not None


async def test_commit_wakes_the_background_runner(
    db: Database, recorder: Recorder, settings: Settings
) -> None:
    """With a one-minute poll interval, only the after-commit wake-up can run the job quickly;
    while the enqueuing transaction is open, the job is not run."""
    slow_poll = settings.model_copy(update={"jobs_poll_interval_s": 60.0})
    job_runner = DatabaseJobRunner(db, recorder.registry, slow_poll)
    await job_runner.start()
    try:
        assert db.jobs_wakeup is not None
        await asyncio.sleep(0.05)  # the first poll has found nothing
        async with db.transaction() as session:
            await enqueue(session, "record", {"n": 1})
            await asyncio.sleep(0.1)
            assert recorder.runs == []

        async def ran() -> bool:
            return len(recorder.runs) == 1

        await eventually(ran, timeout_s=3.0)
    finally:
        await job_runner.stop()
    assert db.jobs_wakeup is None


async def test_failure_is_retried_with_exponential_backoff_then_dead_lettered(
    db: Database, settings: Settings, fake_clock: FakeClock
) -> None:
    registry = JobRegistry()

    @registry.register("flaky")
    async def flaky(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        raise ConnectionError("exchange back office unreachable")

    backoff = settings.model_copy(update={"jobs_backoff_base_s": 10.0, "jobs_max_attempts": 3})
    job_runner = DatabaseJobRunner(db, registry, backoff)
    try:
        async with db.transaction() as session:
            job = await enqueue(session, "flaky", {"api_key": "sk-live-very-secret"})

        assert await job_runner.run_pending() == 1
        first = await get_job(db, job.id)
        assert (first.status, first.attempts) == ("queued", 1)
        assert first.last_error == "ConnectionError: exchange back office unreachable"
        assert "sk-live" not in first.last_error
        assert T0 + timedelta(seconds=10) <= first.run_at <= T0 + timedelta(seconds=12)

        assert await job_runner.run_pending() == 0, "not due before its backoff"

        fake_clock.advance(12)
        assert await job_runner.run_pending() == 1
        second = await get_job(db, job.id)
        assert (second.status, second.attempts) == ("queued", 2)
        delay = (second.run_at - fake_clock.at).total_seconds()
        assert 20 <= delay <= 24

        fake_clock.advance(24)
        assert await job_runner.run_pending() == 1
        dead = await get_job(db, job.id)
        assert (dead.status, dead.attempts, dead.locked_until) == ("dead", 3, None)
        assert dead.finished_at == fake_clock.at
        fake_clock.advance(3600)
        assert await job_runner.run_pending() == 0

        async with db.transaction() as session:
            assert await service.count_by_status(session) == {
                "queued": 0,
                "running": 0,
                "done": 0,
                "dead": 1,
            }
            assert [j.id for j in await service.list_jobs(session, status="dead")] == [job.id]
            retried = await service.retry_dead(session, job.id)
            assert (retried.status, retried.attempts) == ("queued", 0)
        assert await job_runner.run_pending() == 1
        assert (await get_job(db, job.id)).attempts == 1
    finally:
        await job_runner.stop()


async def test_a_failed_attempt_rolls_back_its_writes(db: Database, settings: Settings) -> None:
    """The handler's writes commit with the 'done' mark, so a retried job's writes happen once."""
    registry = JobRegistry()

    @registry.register("fan_out")
    async def fan_out(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        await enqueue(session, "child", {"parent": str(ctx.job_id)})
        if ctx.attempt == 1:
            raise RuntimeError("first attempt fails after writing")

    @registry.register("child")
    async def child(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        return None

    job_runner = DatabaseJobRunner(db, registry, settings)
    try:
        async with db.transaction() as session:
            parent = await enqueue(session, "fan_out", {})
        await job_runner.run_pending()
        await asyncio.sleep(0.05)  # past the 10 ms backoff
        await job_runner.run_pending()
        assert (await get_job(db, parent.id)).status == "done"
        async with db.transaction() as session:
            children = list(await session.scalars(select(Job).where(Job.name == "child")))
        assert len(children) == 1
    finally:
        await job_runner.stop()


async def test_job_left_running_by_a_crashed_runner_is_rerun_after_restart(
    db: Database, recorder: Recorder, settings: Settings, fake_clock: FakeClock
) -> None:
    async with db.transaction() as session:
        job = await enqueue(session, "record", {"n": 1})
    # A runner claimed it (lease of 5 minutes) and then the process died.
    async with db.transaction() as session:
        await session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(status="running", attempts=1, locked_until=T0 + timedelta(minutes=5))
        )

    survivor = DatabaseJobRunner(db, recorder.registry, settings)
    try:
        assert await survivor.run_pending() == 0, "a live lease is not stolen"
    finally:
        await survivor.stop()
    assert recorder.runs == []

    fake_clock.advance(6 * 60)
    restarted = DatabaseJobRunner(db, recorder.registry, settings)
    await restarted.start()
    try:

        async def done() -> bool:
            return (await get_job(db, job.id)).status == "done"

        await eventually(done)
    finally:
        await restarted.stop()
    assert recorder.runs == [(job.id, {"n": 1}, 2)]


async def test_expired_lease_on_the_last_attempt_goes_dead(
    db: Database, recorder: Recorder, settings: Settings, fake_clock: FakeClock
) -> None:
    async with db.transaction() as session:
        job = await enqueue(session, "record", {}, max_attempts=2)
        await session.flush()
        job.status, job.attempts, job.locked_until = "running", 2, T0 - timedelta(seconds=1)

    job_runner = DatabaseJobRunner(db, recorder.registry, settings)
    try:
        assert await job_runner.run_pending() == 0
    finally:
        await job_runner.stop()
    dead = await get_job(db, job.id)
    assert dead.status == "dead"
    assert dead.last_error is not None
    assert "lease expired" in dead.last_error
    assert recorder.runs == []


async def test_two_runners_never_run_one_job_twice(
    db: Database, tmp_path: Path, settings: Settings
) -> None:
    """Two runners, each with its own engine (as two processes would), drain one queue."""
    executions: Counter[uuid.UUID] = Counter()
    registry = JobRegistry()

    @registry.register("count")
    async def count(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        await asyncio.sleep(0.001)
        executions[ctx.job_id] += 1

    async with db.transaction() as session:
        jobs = [await enqueue(session, "count", {"i": i}) for i in range(40)]

    other_db = await open_database(db.url)
    first = DatabaseJobRunner(db, registry, settings)
    second = DatabaseJobRunner(other_db, registry, settings)
    try:
        ran = await asyncio.gather(first.run_pending(), second.run_pending())
    finally:
        await first.stop()
        await second.stop()
        await other_db.dispose()

    assert sum(ran) == 40
    assert executions == Counter({job.id: 1 for job in jobs})
    async with db.transaction() as session:
        assert (await service.count_by_status(session))["done"] == 40


async def test_unknown_job_name_goes_dead_with_a_clear_error(
    db: Database, runner: DatabaseJobRunner
) -> None:
    async with db.transaction() as session:
        job = await enqueue(session, "no.such.job", {})
    assert await runner.run_pending() == 1
    dead = await get_job(db, job.id)
    assert dead.status == "dead"
    assert dead.last_error == "no handler registered for job 'no.such.job'"


async def test_stop_lets_the_current_job_finish(db: Database, settings: Settings) -> None:
    registry = JobRegistry()
    started = asyncio.Event()

    @registry.register("slow")
    async def slow(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        started.set()
        await asyncio.sleep(0.2)

    job_runner = DatabaseJobRunner(db, registry, settings)
    async with db.transaction() as session:
        job = await enqueue(session, "slow", {})
    await job_runner.start()
    await asyncio.wait_for(started.wait(), 3)
    await job_runner.stop()
    assert (await get_job(db, job.id)).status == "done"


async def test_stop_cancels_a_stuck_job_after_the_timeout_and_requeues_it(
    db: Database, settings: Settings
) -> None:
    registry = JobRegistry()
    started = asyncio.Event()

    @registry.register("stuck")
    async def stuck(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        started.set()
        await asyncio.sleep(3600)

    job_runner = DatabaseJobRunner(db, registry, settings)
    async with db.transaction() as session:
        job = await enqueue(session, "stuck", {})
    await job_runner.start()
    await asyncio.wait_for(started.wait(), 3)
    await job_runner.stop(timeout_s=0.05)
    requeued = await get_job(db, job.id)
    assert (requeued.status, requeued.attempts) == ("queued", 0)
    assert requeued.last_error == "cancelled at shutdown; re-queued"


async def test_handler_exceeding_its_timeout_fails_the_attempt(
    db: Database, settings: Settings
) -> None:
    registry = JobRegistry()

    @registry.register("hang")
    async def hang(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        await asyncio.sleep(3600)

    job_runner = DatabaseJobRunner(db, registry, settings, job_timeout_s=0.05)
    try:
        async with db.transaction() as session:
            job = await enqueue(session, "hang", {})
        assert await job_runner.run_pending() == 1
    finally:
        await job_runner.stop()
    failed = await get_job(db, job.id)
    assert (failed.status, failed.last_error) == ("queued", "TimeoutError")


async def test_dedupe_key_names_one_unit_of_work(
    db: Database, runner: DatabaseJobRunner, recorder: Recorder
) -> None:
    async with db.transaction() as session:
        first = await enqueue(session, "record", {"n": 1}, dedupe_key="digest:2025-03-01")
        again = await enqueue(session, "record", {"n": 2}, dedupe_key="digest:2025-03-01")
        other = await enqueue(session, "record", {"n": 3})
    assert again.id == first.id
    async with db.transaction() as session:
        later = await enqueue(session, "record", {"n": 4}, dedupe_key="digest:2025-03-01")
    assert later.id == first.id
    assert await runner.run_pending() == 2
    assert sorted(run[0] for run in recorder.runs) == sorted([first.id, other.id])


async def test_enqueue_refuses_a_payload_that_is_not_json(db: Database) -> None:
    async with db.transaction() as session:
        with pytest.raises(ValueError, match="not JSON"):
            await enqueue(session, "record", {"ticket_id": uuid.uuid4()})


def test_registry_refuses_a_second_handler_for_a_name() -> None:
    registry = JobRegistry()

    async def handler(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        return None

    registry.register("x")(handler)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("x")(handler)
    assert registry.get("x") is handler
    assert registry.get("y") is None


@given(
    attempts=st.integers(min_value=1, max_value=10_000),
    base=st.floats(min_value=0.001, max_value=100),
    seed=st.integers(),
)
def test_backoff_doubles_is_capped_and_jitters_upwards(
    attempts: int, base: float, seed: int
) -> None:
    expected = min(base * 2.0 ** min(attempts - 1, 62), 3600.0)
    delay = backoff_delay(attempts, base_s=base, rng=random.Random(seed))
    assert expected <= delay <= expected * 1.2


async def test_dedupe_race_with_a_concurrent_commit_returns_the_winner(db: Database) -> None:
    """Two transactions enqueue the same key; the second, started before the first committed,
    gets the winner's job and its own other work goes on (insert-or-ignore, no savepoint)."""
    async with db.transaction() as session:
        await session.scalar(select(Job.id).where(Job.dedupe_key == "k"))  # sees nothing yet
        async with db.transaction() as other:
            winner = await enqueue(other, "record", {}, dedupe_key="k")
        before = await enqueue(session, "record", {"kept": True})
        loser = await enqueue(session, "record", {}, dedupe_key="k")
        after = await enqueue(session, "record", {"kept": True})
    assert loser.id == winner.id
    async with db.transaction() as session:
        ids = set(await session.scalars(select(Job.id)))
    assert ids == {winner.id, before.id, after.id}


async def test_finished_jobs_are_purged_after_the_retention_dead_ones_kept(
    db: Database, recorder: Recorder, settings: Settings, fake_clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("kefu.jobs.runner.PURGE_CHUNK", 2)  # three old jobs: two chunks
    runner = DatabaseJobRunner(db, recorder.registry, settings)
    async with db.transaction() as session:
        old = [await enqueue(session, "record", {"n": n}, dedupe_key=f"old-{n}")
               for n in range(3)]
        dead = await enqueue(session, "no-such-handler", {})
    assert await runner.run_pending() == 4
    fake_clock.advance(24 * 3600)
    async with db.transaction() as session:
        recent = await enqueue(session, "record", {"n": 3})
        later = await enqueue(session, "record", {"n": 4}, run_at=T0 + timedelta(days=30))
    assert await runner.run_pending() == 1

    async def remaining() -> set[uuid.UUID]:
        async with db.transaction() as session:
            return set((await session.scalars(select(Job.id))).all())

    fake_clock.advance(6 * 24 * 3600 + 60)  # the first jobs finished 7 days and a minute ago
    kept = runner.settings.model_copy(update={"jobs_keep_done_days": 0})
    assert await DatabaseJobRunner(db, recorder.registry, kept).purge_done() == 0
    assert await runner.purge_done() == 3
    assert await remaining() == {dead.id, recent.id, later.id}
    assert (await get_job(db, dead.id)).status == "dead"
    async with db.transaction() as session:  # a purged job's dedupe key names new work
        again = await enqueue(session, "record", {"n": 0}, dedupe_key="old-0")
    assert again.id != old[0].id

    fake_clock.advance(24 * 3600)  # the background runner purges on its own, at start
    await runner.start()
    try:
        async def recent_gone() -> bool:
            return recent.id not in await remaining()

        await eventually(recent_gone)
    finally:
        await runner.stop()
    assert await remaining() == {dead.id, later.id, again.id}  # again: finished just now


async def test_a_receiver_asking_to_wait_does_not_use_up_attempts_for_a_day(
    db: Database, settings: Settings, fake_clock: FakeClock
) -> None:
    """A 429 with retry_after (RetryLater) is not the job's failure: five of them in a row do
    not kill a job allowed three attempts; a day after it was queued they count again."""
    answers: list[str] = []
    registry = JobRegistry()

    @registry.register("send")
    async def send(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        answer = payload["answers"][len(answers)] if len(answers) < len(payload["answers"]) \
            else "ok"
        answers.append(answer)
        if answer == "429":
            raise RetryLater("Too Many Requests", delay_s=30)

    runner = DatabaseJobRunner(db, registry, settings)  # jobs_max_attempts=3
    async with db.transaction() as session:
        patient = await enqueue(session, "send", {"answers": ["429"] * 5})
    for _ in range(5):
        assert await runner.run_pending() == 1
        waiting = await get_job(db, patient.id)
        assert (waiting.status, waiting.attempts) == ("queued", 0)
        assert waiting.run_at == fake_clock.at + timedelta(seconds=30)
        assert await runner.run_pending() == 0  # not before the receiver said
        fake_clock.advance(30)
    assert await runner.run_pending() == 1
    done = await get_job(db, patient.id)
    assert (done.status, done.attempts) == ("done", 1)

    answers.clear()
    async with db.transaction() as session:
        stubborn = await enqueue(session, "send", {"answers": ["429"] * 10})
    fake_clock.advance(RETRY_LATER_FOR_S + 1)
    for _ in range(3):
        assert await runner.run_pending() == 1
        fake_clock.advance(30)
    dead = await get_job(db, stubborn.id)
    assert (dead.status, dead.attempts) == ("dead", 3)
    await runner.stop()
