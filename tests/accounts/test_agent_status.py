"""An agent's status set through the API reaches every console, the agent's own included, as
the console's switch (a ``status`` frame) and its no-JavaScript form do."""

from __future__ import annotations

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select

from kefu.accounts.actor import Actor
from kefu.accounts.models import Agent
from kefu.realtime.events import AGENTS
from kefu.realtime.hub import Connection
from tests.factories import make_world
from tests.realtime.live import drain, noop_fetch


def _console(app: FastAPI, agent: Agent) -> Connection:
    """A console connection of ``agent``'s, following the agents topic, as /ws/agent has."""
    connection = Connection(None, Actor(kind="agent", agent=agent), app.state.hub,  # type: ignore[arg-type]
                            noop_fetch)
    app.state.hub.register(connection)
    app.state.hub.attach(AGENTS, connection)
    return connection


def _told(connection: Connection) -> list[tuple[str, str, str]]:
    return [(f["type"], f["agent"]["name"], f["agent"]["status"]) for f in drain(connection)]


async def test_patching_a_status_tells_every_console(app: FastAPI, client: AsyncClient):
    world = await make_world(app)
    own, floor = _console(app, world.agent), _console(app, world.supervisor)
    try:
        response = await client.patch(f"/api/v1/agents/{world.agent.id}",
                                      json={"status": "away"}, headers=world.headers["agent"])
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "away"
        assert _told(own) == _told(floor) == [("agent_status", "agent", "away")]

        # An admin's change too, with the name it has after the change.
        response = await client.patch(f"/api/v1/agents/{world.agent.id}",
                                      json={"status": "online", "display_name": "Ann"},
                                      headers=world.headers["admin"])
        assert response.status_code == 200, response.text
        assert _told(own) == _told(floor) == [("agent_status", "Ann", "online")]

        # Other changes say nothing about availability; a refused one says nothing at all.
        response = await client.patch(f"/api/v1/agents/{world.agent.id}",
                                      json={"capacity": 3}, headers=world.headers["admin"])
        assert response.status_code == 200, response.text
        response = await client.patch(f"/api/v1/agents/{world.supervisor.id}",
                                      json={"status": "away"}, headers=world.headers["agent"])
        assert response.status_code == 403
        assert _told(own) == _told(floor) == []
        async with app.state.db.transaction() as session:
            assert await session.scalar(select(Agent.status)
                                        .where(Agent.id == world.supervisor.id)) == "offline"
    finally:
        app.state.hub.detach_all(own)
        app.state.hub.detach_all(floor)
