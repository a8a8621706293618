"""Operators' view of the job queue: list, count, and retry dead-lettered jobs."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core import clock
from kefu.core.errors import Conflict, InvalidInput, NotFound
from kefu.jobs.models import STATUSES, Job
from kefu.jobs.runner import wake_runner_after_commit


async def list_jobs(
    session: AsyncSession, *, status: str | None = None, limit: int = 100
) -> list[Job]:
    """Newest first, optionally of one status."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"unknown job status {status!r}", code="invalid_job_status")
    query = select(Job).order_by(Job.created_at.desc(), Job.id).limit(max(1, min(limit, 1000)))
    if status is not None:
        query = query.where(Job.status == status)
    return list(await session.scalars(query))


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    """Every status, zero included: ``{"queued": 3, "running": 1, "done": 40, "dead": 0}``."""
    rows = await session.execute(select(Job.status, func.count()).group_by(Job.status))
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in rows:
        counts[status] = count
    return counts


async def retry_dead(session: AsyncSession, job_id: uuid.UUID) -> Job:
    """Give a dead job a fresh set of attempts, due now. Its ``last_error`` is kept until it runs
    again, so the operator still sees why it died."""
    job = await session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFound("job")
    if job.status != "dead":
        raise Conflict(
            f"only dead jobs can be retried; this one is {job.status}", code="job_not_dead"
        )
    job.status = "queued"
    job.attempts = 0
    job.run_at = clock.now()
    job.locked_until = None
    job.finished_at = None
    await session.flush()
    wake_runner_after_commit(session)
    return job
