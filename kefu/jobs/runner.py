"""Durable jobs: enqueue in the caller's transaction, run after commit, retry, dead-letter.

The ``jobs`` table is a transactional outbox. :func:`enqueue` inserts a row in the caller's
transaction, so a job exists only if that transaction commits, and wakes the runner after the
commit. A :class:`JobRunner` claims due rows, runs the registered handler, and records the result.

Guarantees of :class:`DatabaseJobRunner` (embedded mode, SQLite or PostgreSQL):

- A job runs only after the transaction that enqueued it commits; on rollback it never exists.
- A claim is a compare-and-set on the row, so two runners never run the same job at once; on
  PostgreSQL candidates are picked with ``FOR UPDATE SKIP LOCKED`` so runners do not queue up on
  the same row.
- A handler's database writes commit in the same transaction that marks the job done: they happen
  exactly once. External effects (HTTP calls) are at least once; make them idempotent (webhooks
  carry a stable event id for this).
- A claim holds a lease (``locked_until``) longer than the handler timeout. A job left ``running``
  by a crashed or killed process is re-queued once its lease has expired, when a runner starts or
  polls: a restart loses nothing.
- A failure is recorded as ``last_error`` (exception type and message, never the payload) and the
  job is retried after ``backoff_base * 2**(attempts-1)`` seconds (capped, plus jitter), then
  moved to ``dead`` after ``max_attempts``; operators retry dead jobs with
  ``kefu.jobs.service.retry_dead``.
- Finished (``done``) jobs are deleted ``jobs_keep_done_days`` (7) after they finished, by each
  runner once an hour, so a 24/7 service does not grow the table forever; dead jobs stay. A
  ``dedupe_key`` holds as long as its row does.

Cluster mode (a later change): a ``RedisJobRunner`` implementing :class:`JobRunner` on arq or saq.
The jobs table stays the outbox, so enqueueing stays transactional; that runner relays committed
``queued`` rows to Redis (claiming them with the same compare-and-set) and its workers call the
same handlers with the same :class:`JobContext`, reporting back through the same done / retry /
dead transitions. :func:`create_job_runner` is where configuration picks it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.config import Settings
from kefu.core import clock
from kefu.core.ids import new_id
from kefu.db import Database, after_commit, insert_or_ignore
from kefu.jobs.models import Job

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 3600.0
RETRY_LATER_FOR_S = 24 * 3600.0
# Up to this fraction of the delay is added at random, so jobs that failed together (an endpoint
# down) do not all retry in the same instant.
BACKOFF_JITTER = 0.2
ERROR_MAX_CHARS = 2000
PURGE_EVERY_S = 3600.0
PURGE_CHUNK = 1000  # rows per delete: short transactions, SQLite has one write lock
DEFAULT_JOB_TIMEOUT_S = 300.0
DEFAULT_LEASE_GRACE_S = 60.0
DEFAULT_STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class JobContext:
    """What a handler gets besides its session and payload."""

    settings: Settings
    db: Database
    http: httpx.AsyncClient
    attempt: int  # 1 on the first run
    job_id: uuid.UUID
    max_attempts: int

    @property
    def is_last_attempt(self) -> bool:
        """If this attempt fails, the job goes dead instead of being retried."""
        return self.attempt >= self.max_attempts


Handler = Callable[[AsyncSession, dict[str, Any], JobContext], Awaitable[None]]


class RetryLater(Exception):
    """Raised by a handler that knows when its next attempt may succeed (a 429 with
    ``retry_after``): the job is retried after ``delay_s`` instead of the exponential backoff.
    The receiver asked us to wait, the job did not fail, so the attempt does not count towards
    ``max_attempts`` — for RETRY_LATER_FOR_S after the job was queued; after that it does, so a
    receiver that never stops answering 429 cannot keep a job alive for ever."""

    def __init__(self, message: str, *, delay_s: float) -> None:
        super().__init__(message)
        self.delay_s = max(0.0, min(float(delay_s), MAX_BACKOFF_S))


class JobRegistry:
    """Job names → handlers. The app builds one and each domain adds its handlers to it
    (``webhooks.service.register_jobs(registry)``); no module-level registry."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, name: str) -> Callable[[Handler], Handler]:
        """Decorator: ``@registry.register("webhooks.deliver")``. A name is registered once."""

        def decorator(handler: Handler) -> Handler:
            if name in self._handlers:
                raise ValueError(f"job {name!r} is already registered")
            self._handlers[name] = handler
            return handler

        return decorator

    def get(self, name: str) -> Handler | None:
        return self._handlers.get(name)

    def names(self) -> list[str]:
        return sorted(self._handlers)

    def __contains__(self, name: object) -> bool:
        return name in self._handlers


async def enqueue(
    session: AsyncSession,
    name: str,
    payload: dict[str, Any],
    *,
    run_at: datetime | None = None,
    max_attempts: int | None = None,
    dedupe_key: str | None = None,
) -> Job:
    """Add a job in the caller's transaction: it becomes visible to runners only when that
    transaction commits, and never exists if it rolls back. After the commit the in-process
    runner is woken, so the job starts at once rather than at the next poll.

    ``payload`` must be JSON (pass ids as strings) and should hold references, not secrets: it is
    stored in clear and shown to operators. ``max_attempts=None`` uses the runner's
    ``Settings.jobs_max_attempts``. A ``dedupe_key`` names one unit of work: if a job with that
    key already exists, whatever its status, it is returned and nothing is added."""
    if max_attempts is not None and max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    try:
        json.dumps(payload)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"job payload for {name!r} is not JSON: {exc}") from exc

    job = Job(
        name=name,
        payload=payload,
        run_at=run_at if run_at is not None else clock.now(),
        max_attempts=max_attempts,
        dedupe_key=dedupe_key,
    )
    if dedupe_key is None:
        session.add(job)
        await session.flush()
    else:
        # A concurrent transaction may commit the same key between a check and an insert, so
        # insert-or-ignore and then read whichever row won.
        job_id = new_id()
        await insert_or_ignore(session, Job, {
            "id": job_id, "name": name, "payload": payload, "status": "queued",
            "attempts": 0, "run_at": job.run_at, "max_attempts": max_attempts,
            "dedupe_key": dedupe_key})
        existing = await _job_by_dedupe_key(session, dedupe_key)
        if existing is None:  # pragma: no cover - the row exists after insert-or-ignore
            raise RuntimeError("dedupe insert vanished")
        if existing.id != job_id:
            return existing
        job = existing

    wake_runner_after_commit(session)
    return job


def wake_runner_after_commit(session: AsyncSession) -> None:
    """Once this session's transaction commits, wake the in-process runner (if any) so the jobs
    it made due start now rather than at the next poll."""
    db = session.info.get("db")
    if isinstance(db, Database):

        async def wake() -> None:
            db.wake_jobs()

        after_commit(session, wake)


async def _job_by_dedupe_key(session: AsyncSession, dedupe_key: str) -> Job | None:
    job: Job | None = await session.scalar(select(Job).where(Job.dedupe_key == dedupe_key))
    return job


class JobRunner(Protocol):
    """Runs enqueued jobs. Started and stopped by the app's lifespan; ``run_pending`` runs every
    due job now, in the calling task (tests, the CLI)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def run_pending(self) -> int: ...


def backoff_delay(
    attempts: int,
    *,
    base_s: float,
    cap_s: float = MAX_BACKOFF_S,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: ``base_s * 2**(attempts-1)``,
    capped at ``cap_s``, plus up to 20 % jitter."""
    exponent = min(max(attempts - 1, 0), 62)
    delay = min(base_s * 2.0**exponent, cap_s)
    return delay + (rng or random.Random()).random() * BACKOFF_JITTER * delay


def describe_error(exc: BaseException) -> str:
    """Type and message of a failure, bounded; the payload is never included."""
    message = str(exc).strip()
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text if len(text) <= ERROR_MAX_CHARS else text[: ERROR_MAX_CHARS - 1] + "…"


@dataclass(frozen=True)
class _Claim:
    id: uuid.UUID
    name: str
    payload: dict[str, Any]
    attempt: int  # the row's ``attempts`` after the claim: the claim's fencing token
    max_attempts: int | None
    created_at: datetime


class _LeaseLost(Exception):
    """The job is no longer ours (its lease expired and another runner re-queued it)."""


class DatabaseJobRunner:
    """The in-process runner of embedded mode: one background task that polls the ``jobs`` table
    every ``settings.jobs_poll_interval_s``, or at once when woken after a commit that enqueued a
    job (through ``db.jobs_wakeup``, which ``start`` installs). Jobs run one at a time, each
    bounded by ``job_timeout_s``; the lease is that plus ``lease_grace_s``. Several runners (in
    several processes) may share one database.

    Create it in the app's lifespan; ``stop()`` lets the current job finish, cancelling it only
    after ``stop_timeout_s`` (it is then put back in the queue). Call ``stop()`` also when only
    ``run_pending`` was used: it closes the HTTP client the runner created."""

    def __init__(
        self,
        db: Database,
        registry: JobRegistry,
        settings: Settings,
        *,
        http: httpx.AsyncClient | None = None,
        job_timeout_s: float = DEFAULT_JOB_TIMEOUT_S,
        lease_grace_s: float = DEFAULT_LEASE_GRACE_S,
        stop_timeout_s: float = DEFAULT_STOP_TIMEOUT_S,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.registry = registry
        self.settings = settings
        self.job_timeout_s = job_timeout_s
        self.lease_s = job_timeout_s + lease_grace_s
        self.stop_timeout_s = stop_timeout_s
        self._http = http
        self._owns_http = http is None
        self._rng = rng or random.Random()
        self._task: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Event | None = None
        self._stopping = False
        self._purged_at: float | None = None  # loop time of the last purge

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Re-queue jobs whose lease expired (a previous process died mid-job), then start the
        background task."""
        if self._task is not None:
            raise RuntimeError("job runner already started")
        self._stopping = False
        self._wakeup = asyncio.Event()
        self.db.jobs_wakeup = self._wakeup
        await self.requeue_expired()
        self._task = asyncio.create_task(self._poll_forever(), name="kefu-job-runner")

    async def stop(self, timeout_s: float | None = None) -> None:
        """Finish the current job and exit; after ``timeout_s`` (default ``stop_timeout_s``)
        cancel it instead, putting it back in the queue."""
        self._stopping = True
        if self._wakeup is not None:
            self._wakeup.set()
        task, self._task = self._task, None
        if task is not None:
            timeout = self.stop_timeout_s if timeout_s is None else timeout_s
            _done, pending = await asyncio.wait({task}, timeout=timeout)
            if pending:
                log.warning("job runner: stop timed out after %ss; cancelling", timeout)
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._wakeup is not None and self.db.jobs_wakeup is self._wakeup:
            self.db.jobs_wakeup = None
        self._wakeup = None
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def run_pending(self) -> int:
        """Run every job due now (including those whose lease expired), one after another, in
        the calling task; return how many ran. A job that fails is re-queued for later, not
        retried within this call."""
        return await self._run_due(interruptible=False)

    async def requeue_expired(self) -> int:
        """Put back jobs left ``running`` past their lease (their runner crashed or was killed);
        one that was on its last attempt goes dead instead, so a job that kills its process
        cannot loop forever."""
        now = clock.now()
        expired = (
            Job.status == "running",
            or_(Job.locked_until.is_(None), Job.locked_until < now),
        )
        default_max = self.settings.jobs_max_attempts
        async with self.db.transaction() as session:
            # Read first: an idle poll then takes no write lock (SQLite has only one).
            if await session.scalar(select(Job.id).where(*expired).limit(1)) is None:
                return 0
            dead = await session.execute(
                update(Job)
                .where(*expired, Job.attempts >= func.coalesce(Job.max_attempts, default_max))
                .values(
                    status="dead",
                    locked_until=None,
                    finished_at=now,
                    last_error="lease expired on the last attempt (the runner stopped or crashed)",
                )
                .returning(Job.id, Job.name)
                .execution_options(synchronize_session=False)
            )
            dead_rows = dead.all()
            requeued = await session.execute(
                update(Job)
                .where(*expired)
                .values(
                    status="queued",
                    run_at=now,
                    locked_until=None,
                    last_error="lease expired (the runner stopped or crashed); re-queued",
                )
                .returning(Job.id, Job.name)
                .execution_options(synchronize_session=False)
            )
            requeued_rows = requeued.all()
        for job_id, name in dead_rows:
            log.error("job %s (%s) dead: lease expired on its last attempt", job_id, name)
        for job_id, name in requeued_rows:
            log.warning("job %s (%s) re-queued: its lease expired", job_id, name)
        return len(dead_rows) + len(requeued_rows)

    async def purge_done(self) -> int:
        """Delete jobs that finished more than ``jobs_keep_done_days`` ago, in chunks; dead
        jobs stay for operators. Returns how many were deleted."""
        if self.settings.jobs_keep_done_days <= 0:
            return 0
        cutoff = clock.now() - timedelta(days=self.settings.jobs_keep_done_days)
        # run_at <= finished_at, so the (status, run_at) index narrows the search.
        old = (select(Job.id).where(Job.status == "done", Job.run_at < cutoff,
                                    Job.finished_at < cutoff).limit(PURGE_CHUNK))
        deleted = 0
        while True:
            async with self.db.transaction() as session:
                ids = list((await session.scalars(old)).all())
                if ids:
                    await session.execute(delete(Job).where(Job.id.in_(ids))
                                          .execution_options(synchronize_session=False))
            deleted += len(ids)
            if len(ids) < PURGE_CHUNK or self._stopping:
                break
        if deleted:
            log.info("job runner: deleted %d finished jobs older than %s days", deleted,
                     self.settings.jobs_keep_done_days)
        return deleted

    async def _poll_forever(self) -> None:
        wakeup = self._wakeup
        assert wakeup is not None
        loop = asyncio.get_running_loop()
        while not self._stopping:
            wakeup.clear()
            try:
                await self._run_due(interruptible=True)
            except Exception:
                log.exception("job runner: polling failed; trying again")
            if self._purged_at is None or loop.time() - self._purged_at >= PURGE_EVERY_S:
                self._purged_at = loop.time()
                try:
                    await self.purge_done()
                except Exception:
                    log.exception("job runner: purging finished jobs failed; next hour again")
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), timeout=self.settings.jobs_poll_interval_s)

    async def _run_due(self, *, interruptible: bool) -> int:
        await self.requeue_expired()
        # Jobs re-queued during this call get a later run_at, so one call runs each job once.
        horizon = clock.now()
        count = 0
        while not (interruptible and self._stopping):
            claim = await self._claim_next(horizon)
            if claim is None:
                break
            await self._run(claim)
            count += 1
        return count

    async def _claim_next(self, horizon: datetime) -> _Claim | None:
        while True:
            async with self.db.transaction() as session:
                job_id = await session.scalar(
                    select(Job.id)
                    .where(Job.status == "queued", Job.run_at <= horizon)
                    .order_by(Job.run_at, Job.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)  # PostgreSQL; SQLite ignores it
                )
                if job_id is None:
                    return None
                # Compare-and-set: only one runner turns this row from queued to running.
                claimed = await session.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == "queued")
                    .values(
                        status="running",
                        attempts=Job.attempts + 1,
                        locked_until=clock.now() + timedelta(seconds=self.lease_s),
                    )
                    .returning(Job.name, Job.payload, Job.attempts, Job.max_attempts,
                               Job.created_at)
                    .execution_options(synchronize_session=False)
                )
                row = claimed.one_or_none()
            if row is not None:
                name, payload, attempts, max_attempts, created_at = row
                return _Claim(job_id, name, dict(payload or {}), attempts, max_attempts,
                              clock.ensure_utc(created_at))
            # Another runner claimed it between our select and update: try the next one.

    async def _run(self, claim: _Claim) -> None:
        handler = self.registry.get(claim.name)
        if handler is None:
            error = f"no handler registered for job {claim.name!r}"
            log.error("job %s dead: %s", claim.id, error)
            await self._transition(claim, status="dead", finished_at=clock.now(), last_error=error)
            return
        context = JobContext(
            settings=self.settings,
            db=self.db,
            http=self._http_client(),
            attempt=claim.attempt,
            job_id=claim.id,
            max_attempts=claim.max_attempts or self.settings.jobs_max_attempts,
        )
        try:
            async with asyncio.timeout(self.job_timeout_s), self.db.transaction() as session:
                await handler(session, claim.payload, context)
                # Marked done in the handler's own transaction: its writes happen exactly once.
                marked = await session.execute(
                    update(Job)
                    .where(*self._ours(claim))
                    .values(status="done", locked_until=None, finished_at=clock.now())
                    .returning(Job.id)
                    .execution_options(synchronize_session=False)
                )
                if marked.one_or_none() is None:
                    raise _LeaseLost
        except asyncio.CancelledError:
            await self._release(claim)
            raise
        except _LeaseLost:
            log.warning(
                "job %s (%s): lease lost to another runner; result discarded", claim.id, claim.name
            )
        except Exception as exc:
            await self._record_failure(claim, context, exc)
        else:
            log.info("job %s (%s) done on attempt %d", claim.id, claim.name, claim.attempt)

    async def _record_failure(self, claim: _Claim, context: JobContext, exc: Exception) -> None:
        error = describe_error(exc)
        now = clock.now()
        if (isinstance(exc, RetryLater)
                and (now - claim.created_at).total_seconds() < RETRY_LATER_FOR_S):
            log.info("job %s (%s) asked to wait %.1fs: %s", claim.id, claim.name, exc.delay_s,
                     error)
            await self._transition(claim, status="queued",
                                   run_at=now + timedelta(seconds=exc.delay_s),
                                   locked_until=None, attempts=claim.attempt - 1,
                                   last_error=error)
            return
        if context.is_last_attempt:
            log.error(
                "job %s (%s) dead after %d attempts: %s", claim.id, claim.name, claim.attempt, error
            )
            await self._transition(
                claim, status="dead", locked_until=None, finished_at=now, last_error=error
            )
            return
        delay = exc.delay_s if isinstance(exc, RetryLater) else backoff_delay(
            claim.attempt, base_s=self.settings.jobs_backoff_base_s, rng=self._rng
        )
        log.warning(
            "job %s (%s) attempt %d failed, retrying in %.1fs: %s",
            claim.id,
            claim.name,
            claim.attempt,
            delay,
            error,
        )
        await self._transition(
            claim,
            status="queued",
            run_at=now + timedelta(seconds=delay),
            locked_until=None,
            last_error=error,
        )

    async def _release(self, claim: _Claim) -> None:
        """Cancelled at shutdown: put the job back, due now, without counting the attempt."""
        try:
            await self._transition(
                claim,
                status="queued",
                run_at=clock.now(),
                locked_until=None,
                attempts=claim.attempt - 1,
                last_error="cancelled at shutdown; re-queued",
            )
        except Exception:
            log.exception(
                "job %s: could not re-queue after cancellation; its lease will expire", claim.id
            )

    async def _transition(self, claim: _Claim, **values: Any) -> None:
        async with self.db.transaction() as session:
            result = await session.execute(
                update(Job)
                .where(*self._ours(claim))
                .values(**values)
                .returning(Job.id)
                .execution_options(synchronize_session=False)
            )
            if result.one_or_none() is None:
                log.warning("job %s: lease lost before recording %s", claim.id, values["status"])

    @staticmethod
    def _ours(claim: _Claim) -> tuple[Any, ...]:
        """Still running under this claim: ``attempts`` is the fencing token."""
        return (Job.id == claim.id, Job.status == "running", Job.attempts == claim.attempt)

    def _http_client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                follow_redirects=False, timeout=self.settings.webhook_timeout_s
            )
        return self._http


def create_job_runner(
    db: Database,
    registry: JobRegistry,
    settings: Settings,
    *,
    http: httpx.AsyncClient | None = None,
) -> JobRunner:
    """The runner the configuration asks for. Today always :class:`DatabaseJobRunner`, which
    also works with several processes on PostgreSQL; a ``RedisJobRunner`` (arq/saq) for cluster
    mode will be chosen here when ``settings.redis_url`` is set."""
    return DatabaseJobRunner(db, registry, settings, http=http)
