"""The supervisor view's numbers, and the feed that keeps supervisors' consoles live.

A ticket *waits* while its status is ``new`` (no agent has answered yet), as in
``realtime.queue``. For each team and each language the floor shows how many wait, how long
the oldest has waited and how many are *at SLA risk*: waiting longer than the first-response
target of their priority (``FIRST_RESPONSE_TARGETS_S``). It also shows every agent's status and
load (tickets assigned to them in ``LOAD_STATUSES``) against their capacity, and the escalated
tickets, oldest escalation first.

``SupervisorFeed`` recomputes the snapshot every ``interval_s`` (2 s) while at least one
supervisor or admin is connected to this process, and pushes a ``supervisor`` frame to those
connections only when something changed. Waiting times grow every second by themselves, so
they do not count as a change: the frame carries ``oldest_at`` and the server time ``at``, and
the console counts the seconds itself."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.models import Agent, Team, agent_teams
from kefu.core import clock
from kefu.core.language import autonym
from kefu.core.logging import get_logger
from kefu.core.periodic import Periodic
from kefu.db import Database
from kefu.realtime.hub import Connection, Hub
from kefu.realtime.queue import WAITING
from kefu.tickets.models import Ticket

log = get_logger("kefu.realtime.supervisor")

# First-response targets by priority, in seconds: a ticket still waiting (status ``new``) for
# longer than its target is counted as "SLA at risk". Urgent covers security incidents (stolen
# accounts, unauthorized withdrawals), so it gets minutes, not hours.
FIRST_RESPONSE_TARGETS_S: dict[str, int] = {
    "urgent": 5 * 60,
    "high": 15 * 60,
    "normal": 60 * 60,
    "low": 240 * 60,
}
# What occupies an agent: tickets assigned to them that are waiting on them or on the customer.
# Escalated tickets sit in the supervisors' queue; resolved and closed ones are done.
LOAD_STATUSES = ("new", "open", "pending")
WAITING_LISTED = 50  # waiting tickets listed one by one (the counts cover all of them)
ESCALATED_LISTED = 100
FEED_INTERVAL_S = 2.0
# Keys whose values change with the clock alone; they never make a frame "changed".
_VOLATILE = frozenset({"at", "wait_s", "longest_wait_s"})


@dataclass(frozen=True)
class QueueRow:
    """One queue: a team (``key`` = team id, ``""`` for tickets without a team) or a language."""

    key: str
    name: str
    waiting: int = 0
    longest_wait_s: int = 0
    oldest_at: datetime | None = None
    sla_at_risk: int = 0
    agents_online: int = 0


@dataclass(frozen=True)
class WaitingTicket:
    number: str
    subject: str
    team_id: str | None
    language: str
    priority: str
    position: int  # 1 = next in its team's queue
    created_at: datetime
    wait_s: int
    target_s: int
    at_risk: bool
    # the row of ``languages`` it waits in ("zh" for zh-CN): the lists name it as the queue
    queue_language: str = ""


@dataclass(frozen=True)
class AgentRow:
    id: str
    name: str
    role: str
    status: str
    load: int
    capacity: int
    team_ids: list[str] = field(default_factory=list)

    @property
    def full(self) -> bool:
        return self.load >= self.capacity


@dataclass(frozen=True)
class EscalatedTicket:
    number: str
    subject: str
    reason: str
    since: datetime | None
    priority: str
    team_id: str | None
    assignee_id: str | None
    language: str = ""  # the ticket's, for its subject's lang attribute


@dataclass(frozen=True)
class FloorSnapshot:
    at: datetime
    teams: list[QueueRow]
    languages: list[QueueRow]
    waiting: list[WaitingTicket]
    agents: list[AgentRow]
    escalated: list[EscalatedTicket]
    totals: dict[str, Any]

    def frame(self) -> dict[str, Any]:
        """The ``supervisor`` frame (JSON-ready: times as ISO strings)."""
        data = _jsonable(asdict(self))
        return {"type": "supervisor", **data, "targets": dict(FIRST_RESPONSE_TARGETS_S)}

    def fingerprint(self) -> str:
        """Equal for two snapshots that differ only in how long things have waited."""
        return json.dumps(_stable(self.frame()), sort_keys=True, ensure_ascii=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return clock.ensure_utc(value).isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def target_for(priority: str) -> int:
    return FIRST_RESPONSE_TARGETS_S.get(priority, FIRST_RESPONSE_TARGETS_S["normal"])


def _base_language(code: str | None) -> str:
    return (code or "").replace("_", "-").split("-", 1)[0].lower()


# ---------------------------------------------------------------- queries


async def agent_loads(
    session: AsyncSession, agent_ids: list[uuid.UUID] | None = None
) -> dict[uuid.UUID, int]:
    """Tickets assigned per agent in ``LOAD_STATUSES`` (merged tickets do not count)."""
    stmt = (select(Ticket.assignee_id, func.count())
            .where(Ticket.assignee_id.is_not(None), Ticket.status.in_(LOAD_STATUSES),
                   Ticket.merged_into_id.is_(None))
            .group_by(Ticket.assignee_id))
    if agent_ids is not None:
        stmt = stmt.where(Ticket.assignee_id.in_(agent_ids))
    return {agent_id: int(count) for agent_id, count in (await session.execute(stmt)).all()
            if agent_id is not None}


async def assigned_active_numbers(session: AsyncSession, agent_id: uuid.UUID) -> list[str]:
    """Numbers of the tickets that make up an agent's load (the console keeps the count live)."""
    rows = await session.scalars(
        select(Ticket.number).where(Ticket.assignee_id == agent_id,
                                    Ticket.status.in_(LOAD_STATUSES),
                                    Ticket.merged_into_id.is_(None)))
    return sorted(rows)


async def floor_snapshot(session: AsyncSession, *, now: datetime | None = None) -> FloorSnapshot:
    """Everything the supervisor view shows, in a handful of queries."""
    now = now or clock.now()
    teams = list(await session.scalars(select(Team).order_by(Team.name)))
    waiting_rows = (await session.execute(
        select(Ticket.number, Ticket.subject, Ticket.team_id, Ticket.language, Ticket.priority,
               Ticket.created_at)
        .where(*WAITING).order_by(Ticket.created_at, Ticket.id))).all()
    agents = list(await session.scalars(
        select(Agent).where(Agent.is_active.is_(True)).order_by(Agent.display_name)))
    memberships: dict[uuid.UUID, list[str]] = {}
    for agent_id, team_id in (await session.execute(
            select(agent_teams.c.agent_id, agent_teams.c.team_id))).all():
        memberships.setdefault(agent_id, []).append(str(team_id))
    loads = await agent_loads(session)
    is_escalated = (Ticket.status == "escalated", Ticket.merged_into_id.is_(None))
    escalated_rows = list(await session.scalars(
        select(Ticket).where(*is_escalated)
        .order_by(Ticket.escalated_at, Ticket.created_at).limit(ESCALATED_LISTED)))
    escalated_total = await session.scalar(
        select(func.count()).select_from(Ticket).where(*is_escalated)) or 0

    waiting: list[WaitingTicket] = []
    positions: dict[uuid.UUID | None, int] = {}
    for number, subject, team_id, language, priority, created_at in waiting_rows:
        positions[team_id] = positions.get(team_id, 0) + 1
        wait_s = max(0, int((now - clock.ensure_utc(created_at)).total_seconds()))
        target = target_for(priority)
        waiting.append(WaitingTicket(
            number=number, subject=subject, team_id=str(team_id) if team_id else None,
            language=language, priority=priority, position=positions[team_id],
            created_at=clock.ensure_utc(created_at), wait_s=wait_s, target_s=target,
            at_risk=wait_s >= target, queue_language=_base_language(language)))

    online = [a for a in agents if a.status == "online"]
    online_by_team: dict[str, int] = {}
    for agent in online:
        for team_id in memberships.get(agent.id, []):
            online_by_team[team_id] = online_by_team.get(team_id, 0) + 1

    def queue(key: str, name: str, members: list[WaitingTicket], agents_online: int) -> QueueRow:
        oldest = members[0] if members else None  # ``waiting`` is in arrival order
        return QueueRow(key=key, name=name, waiting=len(members),
                        longest_wait_s=oldest.wait_s if oldest else 0,
                        oldest_at=oldest.created_at if oldest else None,
                        sla_at_risk=sum(1 for w in members if w.at_risk),
                        agents_online=agents_online)

    team_rows = [queue(str(t.id), t.name, [w for w in waiting if w.team_id == str(t.id)],
                       online_by_team.get(str(t.id), 0)) for t in teams]
    no_team = [w for w in waiting if w.team_id is None]
    if no_team:
        team_rows.append(queue("", "", no_team, 0))
    languages = sorted(({_base_language(w.language) for w in waiting}
                        | {_base_language(t.language) for t in teams}) - {""})
    language_rows = [
        queue(code, autonym(code), [w for w in waiting if _base_language(w.language) == code],
              sum(1 for a in online if code in {_base_language(x) for x in a.languages}))
        for code in languages]

    agent_rows = [AgentRow(id=str(a.id), name=a.display_name, role=a.role, status=a.status,
                           load=loads.get(a.id, 0), capacity=a.capacity,
                           team_ids=sorted(memberships.get(a.id, [])))
                  for a in agents]
    escalated = [EscalatedTicket(
        number=t.number, subject=t.subject, reason=t.escalation_reason or "",
        since=clock.ensure_utc(t.escalated_at) if t.escalated_at else None, priority=t.priority,
        team_id=str(t.team_id) if t.team_id else None,
        assignee_id=str(t.assignee_id) if t.assignee_id else None,
        language=t.language or "") for t in escalated_rows]
    oldest_all = waiting[0] if waiting else None
    totals = {
        "waiting": len(waiting),
        "longest_wait_s": oldest_all.wait_s if oldest_all else 0,
        "oldest_at": oldest_all.created_at if oldest_all else None,
        "sla_at_risk": sum(1 for w in waiting if w.at_risk),
        "escalated": escalated_total,  # all of them; the list stops at ESCALATED_LISTED
        "agents_online": len(online),
        "agents_away": sum(1 for a in agents if a.status == "away"),
        "load": sum(r.load for r in agent_rows),
        "capacity": sum(r.capacity for r in agent_rows if r.status != "offline"),
    }
    return FloorSnapshot(at=now, teams=team_rows, languages=language_rows,
                         waiting=waiting[:WAITING_LISTED], agents=agent_rows,
                         escalated=escalated, totals=totals)


# ---------------------------------------------------------------- the live feed


class SupervisorFeed:
    """Pushes ``supervisor`` frames to this process's supervisor and admin connections."""

    def __init__(self, db: Database, hub: Hub, *, interval_s: float = FEED_INTERVAL_S) -> None:
        self.db = db
        self.hub = hub
        self.sent: dict[Connection, str] = {}
        self._ticks = Periodic(interval_s, self.tick, name="kefu-supervisor-feed", log=log,
                               failure_event="supervisor_tick_failed")

    async def start(self) -> None:
        self.hub.resync_hooks.append(self.resend)
        self._ticks.start()

    async def stop(self) -> None:
        if self.resend in self.hub.resync_hooks:
            self.hub.resync_hooks.remove(self.resend)
        await self._ticks.stop()

    def resend(self) -> None:
        """The next round sends every supervisor the whole frame, changed or not: after the
        broker was away, the ``agent_status`` frames that patch the view between rounds may
        have been lost."""
        self.sent.clear()

    def audience(self) -> list[Connection]:
        return [c for c in list(self.hub.connections)
                if not c.closed and c.actor.is_supervisor]

    async def tick(self) -> int:
        """One round: returns how many connections got a frame."""
        audience = self.audience()
        self.sent = {c: f for c, f in self.sent.items() if c in audience}
        if not audience:
            return 0
        async with self.db.transaction() as session:
            snapshot = await floor_snapshot(session)
        fingerprint = snapshot.fingerprint()
        frame: dict[str, Any] | None = None
        pushed = 0
        for connection in audience:
            if self.sent.get(connection) == fingerprint:
                continue
            frame = frame or snapshot.frame()
            connection.push(frame)
            self.sent[connection] = fingerprint
            pushed += 1
        return pushed
