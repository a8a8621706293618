"""Abuse flags, cool-downs and the supervisor review queue.

The write path (``tickets``, ``realtime``) calls ``record_flag`` when ``guard.abuse`` or the
secret guard finds something, and ``ensure_not_cooling_down`` before accepting a message.
Restrictions escalate: each cool-down within a day of the previous one lasts longer (5 minutes,
30 minutes, then a day). Supervisors see open flags with the *masked* text only, and dismiss
(which lifts the cool-down that flag started) or action them (optionally with a cool-down of
their own). Every step is in the audit log."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.models import Customer
from kefu.accounts.service import audit
from kefu.core import clock
from kefu.core.errors import Conflict, InvalidInput, NotFound
from kefu.db import sqlite_datetime, sqlite_value, writer_sqlite
from kefu.guard.secrets import scan
from kefu.tickets.models import Ticket
from kefu.trust.errors import CoolingDown
from kefu.trust.models import FLAG_KINDS, FLAG_STATUSES, AbuseFlag, CoolDown

COOLDOWN_STEPS: Final = (timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=24))
ESCALATION_WINDOW: Final = timedelta(hours=24)
EXCERPT_CHARS: Final = 500
MAX_REASONS: Final = 20
MAX_COOLDOWN_MINUTES: Final = 7 * 24 * 60
Decision = Literal["dismissed", "actioned"]


def masked_excerpt(text: str) -> str:
    """What reviewers may read: secrets masked (``[REDACTED …]``), at most 500 characters."""
    masked = scan(text).masked
    return masked if len(masked) <= EXCERPT_CHARS else masked[:EXCERPT_CHARS - 1] + "…"


def _subject(customer_id: uuid.UUID | None, visitor_id: str | None) -> Any:
    if customer_id is not None:
        return CoolDown.customer_id == customer_id
    if visitor_id:
        return CoolDown.visitor_id == visitor_id
    raise ValueError("a cool-down needs a customer or a visitor")


async def cooldown_for(
    session: AsyncSession, *, customer_id: uuid.UUID | None = None, visitor_id: str | None = None
) -> CoolDown | None:
    """The cool-down in force for the customer (or visitor), the one ending last; None if free."""
    return await session.scalar(
        select(CoolDown).where(_subject(customer_id, visitor_id), CoolDown.until > clock.now())
        .order_by(CoolDown.until.desc()).limit(1))


async def ensure_not_cooling_down(
    session: AsyncSession, *, customer_id: uuid.UUID | None = None, visitor_id: str | None = None
) -> None:
    """``CoolingDown`` (429 with ``Retry-After``) while a cool-down is in force."""
    active = await cooldown_for(session, customer_id=customer_id, visitor_id=visitor_id)
    if active is not None:
        raise CoolingDown((clock.ensure_utc(active.until) - clock.now()).total_seconds())


async def cooldowns_in_force(
    session: AsyncSession, *, customer_ids: Collection[uuid.UUID] = (),
    visitor_ids: Collection[str] = (),
) -> dict[uuid.UUID | str, float]:
    """Seconds left of the cool-down in force for each of these customers and visitors that has
    one (keyed by customer id or visitor id), in one query: the chat's batches ask for all their
    senders at once."""
    if not customer_ids and not visitor_ids:
        return {}
    now = clock.now()
    left: dict[uuid.UUID | str, float] = {}
    raw = await writer_sqlite(session)
    rows: Iterable[tuple[uuid.UUID | None, str | None, datetime]]
    if raw is not None:  # the chat writer's batch: the same query, without the ORM's cost
        rows = _cooldowns_raw(raw, customer_ids, visitor_ids, now)
    else:
        subjects = ([CoolDown.customer_id.in_(customer_ids)] if customer_ids else []) + (
            [CoolDown.visitor_id.in_(visitor_ids)] if visitor_ids else [])
        rows = await session.execute(
            select(CoolDown.customer_id, CoolDown.visitor_id, CoolDown.until)
            .where(or_(*subjects), CoolDown.until > now))
    for customer_id, visitor_id, until in rows:
        key: uuid.UUID | str = customer_id or str(visitor_id)
        left[key] = max(left.get(key, 0.0), (clock.ensure_utc(until) - now).total_seconds())
    return left


def _cooldowns_raw(raw: sqlite3.Connection, customer_ids: Collection[uuid.UUID],
                   visitor_ids: Collection[str], now: datetime
                   ) -> list[tuple[uuid.UUID | None, str | None, datetime]]:
    subjects, params = [], []
    if customer_ids:
        subjects.append(f"customer_id IN ({','.join('?' * len(customer_ids))})")
        params += [sqlite_value(c) for c in customer_ids]
    if visitor_ids:
        subjects.append(f"visitor_id IN ({','.join('?' * len(visitor_ids))})")
        params += list(visitor_ids)
    rows = raw.execute(
        f"SELECT customer_id, visitor_id, until FROM cool_downs WHERE ({' OR '.join(subjects)})"
        " AND until > ?", [*params, sqlite_value(now)]).fetchall()
    return [(uuid.UUID(c) if c else None, v, sqlite_datetime(u)) for c, v, u in rows]


async def next_cooldown(
    session: AsyncSession, *, customer_id: uuid.UUID | None, visitor_id: str | None
) -> timedelta:
    """How long the next automatic cool-down lasts: longer for each one in the last day."""
    recent = await session.scalars(select(CoolDown.id).where(
        _subject(customer_id, visitor_id),
        CoolDown.created_at > clock.now() - ESCALATION_WINDOW))
    return COOLDOWN_STEPS[min(len(list(recent)), len(COOLDOWN_STEPS) - 1)]


async def start_cooldown(
    session: AsyncSession,
    actor: Actor | None,
    *,
    customer_id: uuid.UUID | None = None,
    visitor_id: str | None = None,
    duration: timedelta,
    reason: str,
    flag: AbuseFlag | None = None,
) -> CoolDown:
    if duration <= timedelta(0):
        raise InvalidInput("a cool-down must last a positive time", code="invalid_cooldown")
    _subject(customer_id, visitor_id)
    cooldown = CoolDown(
        customer_id=customer_id, visitor_id=None if customer_id else visitor_id,
        until=clock.now() + duration, reason=reason[:200], flag_id=flag.id if flag else None,
        created_by_agent_id=actor.agent.id if actor and actor.agent else None)
    session.add(cooldown)
    await session.flush()
    await audit(session, actor, "abuse.cooldown_started", target_type="customer" if customer_id
                else "visitor", target_id=str(customer_id or visitor_id),
                details={"until": cooldown.until.isoformat(), "reason": cooldown.reason,
                         "flag": str(flag.id) if flag else None})
    return cooldown


async def record_flag(
    session: AsyncSession,
    *,
    kind: str,
    score: float,
    reasons: list[str] | tuple[str, ...],
    text: str = "",
    ticket: Ticket | None = None,
    customer: Customer | None = None,
    visitor_id: str | None = None,
    cool_down: bool = False,
    details: dict[str, Any] | None = None,
) -> AbuseFlag:
    """Put a signal in the review queue (by the system; audited). ``text`` is masked before it
    is stored. ``cool_down``: also stop the customer writing for the next step of
    ``COOLDOWN_STEPS``; for a visitor pass ``visitor_id`` (``actor.visitor_id``), whose
    cool-down ``cooldown_for(visitor_id=...)`` finds whichever ticket they write on."""
    if kind not in FLAG_KINDS:
        raise ValueError(f"unknown flag kind {kind!r}; expected one of {', '.join(FLAG_KINDS)}")
    customer_id = customer.id if customer else (ticket.customer_id if ticket else None)
    if customer_id is None and ticket is None:
        raise ValueError("a flag needs a ticket or a customer")
    flag = AbuseFlag(
        ticket_id=ticket.id if ticket else None, customer_id=customer_id, kind=kind,
        score=round(min(max(float(score), 0.0), 1.0), 4),
        reasons=[str(r)[:200] for r in reasons][:MAX_REASONS], excerpt=masked_excerpt(text),
        details={**(details or {}), **({"visitor_id": visitor_id} if visitor_id else {})})
    session.add(flag)
    await session.flush()
    until = None
    if cool_down:
        # A visitor is held by their visitor id, which stays the same across their tickets.
        subject = None if visitor_id else customer_id
        duration = await next_cooldown(session, customer_id=subject, visitor_id=visitor_id)
        cooldown = await start_cooldown(session, None, customer_id=subject,
                                        visitor_id=visitor_id, duration=duration,
                                        reason=f"automatic: {kind}", flag=flag)
        until = cooldown.until.isoformat()
    await audit(session, None, "abuse.flagged", target_type="ticket" if ticket else "customer",
                target_id=ticket.number if ticket else str(customer_id),
                details={"flag": str(flag.id), "kind": kind, "score": flag.score,
                         "reasons": flag.reasons, "cooldown_until": until})
    return flag


@dataclass(frozen=True)
class FlagView:
    """A flag with what the queue shows next to it."""

    flag: AbuseFlag
    ticket_number: str | None
    customer_external_id: str | None


async def list_flags(
    session: AsyncSession, *, status: str = "open", limit: int = 50
) -> list[FlagView]:
    """Flags in ``status``, oldest first for the open queue (first in, first reviewed), newest
    first otherwise."""
    if status not in FLAG_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(FLAG_STATUSES)}",
                           code="invalid_status")
    order = AbuseFlag.created_at.asc() if status == "open" else AbuseFlag.created_at.desc()
    rows = await session.execute(
        select(AbuseFlag, Ticket.number, Customer.external_id)
        .outerjoin(Ticket, Ticket.id == AbuseFlag.ticket_id)
        .outerjoin(Customer, Customer.id == AbuseFlag.customer_id)
        .where(AbuseFlag.status == status).order_by(order, AbuseFlag.id).limit(limit))
    return [FlagView(flag, number, external_id) for flag, number, external_id in rows]


async def flag_view(session: AsyncSession, flag: AbuseFlag) -> FlagView:
    number = (await session.scalar(select(Ticket.number).where(Ticket.id == flag.ticket_id))
              if flag.ticket_id else None)
    external_id = (await session.scalar(select(Customer.external_id).where(
        Customer.id == flag.customer_id)) if flag.customer_id else None)
    return FlagView(flag, number, external_id)


async def review_flag(
    session: AsyncSession,
    actor: Actor,
    *,
    flag_id: uuid.UUID,
    decision: Decision,
    note: str = "",
    cooldown_minutes: int | None = None,
) -> AbuseFlag:
    """A supervisor's decision on an open flag. Dismissing lifts the cool-down the flag
    started; actioning may start one (``cooldown_minutes``) on the flag's customer."""
    flag = await session.get(AbuseFlag, flag_id, with_for_update=True)
    if flag is None:
        raise NotFound("flag")
    if flag.status != "open":
        raise Conflict("this flag was already reviewed", code="flag_already_reviewed")
    if decision == "dismissed" and cooldown_minutes:
        raise InvalidInput("a dismissed flag cannot start a cool-down", code="invalid_cooldown")
    if cooldown_minutes is not None and not 1 <= cooldown_minutes <= MAX_COOLDOWN_MINUTES:
        raise InvalidInput(f"a cool-down lasts 1 to {MAX_COOLDOWN_MINUTES} minutes",
                           code="invalid_cooldown")
    now = clock.now()
    flag.status, flag.reviewed_at, flag.review_note = decision, now, note.strip()
    flag.reviewed_by_agent_id = actor.agent.id if actor.agent else None
    lifted = 0
    if decision == "dismissed":
        result = await session.execute(update(CoolDown).where(
            CoolDown.flag_id == flag.id, CoolDown.until > now).values(until=now))
        lifted = int(getattr(result, "rowcount", 0) or 0)
    await session.flush()
    await audit(session, actor, f"abuse.flag_{decision}", target_type="abuse_flag",
                target_id=str(flag.id), details={"kind": flag.kind, "note": flag.review_note,
                                                  "cooldowns_lifted": lifted})
    if decision == "actioned" and cooldown_minutes is not None:
        visitor = flag.details.get("visitor_id")
        await start_cooldown(session, actor, customer_id=None if visitor else flag.customer_id,
                             visitor_id=visitor,
                             duration=timedelta(minutes=cooldown_minutes),
                             reason=f"supervisor: {flag.kind}", flag=flag)
    return flag


async def flagged_codes(session: AsyncSession, *, ticket_id: uuid.UUID, kind: str) -> set[str]:
    """The ``codes`` recorded in the details of a ticket's flags of ``kind``, whatever their
    review: what the customer was already warned about (scam kinds are warned once a ticket)."""
    rows = await session.scalars(select(AbuseFlag.details).where(
        AbuseFlag.ticket_id == ticket_id, AbuseFlag.kind == kind))
    return {str(code) for details in rows for code in details.get("codes", [])}


async def open_flag_count(session: AsyncSession, *, ticket_id: uuid.UUID) -> int:
    """Open flags on a ticket: the console shows the count next to the review queue link."""
    count = await session.scalar(select(func.count()).select_from(AbuseFlag).where(
        AbuseFlag.status == "open", AbuseFlag.ticket_id == ticket_id))
    return int(count or 0)
