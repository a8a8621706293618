"""The status page: planned maintenance, incidents, and per-network deposit and withdrawal
status ("USDT TRC20 withdrawals delayed"). Agents write it; the help center, the widget and
the assistant read it (``current_status``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.service import audit
from kefu.core import clock
from kefu.core.errors import Conflict, InvalidInput, NotFound
from kefu.kb import schemas
from kefu.kb.languages import localized
from kefu.kb.models import StatusEntry

RECENT = timedelta(days=7)
# Most serious first on every list.
_KIND_ORDER = {"incident": 0, "network": 1, "maintenance": 2}
_STATE_ORDER = {"suspended": 0, "delayed": 1, "degraded": 2, "operational": 3}


@dataclass(frozen=True)
class StatusNotice:
    """One current line of the status page in a reader's language (for the assistant)."""

    kind: str
    state: str
    coin: str
    network: str
    direction: str | None
    title: str
    body: str
    starts_at: datetime
    ends_at: datetime | None


def is_current(entry: StatusEntry, now: datetime) -> bool:
    return entry.starts_at <= now and (entry.ends_at is None or entry.ends_at > now)


def is_disruption(entry: StatusEntry) -> bool:
    """Worth a banner: an incident, maintenance under way, or a network not operational."""
    return entry.kind != "network" or entry.state != "operational"


async def get_entry(session: AsyncSession, entry_id: uuid.UUID) -> StatusEntry:
    entry = await session.get(StatusEntry, entry_id)
    if entry is None:
        raise NotFound("status entry")
    return entry


def _check(entry: StatusEntry) -> None:
    if entry.kind == "network" and not (entry.network and entry.direction):
        raise InvalidInput("a network entry needs a network and a direction",
                           code="network_fields_required")
    if entry.ends_at is not None and entry.ends_at <= entry.starts_at:
        raise InvalidInput("the end must be after the start", code="invalid_period")


async def create_entry(
    session: AsyncSession, actor: Actor, data: schemas.StatusEntryCreate
) -> StatusEntry:
    entry = StatusEntry(
        kind=data.kind, state=data.state, coin=data.coin.upper(), network=data.network.strip(),
        direction=data.direction, titles=dict(data.titles),
        bodies={k: v for k, v in data.bodies.items() if v.strip()},
        starts_at=data.starts_at or clock.now(), ends_at=data.ends_at,
        created_by_id=actor.agent.id if actor.agent else None, updated_at=clock.now())
    _check(entry)
    session.add(entry)
    await session.flush()
    await audit(session, actor, "status.created", target_type="status_entry",
                target_id=str(entry.id), details={"kind": entry.kind, "state": entry.state})
    return entry


async def update_entry(
    session: AsyncSession, actor: Actor, entry: StatusEntry, data: schemas.StatusEntryUpdate
) -> StatusEntry:
    changes = data.model_dump(exclude_unset=True)
    if data.state is not None:
        entry.state = data.state
    if data.titles is not None:
        entry.titles = dict(data.titles)
    if data.bodies is not None:
        entry.bodies = {k: v for k, v in data.bodies.items() if v.strip()}
    if data.starts_at is not None:
        entry.starts_at = data.starts_at
    if "ends_at" in changes:
        entry.ends_at = data.ends_at
    if data.end_now:
        if entry.starts_at > clock.now():  # it would stay listed as a zero-length plan
            raise Conflict("this entry has not started: delete it, or change its times",
                           code="status_not_started")
        entry.ends_at = max(clock.now(), entry.starts_at + timedelta(microseconds=1))
    _check(entry)
    entry.updated_at = clock.now()
    await audit(session, actor, "status.updated", target_type="status_entry",
                target_id=str(entry.id), details={k: str(v) for k, v in changes.items()})
    await session.flush()
    return entry


async def delete_entry(session: AsyncSession, actor: Actor, entry: StatusEntry) -> None:
    await audit(session, actor, "status.deleted", target_type="status_entry",
                target_id=str(entry.id))
    await session.delete(entry)
    await session.flush()


def _order(entry: StatusEntry) -> tuple[int, int, float]:
    return (_KIND_ORDER[entry.kind], _STATE_ORDER[entry.state], -entry.starts_at.timestamp())


async def entries(session: AsyncSession, *, scope: str = "visible") -> list[StatusEntry]:
    """``current`` (in effect now), ``upcoming`` (starts later), ``recent`` (ended in the last 7
    days), ``visible`` (all three: what the status page shows) or ``all``."""
    now = clock.now()
    query = select(StatusEntry)
    if scope == "current":
        query = query.where(StatusEntry.starts_at <= now,
                            or_(StatusEntry.ends_at.is_(None), StatusEntry.ends_at > now))
    elif scope == "upcoming":
        query = query.where(StatusEntry.starts_at > now)
    elif scope == "recent":
        query = query.where(StatusEntry.ends_at <= now, StatusEntry.ends_at > now - RECENT)
    elif scope == "visible":
        query = query.where(or_(StatusEntry.ends_at.is_(None),
                                StatusEntry.ends_at > now - RECENT))
    rows = list(await session.scalars(query))
    return sorted(rows, key=_order)


def entry_read(entry: StatusEntry, lang: str) -> schemas.StatusEntryRead:
    return schemas.StatusEntryRead(
        id=entry.id, kind=entry.kind,
        state=entry.state,
        coin=entry.coin, network=entry.network,
        direction=entry.direction,
        title=localized(entry.titles, lang), body=localized(entry.bodies, lang),
        titles=dict(entry.titles), bodies=dict(entry.bodies), starts_at=entry.starts_at,
        ends_at=entry.ends_at, current=is_current(entry, clock.now()),
        updated_at=entry.updated_at)


async def current_status(session: AsyncSession, lang: str) -> list[StatusNotice]:
    """What is going on right now, most serious first, in ``lang`` where written (else the
    nearest language): for the assistant ("TRC20 withdrawals are delayed") and agents."""
    return [StatusNotice(kind=e.kind, state=e.state, coin=e.coin, network=e.network,
                         direction=e.direction, title=localized(e.titles, lang),
                         body=localized(e.bodies, lang), starts_at=e.starts_at,
                         ends_at=e.ends_at)
            for e in await entries(session, scope="current")]


async def banner(session: AsyncSession) -> list[StatusEntry]:
    """The current disruptions that the help center and the widget announce."""
    return [e for e in await entries(session, scope="current") if is_disruption(e)]
