"""Group commit for chat messages: many sends, one transaction, then every ack.

Each websocket ``send`` becomes a job. One task per process takes whatever jobs are waiting (up
to ``MAX_BATCH``), runs them in one transaction, commits, and only then resolves the jobs'
futures, so an ack always means committed. One failing job (a reopen window passed) fails
alone: the batch first runs optimistically without savepoints (two round trips less per job,
which is a good part of a job's cost on SQLite, where every statement is a hop to aiosqlite's
thread); if a job raises, that attempt is rolled back and runs again without that job, which
has failed (up to ``MAX_LEFT_OUT`` such jobs; then as below). If the database refuses (a
deadlock with another process's batch, a unique violation from a concurrent resend), which
says nothing of which job caused it, the batch runs again with each job in its own SAVEPOINT,
where such an error fails that job alone. Jobs submitted with a
``key`` (the ticket) run in key order, so that two processes' batches lock the same tickets in
the same order and do not deadlock. On SQLite this turns hundreds of tiny write transactions a
second, each waiting for the database lock, into a few larger ones; on PostgreSQL it saves
round trips and fsyncs.

Plain chat sends (public, no attachments) also carry a :class:`~kefu.tickets.chat.ChatSend`;
the optimistic attempt appends all of them with a constant number of statements per batch
(:func:`~kefu.tickets.chat.append_chat_batch`), and only what that declines, and every job of
an isolated retry, runs its own ``work``. A send it refuses (a closed ticket, a sender in a
cool-down) fails alone, like a job's KefuError, without rolling the batch back: nothing of it
was written. Rerunning a batch without its failing job keeps that path for the others: the
isolated retry runs every job through the ORM, one to two orders of magnitude dearer, which one
bad send a batch would otherwise impose on all the others."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.errors import KefuError
from kefu.core.logging import get_logger
from kefu.db import Database, InlineSQLite, savepoint
from kefu.realtime.metrics import ChatMetrics
from kefu.tickets.chat import ChatSend, append_chat_batch

log = get_logger("kefu.realtime.writer")
MAX_BATCH = 256
MAX_LEFT_OUT = 2  # failing jobs left out of a batch's reruns before each runs in a savepoint
CHECKPOINT_EVERY_S = 1.0
Work = Callable[[AsyncSession], Awaitable[Any]]


@dataclass
class _Job:
    work: Work
    key: str = ""
    chat: ChatSend | None = None
    future: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop()
                                        .create_future())
    queued_at: float = field(default_factory=time.perf_counter)


def _not_saved() -> KefuError:
    return KefuError("the message could not be saved; send it again", code="not_saved",
                     status=503)


def _crashed() -> KefuError:
    """A job failed on an error of ours, not the database's: sending it again will not help."""
    return KefuError("the message could not be processed", code="internal_error", status=500)


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return str(code) if code else None


class MessageWriter:
    def __init__(self, db: Database, metrics: ChatMetrics | None = None) -> None:
        self.db = db
        self.metrics = metrics or ChatMetrics(None)
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._checkpoints: asyncio.Task[None] | None = None
        self.batches = 0
        self.jobs = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="kefu-message-writer")
        if self.db.write_engine is not self.db.engine:  # SQLite, on the loop's own thread
            self._checkpoints = asyncio.create_task(self._checkpoint_loop(),
                                                    name="kefu-wal-checkpoints")

    async def _checkpoint_loop(self) -> None:
        """The writer's connection does not checkpoint SQLite's write-ahead log (it would copy
        and sync it inside a commit, on the loop's thread); this does, once a second after
        batches were written, on a pool connection and so on aiosqlite's thread."""
        written = self.batches
        while True:
            await asyncio.sleep(CHECKPOINT_EVERY_S)
            if self.batches == written:
                continue
            written = self.batches
            try:
                async with self.db.engine.connect() as connection:
                    await connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception as exc:  # noqa: BLE001 - the next second tries again
                log.warning("wal_checkpoint_failed", error=type(exc).__name__)

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is None:
            return
        await self._queue.join()
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoints
            self._checkpoints = None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def submit(self, work: Work, *, key: str | None = None,
                     chat: ChatSend | None = None) -> Any:
        """Run ``work(session)`` in the next batch; returns its result once committed. A
        KefuError raised by the work is re-raised here; nothing of that job is kept. ``key``
        (what the work locks, e.g. the ticket number) orders the jobs of a batch. With
        ``chat``, the batch may append the message itself; the result is then an
        :class:`~kefu.tickets.chat.Appended` instead of what ``work`` returns."""
        if self._task is None:
            raise RuntimeError("message writer is not running")
        job = _Job(work, key or "", chat)
        await self._queue.put(job)
        return await job.future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            started = time.perf_counter()
            self.metrics.write_wait.observe(started - batch[0].queued_at)  # the oldest
            self.metrics.write_size.observe(len(batch))
            batch.sort(key=lambda job: job.key)  # stable: one ticket's jobs keep their order
            try:
                await self._commit(batch)
                self.metrics.write_batch.observe(time.perf_counter() - started)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _commit(self, batch: list[_Job]) -> None:
        failed: list[tuple[_Job, Any, BaseException | None]] = []
        try:
            try:
                while True:
                    try:
                        results = await self._attempt(
                            [job for job in batch if all(job is not f[0] for f in failed)],
                            isolated=False)
                        break
                    except _JobFailed as failure:
                        # Rolled back. The jobs before it did the same as they will do again,
                        # so that job fails on its own: redo the others as they were (the
                        # batched path), leaving it out; after a few, each in its savepoint.
                        failed.append((failure.job, None, failure.error))
                        if len(failed) > MAX_LEFT_OUT:
                            failed.clear()
                            results = await self._attempt(batch, isolated=True)
                            break
                        if len(failed) == len(batch):
                            results = []
                            break
                results.extend(failed)
            except DBAPIError as exc:
                log.warning("batch_retried", size=len(batch), error=type(exc).__name__,
                            sqlstate=_sqlstate(exc))
                results = await self._attempt(batch, isolated=True)
        except Exception as exc:  # noqa: BLE001 - the whole batch failed: nothing was committed
            log.warning("batch_failed", size=len(batch), error=type(exc).__name__,
                        sqlstate=_sqlstate(exc))
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(_not_saved())
            return
        self.batches += 1
        self.jobs += len(batch)
        for job, result, error in results:
            if job.future.done():
                continue
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(result)

    async def _attempt(self, batch: list[_Job], *, isolated: bool
                       ) -> list[tuple[_Job, Any, BaseException | None]]:
        """Run the batch in one transaction and commit it. Not ``isolated``: the first
        KefuError rolls everything back (raised as :class:`_JobFailed`), as does a database
        error. ``isolated``: each job in a savepoint; its KefuError or database error fails it
        alone."""
        results: list[tuple[_Job, Any, BaseException | None]] = []
        async with self.db.transaction(writer=True) as session:
            await _take_write_lock(session)
            pending = batch
            if not isolated and any(job.chat is not None for job in batch):
                pending = []
                chats = [job for job in batch if job.chat is not None]
                appended = await append_chat_batch(session, [job.chat for job in chats
                                                             if job.chat is not None])
                done = {id(job): outcome for job, outcome in zip(chats, appended, strict=True)}
                for job in batch:
                    outcome = done.get(id(job))
                    if outcome is None:
                        pending.append(job)
                    elif isinstance(outcome, KefuError):  # refused, nothing stored
                        results.append((job, None, outcome))
                    else:
                        results.append((job, outcome, None))
            for job in pending:
                if not isolated:
                    try:
                        results.append((job, await job.work(session), None))
                    except KefuError as exc:
                        raise _JobFailed(job, exc) from exc
                    except DBAPIError:
                        raise  # the batch is retried, each job in its savepoint
                    except Exception as exc:  # a bug in one job fails that job, not the batch
                        log.exception("job_crashed")
                        raise _JobFailed(job, _crashed()) from exc
                    continue
                try:
                    async with savepoint(session):
                        results.append((job, await job.work(session), None))
                except KefuError as exc:
                    results.append((job, None, exc))
                except DBAPIError as exc:
                    log.warning("job_failed", error=type(exc).__name__, sqlstate=_sqlstate(exc))
                    results.append((job, None, _not_saved()))
                except Exception:  # noqa: BLE001 - as above: this job alone
                    log.exception("job_crashed")
                    results.append((job, None, _crashed()))
        return results


class _JobFailed(Exception):
    def __init__(self, job: _Job, error: KefuError) -> None:
        super().__init__(error.message)
        self.job = job
        self.error = error


async def _take_write_lock(session: AsyncSession) -> None:
    """On SQLite, open the batch with ``BEGIN IMMEDIATE``. A deferred transaction reads first
    (the ticket, the idempotency check) and only then asks for the write lock; if another
    connection committed in between, SQLite refuses at once with "database is locked" (its
    snapshot is stale, so the busy timeout does not help) and the whole batch would fail. Taking
    the lock first makes other writers wait their turn instead."""
    if session.get_bind().dialect.name == "sqlite":
        connection = await session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        if isinstance(driver, InlineSQLite):
            await driver.begin_immediate()
        else:
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
