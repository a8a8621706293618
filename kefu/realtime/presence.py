"""Agents who left without saying so go offline.

An agent's status (online/away/offline) is what they set in the console; closing the tab or
losing the network says nothing, and an "online" agent who is gone inflates every wait
estimate and the supervisor's capacity. So every process, every ``beat_s`` (30 s), stamps
``agents.seen_at`` for the agents with a console connection to it, and sets offline every agent
whose stamp is older than ``timeout_s`` (90 s: three missed beats, long enough for a reload or
a process restart), telling the other agents and supervisors with an ``agent_status`` event.
Stamps are per agent, not per process, so in cluster mode an agent connected to process B is
never taken offline by process A. Agents never seen over a socket (``seen_at`` empty: set up
through the API, or the demo's seeded agents) keep the status they were given.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update

from kefu.accounts.models import Agent
from kefu.core import clock
from kefu.core.logging import get_logger
from kefu.core.periodic import Periodic
from kefu.db import Database
from kefu.realtime.events import AGENTS, publish_now
from kefu.realtime.hub import Hub

log = get_logger("kefu.realtime.presence")
BEAT_S = 30.0
TIMEOUT_S = 90.0


async def mark_seen(db: Database, agent_ids: set[uuid.UUID]) -> None:
    """Stamp these agents as connected now."""
    if not agent_ids:
        return
    async with db.transaction() as session:
        await session.execute(update(Agent).where(Agent.id.in_(agent_ids))
                              .values(seen_at=clock.now()))


class PresenceKeeper:
    def __init__(self, db: Database, hub: Hub, *, beat_s: float = BEAT_S,
                 timeout_s: float = TIMEOUT_S) -> None:
        self.db = db
        self.hub = hub
        self.timeout_s = timeout_s
        self._beats = Periodic(beat_s, self.beat, name="kefu-presence", log=log,
                               failure_event="presence_beat_failed")

    async def start(self) -> None:
        self._beats.start()

    async def stop(self) -> None:
        await self._beats.stop()

    def connected(self) -> set[uuid.UUID]:
        return {c.actor.agent.id for c in list(self.hub.connections)
                if c.actor.agent is not None and not c.closed}

    async def beat(self) -> list[uuid.UUID]:
        """Stamp this process's agents, then set the long-unseen offline; returns their ids."""
        await mark_seen(self.db, self.connected())
        cutoff = clock.now() - timedelta(seconds=self.timeout_s)
        unseen = (Agent.status != "offline", Agent.seen_at.is_not(None), Agent.seen_at < cutoff)
        async with self.db.transaction() as session:
            # Read first: a beat with nobody to sweep takes no write lock (SQLite has one).
            if await session.scalar(select(Agent.id).where(*unseen).limit(1)) is None:
                return []
            gone = (await session.execute(
                update(Agent).where(*unseen).values(status="offline")
                .returning(Agent.id, Agent.display_name))).all()
        for agent_id, name in gone:
            log.info("agent_went_offline", agent=str(agent_id))
            await publish_now(self.db, AGENTS, {"type": "agent_status", "agent": {
                "id": str(agent_id), "name": name, "status": "offline"}})
        return [agent_id for agent_id, _ in gone]
