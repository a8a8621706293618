"""Agents who leave without setting a status go offline after a while; connected ones, those seen
by another process lately, and those never seen over a socket keep their status."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select, update

from kefu.accounts.actor import Actor
from kefu.accounts.models import Agent
from kefu.core import clock
from kefu.realtime.events import AGENTS
from kefu.realtime.hub import Connection
from kefu.realtime.presence import TIMEOUT_S, PresenceKeeper
from tests.factories import make_agent, make_world
from tests.realtime.live import Client, LiveServer, noop_fetch

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


async def _agent(app: FastAPI, name: str, status: str, seen_at: datetime | None) -> Agent:
    agent = await make_agent(app, f"{name}@kefu.test")
    async with app.state.db.transaction() as session:
        await session.execute(update(Agent).where(Agent.id == agent.id)
                              .values(status=status, seen_at=seen_at))
    return agent


async def _state(app: FastAPI, agent: Agent) -> tuple[str, datetime | None]:
    async with app.state.db.transaction() as session:
        status, seen_at = (await session.execute(
            select(Agent.status, Agent.seen_at).where(Agent.id == agent.id))).one()
    return status, seen_at and clock.ensure_utc(seen_at)


async def test_unseen_agents_go_offline_and_the_floor_is_told(
    app: FastAPI, at: Callable[[datetime], None]
):
    long_ago = T0 - timedelta(seconds=TIMEOUT_S + 30)
    here = await _agent(app, "here", "online", long_ago)  # connected to this process
    gone = await _agent(app, "gone", "online", long_ago)
    away = await _agent(app, "away", "away", long_ago)
    elsewhere = await _agent(app, "elsewhere", "online", T0 - timedelta(seconds=20))
    never = await _agent(app, "never", "online", None)
    resting = await _agent(app, "resting", "offline", long_ago)
    hub = app.state.hub
    watching = Connection(None, Actor(kind="agent", agent=here), hub,  # type: ignore[arg-type]
                          noop_fetch)
    hub.register(watching)
    hub.attach(AGENTS, watching)
    keeper = PresenceKeeper(app.state.db, hub)
    at(T0)

    assert sorted(await keeper.beat()) == sorted([gone.id, away.id])
    assert await _state(app, here) == ("online", T0)
    assert await _state(app, gone) == ("offline", long_ago)
    assert await _state(app, away) == ("offline", long_ago)
    assert await _state(app, elsewhere) == ("online", T0 - timedelta(seconds=20))
    assert await _state(app, never) == ("online", None)
    assert await _state(app, resting) == ("offline", long_ago)
    told = []
    while not watching.queue.empty():
        frame = watching.queue.get_nowait()
        assert frame is not None
        told.append(frame)
    assert sorted((f["type"], f["agent"]["name"], f["agent"]["status"]) for f in told) == [
        ("agent_status", "away", "offline"), ("agent_status", "gone", "offline")]

    assert await keeper.beat() == []  # told once
    assert watching.queue.empty()
    at(T0 + timedelta(seconds=TIMEOUT_S + 1))  # the other process stopped seeing its agent
    assert await keeper.beat() == [elsewhere.id]
    assert (await _state(app, here))[0] == "online"  # still connected here
    hub.detach_all(watching)


async def test_a_console_connection_and_a_status_frame_stamp_the_agent(
    live: LiveServer, setup_app: Any
):
    world = await make_world(setup_app)
    started = clock.now()
    async with setup_app.state.db.transaction() as session:
        assert await session.scalar(select(Agent.seen_at).where(Agent.id == world.agent.id)) \
            is None
    token = world.headers["agent"]["Authorization"].split(" ", 1)[1]
    console = await Client.connect(f"{live.ws_base}/ws/agent", {"token": token})
    try:
        await console.wait_type("welcome")
        _, seen_at = await _state(setup_app, world.agent)
        assert seen_at is not None
        assert seen_at >= started
        await console.send({"type": "status", "status": "online"})
        await console.wait_type("agent_status")
        status, restamped = await _state(setup_app, world.agent)
        assert status == "online"
        assert restamped is not None
        assert restamped >= seen_at
    finally:
        await console.close()
