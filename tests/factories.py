"""Plain factory functions: real services, real database, no magic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.models import Agent, Team
from kefu.accounts.security import issue_customer_jwt
from kefu.accounts.service import create_agent, create_team
from kefu.config import Settings
from kefu.core import clock
from kefu.db import Database
from kefu.realtime.writer import _take_write_lock

PASSWORD = "correct horse battery"


def customer_token(settings: Settings, external_id: str, **claims: object) -> str:
    return issue_customer_jwt(
        secret=settings.customer_jwt_secret.get_secret_value(), sub=external_id,
        now=clock.now(), lifetime_s=int(claims.pop("lifetime_s", 600)),  # type: ignore[call-overload]
        **claims,  # type: ignore[arg-type]
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make_team(app: FastAPI, name: str, language: str = "en") -> Team:
    async with app.state.db.transaction() as session:
        return await create_team(session, None, name=name, language=language)  # type: ignore[arg-type]


async def make_agent(
    app: FastAPI, email: str, *, role: str = "agent", teams: list[Team] | None = None,
    languages: list[str] | None = None,
) -> Agent:
    async with app.state.db.transaction() as session:
        return await create_agent(
            session, None, email=email, password=PASSWORD, display_name=email.split("@")[0],
            role=role, languages=languages or ["en"], team_ids=[t.id for t in teams or []],
        )


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Logs in (the cookie stays in the client) and returns the CSRF token."""
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


async def api_token(app: FastAPI, agent: Agent) -> str:
    from kefu.accounts.actor import Actor
    from kefu.accounts.service import create_api_token

    async with app.state.db.transaction() as session:
        _, raw = await create_api_token(session, Actor(kind="agent", agent=agent), name="test")
        return raw


@dataclass
class World:
    """Two teams, an agent in each, a supervisor, an admin, two customers; all with tokens."""

    en_team: Team
    zh_team: Team
    agent: Agent
    other_agent: Agent
    supervisor: Agent
    admin: Agent
    headers: dict[str, dict[str, str]]


async def run_jobs(app: FastAPI) -> int:
    """Runs the app's due jobs now, in the test's task; how many ran."""
    count: int = await app.state.jobs.run_pending()
    return count


async def make_world(app: FastAPI) -> World:
    settings: Settings = app.state.settings
    en_team = await make_team(app, "English", "en")
    zh_team = await make_team(app, "中文", "zh")
    agent = await make_agent(app, "agent@kefu.test", teams=[en_team])
    other = await make_agent(app, "other@kefu.test", teams=[zh_team], languages=["zh"])
    supervisor = await make_agent(app, "sup@kefu.test", role="supervisor", teams=[en_team])
    admin = await make_agent(app, "admin@kefu.test", role="admin")
    headers = {
        "anonymous": {},
        "customer_a": bearer(customer_token(settings, "cust-a", name="Alice", lang="en")),
        "customer_b": bearer(customer_token(settings, "cust-b", name="Bob", lang="en")),
        "other_agent": bearer(await api_token(app, other)),
        "agent": bearer(await api_token(app, agent)),
        "supervisor": bearer(await api_token(app, supervisor)),
        "admin": bearer(await api_token(app, admin)),
    }
    return World(en_team, zh_team, agent, other, supervisor, admin, headers)


@asynccontextmanager
async def batch_session(db: Database, writer: bool) -> AsyncIterator[AsyncSession]:
    """A transaction as the chat's batches get it: ``writer`` on the group-commit writer's
    connection (on SQLite its loop-thread connection, where the batch runs its statements on
    sqlite3 directly; see ``kefu.db.writer_sqlite``), else an ordinary one."""
    async with db.transaction(writer=writer) as session:
        if writer:
            await _take_write_lock(session)
        yield session


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app started with ``settings`` (the fixtures' own, changed for one test) and a client
    talking to it in process."""
    from kefu.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kefu.test") as client:
            yield app, client
