"""Agents who leave without setting a status go offline after a while; connected ones, those seen
by another process lately, and those never seen over a socket keep their status. Those whom
presence set offline get their status back when a console connection of theirs returns; those
who chose offline keep it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select, update

from kefu.accounts.actor import Actor
from kefu.accounts.models import Agent
from kefu.core import clock
from kefu.realtime.events import AGENTS
from kefu.realtime.hub import Connection, Hub
from kefu.realtime.presence import TIMEOUT_S, PresenceKeeper, restore_status
from tests.factories import api_token, bearer, make_agent, make_world
from tests.realtime.live import Client, LiveServer, drain, noop_fetch

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


async def _agent(app: FastAPI, name: str, status: str, seen_at: datetime | None) -> Agent:
    agent = await make_agent(app, f"{name}@kefu.test")
    async with app.state.db.transaction() as session:
        await session.execute(update(Agent).where(Agent.id == agent.id)
                              .values(status=status, seen_at=seen_at))
    return agent


def _console(hub: Hub, agent: Agent) -> Connection:
    """A console connection of ``agent``'s, following the agents topic, as /ws/agent has."""
    connection = Connection(None, Actor(kind="agent", agent=agent), hub,  # type: ignore[arg-type]
                            noop_fetch)
    hub.register(connection)
    hub.attach(AGENTS, connection)
    return connection


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
    told = drain(watching)
    assert sorted((f["type"], f["agent"]["name"], f["agent"]["status"]) for f in told) == [
        ("agent_status", "away", "offline"), ("agent_status", "gone", "offline")]

    assert await keeper.beat() == []  # told once
    assert watching.outbox == []
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


async def test_presence_gives_back_the_status_it_took_and_only_that(
    app: FastAPI, client: AsyncClient, at: Callable[[datetime], None]
):
    long_ago = T0 - timedelta(seconds=TIMEOUT_S + 30)
    worker = await _agent(app, "worker", "online", long_ago)
    resting = await _agent(app, "resting", "away", long_ago)
    chose = await _agent(app, "chose", "offline", long_ago)  # chose offline themselves
    changed = await _agent(app, "changed", "online", long_ago)  # chose offline once gone
    hub = app.state.hub
    keeper = PresenceKeeper(app.state.db, hub)
    at(T0)
    assert sorted(await keeper.beat()) == sorted([worker.id, resting.id, changed.id])
    async with app.state.db.transaction() as session:
        assert await session.scalar(select(Agent.status_before_presence)
                                    .where(Agent.id == resting.id)) == "away"
    admin = await make_agent(app, "admin@kefu.test", role="admin")
    response = await client.patch(f"/api/v1/agents/{changed.id}", json={"status": "offline"},
                                  headers=bearer(await api_token(app, admin)))
    assert response.status_code == 200, response.text

    consoles = {agent.id: _console(hub, agent) for agent in (worker, resting, chose, changed)}
    for agent in (worker, resting, chose, changed):
        await restore_status(app.state.db, agent)
    assert await _state(app, worker) == ("online", long_ago)
    assert worker.status == "online"  # the connection's copy (its welcome says so)
    assert (await _state(app, resting))[0] == "away"
    assert (await _state(app, chose))[0] == "offline"
    assert (await _state(app, changed))[0] == "offline"
    for connection in consoles.values():  # every console is told, the agent's own too
        assert [(f["type"], f["agent"]["name"], f["agent"]["status"])
                for f in drain(connection)] == [("agent_status", "worker", "online"),
                                                 ("agent_status", "resting", "away")]

    assert await restore_status(app.state.db, worker) is None  # given back once
    at(T0 + timedelta(seconds=1))
    assert await keeper.beat() == []  # all four are connected now: nobody goes offline
    assert (await _state(app, chose))[0] == "offline"
    for connection in consoles.values():
        hub.detach_all(connection)


async def test_a_beat_gives_back_the_status_of_a_connected_agent(
    app: FastAPI, at: Callable[[datetime], None]
):
    """Another process swept an agent whose connection is here (its beats failed a while):
    this process's next beat gives the status back, if the agent chose none since."""
    long_ago = T0 - timedelta(seconds=TIMEOUT_S + 30)
    here = await _agent(app, "here", "away", long_ago)
    picked = await _agent(app, "picked", "online", long_ago)
    elsewhere = PresenceKeeper(app.state.db, Hub())
    at(T0)
    assert sorted(await elsewhere.beat()) == sorted([here.id, picked.id])
    async with app.state.db.transaction() as session:  # a status frame, since: their choice
        await session.execute(update(Agent).where(Agent.id == picked.id).values(status="away"))
    hub = app.state.hub
    consoles = [_console(hub, here), _console(hub, picked)]
    await PresenceKeeper(app.state.db, hub).beat()
    assert (await _state(app, here))[0] == "away"
    assert (await _state(app, picked))[0] == "away"
    told = {(f["agent"]["name"], f["agent"]["status"]) for f in drain(consoles[0])}
    assert told == {("here", "away")}
    async with app.state.db.transaction() as session:
        assert list(await session.scalars(select(Agent.status_before_presence)
                                          .where(Agent.id.in_([here.id, picked.id])))) \
            == [None, None]
    for connection in consoles:
        hub.detach_all(connection)


async def test_signing_in_again_after_presence_gives_the_status_back(
    live: LiveServer, setup_app: Any
):
    """The QA case: taken offline by presence, the agent opens the console again and works;
    their console and the supervisor's floor show them online again at once."""
    world = await make_world(setup_app)
    long_ago = clock.now() - timedelta(seconds=TIMEOUT_S + 30)
    async with setup_app.state.db.transaction() as session:
        await session.execute(update(Agent).where(Agent.id.in_([world.agent.id,
                                                                world.other_agent.id]))
                              .values(status="online", seen_at=long_ago))
        await session.execute(update(Agent).where(Agent.id == world.supervisor.id)
                              .values(status="offline", seen_at=long_ago))  # their choice
    # The sweep of a process without their connections (this one has none).
    swept = await PresenceKeeper(setup_app.state.db, Hub()).beat()
    assert sorted(swept) == sorted([world.agent.id, world.other_agent.id])
    supervisor_token = world.headers["supervisor"]["Authorization"].split(" ", 1)[1]
    floor = await Client.connect(f"{live.ws_base}/ws/agent", {"token": supervisor_token})
    token = world.headers["agent"]["Authorization"].split(" ", 1)[1]
    try:
        welcome = await floor.wait_type("welcome")
        assert welcome["you"]["status"] == "offline"  # chose it: not given back
        console = await Client.connect(f"{live.ws_base}/ws/agent", {"token": token})
        try:
            back = {"id": str(world.agent.id), "name": "agent", "status": "online"}
            await console.wait_for(lambda f: f.get("type") == "agent_status"
                                   and f["agent"] == back)
            assert (await console.wait_type("welcome"))["you"]["status"] == "online"
            await floor.wait_for(lambda f: f.get("type") == "agent_status" and f["agent"] == back)
            assert (await _state(setup_app, world.agent))[0] == "online"
            assert (await _state(setup_app, world.other_agent))[0] == "offline"  # still gone
            assert (await _state(setup_app, world.supervisor))[0] == "offline"
        finally:
            await console.close()
    finally:
        await floor.close()
