"""Request-scoped plumbing for every router: settings, database, one transaction a request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.config import Settings
from kefu.db import Database


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One request is one transaction: committed when the route returns without error, then the
    after-commit callbacks run (jobs woken, events published); rolled back otherwise."""
    db: Database = request.app.state.db
    async with db.transaction() as session:
        yield session


# scope="function": the transaction commits before the response is sent, so a 2xx means committed.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
