"""Status page routes under ``/api/v1/status``: everyone reads, agents write."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from kefu.accounts.deps import AgentDep
from kefu.core.http import SessionDep
from kefu.kb import schemas, status
from kefu.kb.languages import LANGUAGE_TAG_PATTERN, canonical_language

router = APIRouter(prefix="/api/v1/status", tags=["status page"])


@router.get("", response_model=schemas.StatusList)
async def list_status(
    session: SessionDep,
    lang: Annotated[str, Query(min_length=2, max_length=16,
                               pattern=LANGUAGE_TAG_PATTERN)] = "en",
    scope: Literal["visible", "current", "upcoming", "recent", "all"] = "visible",
) -> schemas.StatusList:
    """Maintenance, incidents and per-network deposit/withdrawal status, most serious first.
    ``visible`` is what the status page shows: current, upcoming and ended in the last week."""
    language = canonical_language(lang)
    return schemas.StatusList(lang=language, items=[
        status.entry_read(e, language) for e in await status.entries(session, scope=scope)])


@router.post("", response_model=schemas.StatusEntryRead, status_code=201)
async def create_entry(
    body: schemas.StatusEntryCreate, session: SessionDep, actor: AgentDep,
    lang: Annotated[str, Query(min_length=2, max_length=16,
                               pattern=LANGUAGE_TAG_PATTERN)] = "en",
) -> schemas.StatusEntryRead:
    entry = await status.create_entry(session, actor, body)
    return status.entry_read(entry, canonical_language(lang))


@router.patch("/{entry_id}", response_model=schemas.StatusEntryRead)
async def update_entry(
    entry_id: uuid.UUID, body: schemas.StatusEntryUpdate, session: SessionDep, actor: AgentDep,
    lang: Annotated[str, Query(min_length=2, max_length=16,
                               pattern=LANGUAGE_TAG_PATTERN)] = "en",
) -> schemas.StatusEntryRead:
    """Change the state or the words, or end it (``end_now``)."""
    entry = await status.get_entry(session, entry_id)
    await status.update_entry(session, actor, entry, body)
    return status.entry_read(entry, canonical_language(lang))


@router.delete("/{entry_id}", status_code=204)
async def delete_entry(entry_id: uuid.UUID, session: SessionDep, actor: AgentDep) -> None:
    """Remove an entry posted by mistake (to end an incident, set its end instead)."""
    await status.delete_entry(session, actor, await status.get_entry(session, entry_id))
