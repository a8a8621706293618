"""Realtime events, published after the transaction that caused them commits.

Topics: ``ticket:<id>`` (messages, typing, read receipts, status, viewers), ``inbox`` (ticket
summaries for agents' lists; each connection filters by what its agent may read) and
``agent:<id>`` (mentions, assignments). Keys starting with ``_`` route events inside the server
and are stripped before a frame leaves it."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.logging import get_logger
from kefu.db import Database, after_commit

log = get_logger("kefu.realtime.events")
INBOX = "inbox"
AGENTS = "agents"  # agents' availability (agent_status)


@functools.lru_cache(maxsize=1 << 16)  # per message, for tickets in conversation: kept
def ticket_topic(ticket_id: uuid.UUID | str) -> str:
    return f"ticket:{ticket_id}"


@functools.lru_cache(maxsize=1 << 16)
def topic_ticket(topic: str) -> uuid.UUID:
    """The ticket of a ``ticket:…`` topic (what :func:`ticket_topic` made)."""
    return uuid.UUID(topic.split(":", 1)[1])


def agent_topic(agent_id: uuid.UUID | str) -> str:
    return f"agent:{agent_id}"


def publish_after_commit(session: AsyncSession, topic: str, event: dict[str, Any]) -> None:
    """Queue ``event`` for ``topic``; it leaves only if and when the session commits."""
    db = session.info.get("db")
    if not isinstance(db, Database) or db.publish is None:
        return
    publish = db.publish

    async def send() -> None:
        try:
            await publish(topic, event)
        except Exception as exc:  # noqa: BLE001 - committed data is safe; clients resume
            log.warning("publish_failed", topic=topic, error=type(exc).__name__)

    after_commit(session, send)


async def publish_now(db: Database, topic: str, event: dict[str, Any]) -> None:
    """For ephemeral events that touch no data (typing, viewing)."""
    if db.publish is not None:
        try:
            await db.publish(topic, event)
        except Exception as exc:  # noqa: BLE001
            log.warning("publish_failed", topic=topic, error=type(exc).__name__)
