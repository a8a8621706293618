"""The ``jobs`` table: a transactional outbox of work to do after commit, and its run history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.db import Base, CreatedMixin, IdMixin

# queued → running → done; running → queued (retry with backoff) → … → dead (dead letter).
STATUSES = ("queued", "running", "done", "dead")


class Job(IdMixin, CreatedMixin, Base):
    """One unit of deferred work. Inserted in the enqueuing transaction, so it exists only if that
    transaction commits; claimed by a runner with a compare-and-set and a lease
    (``locked_until``), so it runs at most once at a time and survives a crashed runner."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES!r}", name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        CheckConstraint("max_attempts IS NULL OR max_attempts >= 1", name="max_attempts"),
        Index("ix_jobs_status_run_at", "status", "run_at"),
    )

    name: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    # Incremented when a runner claims the job; also the fencing token of that claim.
    attempts: Mapped[int] = mapped_column(default=0)
    # ``None``: the runner's ``Settings.jobs_max_attempts``.
    max_attempts: Mapped[int | None] = mapped_column(default=None)
    run_at: Mapped[datetime] = mapped_column(default=clock.now)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # Names one unit of work: a second enqueue with the same key returns the first job.
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)
