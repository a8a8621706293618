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

Presence remembers the status it replaced (``agents.status_before_presence``) and gives it back
when a console connection of the agent's is there again (:func:`restore_status`, called by the
websocket once the connection follows the ``agents`` topic, and every beat for the connections
a process has): otherwise an agent who signed in again and worked stayed "offline", uncounted
by the supervisor's capacity while carrying a load. A status the agent (or an admin) sets
forgets it, so one who chose offline or away keeps their choice.
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


async def restore_status(db: Database, agent: Agent) -> str | None:
    """A console connection of ``agent``'s is back: if presence had set them offline, they get
    the status they had before, and everyone (their own console too, if the connection already
    follows the ``agents`` topic) an ``agent_status`` event. Returns the status given back;
    ``agent`` (the connection's copy) is updated with it."""
    restored = await restore_statuses(db, {agent.id})
    if restored:
        agent.status = restored[agent.id]
        return agent.status
    return None


async def restore_statuses(db: Database, agent_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """:func:`restore_status` for agents with a connection; returns the statuses given back."""
    if not agent_ids:
        return {}
    marked = (Agent.id.in_(agent_ids), Agent.status_before_presence.is_not(None))
    async with db.transaction() as session:
        # Read first: nobody to give back (nearly every time) takes no write lock.
        if await session.scalar(select(Agent.id).where(*marked).limit(1)) is None:
            return {}
        back = (await session.execute(
            update(Agent).where(*marked, Agent.status == "offline")
            .values(status=Agent.status_before_presence, status_before_presence=None)
            .returning(Agent.id, Agent.display_name, Agent.status))).all()
        # Marked but no longer offline: a status was set since without forgetting the mark.
        await session.execute(update(Agent).where(*marked).values(status_before_presence=None))
    for agent_id, name, status in back:
        log.info("agent_came_back", agent=str(agent_id), status=status)
        await publish_now(db, AGENTS, {"type": "agent_status", "agent": {
            "id": str(agent_id), "name": name, "status": status}})
    return {agent_id: status for agent_id, _, status in back}


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
        """Stamp this process's agents (giving back the status of any that presence set
        offline: another process swept them while this one's beats failed, or the websocket
        did not call :func:`restore_status`), then set the long-unseen offline; returns their
        ids."""
        connected = self.connected()
        await mark_seen(self.db, connected)
        await restore_statuses(self.db, connected)
        cutoff = clock.now() - timedelta(seconds=self.timeout_s)
        unseen = (Agent.status != "offline", Agent.seen_at.is_not(None), Agent.seen_at < cutoff)
        async with self.db.transaction() as session:
            # Read first: a beat with nobody to sweep takes no write lock (SQLite has one).
            if await session.scalar(select(Agent.id).where(*unseen).limit(1)) is None:
                return []
            gone = (await session.execute(
                update(Agent).where(*unseen)
                .values(status="offline", status_before_presence=Agent.status)
                .returning(Agent.id, Agent.display_name))).all()
        for agent_id, name in gone:
            log.info("agent_went_offline", agent=str(agent_id))
            await publish_now(self.db, AGENTS, {"type": "agent_status", "agent": {
                "id": str(agent_id), "name": name, "status": "offline"}})
        return [agent_id for agent_id, _ in gone]
