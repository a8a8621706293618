"""Group commit for chat messages: many sends, one transaction, then every ack.

Each websocket ``send`` becomes a job. One task per process takes whatever jobs are waiting (up
to ``MAX_BATCH``), runs each in its own SAVEPOINT inside one transaction, commits, and only then
resolves the jobs' futures, so an ack always means committed. One failing job (a closed ticket)
fails alone. On SQLite this turns hundreds of tiny write transactions a second, each waiting for
the database lock, into a few larger ones; on PostgreSQL it saves round trips and fsyncs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.errors import KefuError
from kefu.core.logging import get_logger
from kefu.db import Database, savepoint

log = get_logger("kefu.realtime.writer")
MAX_BATCH = 256
Work = Callable[[AsyncSession], Awaitable[Any]]


@dataclass
class _Job:
    work: Work
    future: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop()
                                        .create_future())


class MessageWriter:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.jobs = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="kefu-message-writer")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def submit(self, work: Work) -> Any:
        """Run ``work(session)`` in the next batch; returns its result once committed. A
        KefuError raised by the work is re-raised here; nothing of that job is kept."""
        if self._task is None:
            raise RuntimeError("message writer is not running")
        job = _Job(work)
        await self._queue.put(job)
        return await job.future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._commit(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _commit(self, batch: list[_Job]) -> None:
        results: list[tuple[_Job, Any, BaseException | None]] = []
        try:
            async with self.db.transaction() as session:
                for job in batch:
                    try:
                        async with savepoint(session):
                            results.append((job, await job.work(session), None))
                    except KefuError as exc:
                        results.append((job, None, exc))
        except Exception as exc:  # noqa: BLE001 - the whole batch failed: nothing was committed
            log.warning("batch_failed", size=len(batch), error=type(exc).__name__)
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(
                        KefuError("the message could not be saved; send it again",
                                  code="not_saved", status=503))
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
