"""Fixtures of the trust tests: cheap password hashes, a small desk of agents, and a customer's
ticket made through the API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from kefu.accounts.models import Agent, Team
from kefu.core import clock
from tests.factories import api_token, bearer, customer_token, make_agent, make_team


@pytest.fixture
def restore_clock() -> Iterator[None]:
    yield
    clock.set_clock(None)


@dataclass
class Desk:
    """An English team with an agent and a supervisor, an admin, an agent of another team."""

    team: Team
    agent: Agent
    other: Agent
    supervisor: Agent
    admin: Agent
    headers: dict[str, dict[str, str]]

    def customer(self, app: FastAPI, external_id: str, **claims: object) -> dict[str, str]:
        return bearer(customer_token(app.state.settings, external_id, **claims))


async def make_desk(app: FastAPI) -> Desk:
    team = await make_team(app, "English", "en")
    other_team = await make_team(app, "中文", "zh")
    agent = await make_agent(app, "agent@kefu.test", teams=[team])
    other = await make_agent(app, "other@kefu.test", teams=[other_team])
    supervisor = await make_agent(app, "sup@kefu.test", role="supervisor", teams=[team])
    admin = await make_agent(app, "admin@kefu.test", role="admin")
    headers = {name: bearer(await api_token(app, who)) for name, who in (
        ("agent", agent), ("other", other), ("supervisor", supervisor), ("admin", admin))}
    return Desk(team, agent, other, supervisor, admin, headers)


@pytest.fixture
async def desk(app: FastAPI) -> Desk:
    return await make_desk(app)


async def open_ticket(client: httpx.AsyncClient, headers: dict[str, str],
                      subject: str = "Lost my 2FA phone", body: str = "Please help.") -> str:
    response = await client.post("/api/v1/tickets", headers=headers,
                                 json={"subject": subject, "body": body})
    assert response.status_code == 201, response.text
    return str(response.json()["number"])
