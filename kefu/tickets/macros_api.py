"""Macro routes: agents list and render (their teams' and the global macros), supervisors and
admins create, change and delete."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from kefu.accounts.deps import AgentDep, SupervisorDep
from kefu.core.http import SessionDep
from kefu.tickets import macros
from kefu.tickets import service as tickets
from kefu.tickets.models import Macro
from kefu.tickets.schemas import MAX_BODY

router = APIRouter(prefix="/api/v1", tags=["macros"])
LANGUAGE = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"


class MacroCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=100)
    body: str = Field(min_length=1, max_length=MAX_BODY,
                      description="Text with variables: " + ", ".join(
                          "{" + v + "}" for v in macros.VARIABLES))
    language: str = Field(default="en", min_length=2, max_length=16, pattern=LANGUAGE)
    team_id: uuid.UUID | None = Field(default=None, description="None: every team's agents.")


class MacroUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, min_length=1, max_length=100)
    body: str | None = Field(default=None, min_length=1, max_length=MAX_BODY)
    language: str | None = Field(default=None, min_length=2, max_length=16, pattern=LANGUAGE)
    team_id: uuid.UUID | None = Field(default=None, description="Send null to make it global.")


class MacroRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    title: str
    body: str
    language: str
    team_id: uuid.UUID | None
    created_by_agent_id: uuid.UUID | None
    created_at: datetime
    variables: list[str] = Field(default_factory=list,
                                 description="Variables the body uses, known or not.")


class MacroList(BaseModel):
    items: list[MacroRead]


class MacroRendered(BaseModel):
    macro_id: uuid.UUID
    ticket: str
    text: str
    unknown_variables: list[str] = Field(
        description="Variables left as written because Kefu does not know them.")


def macro_read(macro: Macro) -> MacroRead:
    data = MacroRead.model_validate(macro)
    data.variables = macros.variables_in(macro.body)
    return data


@router.get("/macros", response_model=MacroList)
async def list_macros(
    session: SessionDep,
    actor: AgentDep,
    language: Annotated[str | None, Query(max_length=16)] = None,
    q: Annotated[str | None, Query(max_length=100, description="Search in titles.")] = None,
) -> MacroList:
    rows = await macros.list_macros(session, actor, language=language, q=q)
    return MacroList(items=[macro_read(m) for m in rows])


@router.post("/macros", response_model=MacroRead, status_code=201)
async def create_macro(body: MacroCreate, session: SessionDep, actor: SupervisorDep) -> MacroRead:
    macro = await macros.create_macro(session, actor, title=body.title, body=body.body,
                                      language=body.language, team_id=body.team_id)
    return macro_read(macro)


@router.patch("/macros/{macro_id}", response_model=MacroRead)
async def update_macro(
    macro_id: uuid.UUID, body: MacroUpdate, session: SessionDep, actor: SupervisorDep
) -> MacroRead:
    macro = await macros.get_macro(session, actor, macro_id)
    macro = await macros.update_macro(session, actor, macro, body.model_dump(exclude_unset=True))
    return macro_read(macro)


@router.delete("/macros/{macro_id}", status_code=204)
async def delete_macro(macro_id: uuid.UUID, session: SessionDep, actor: SupervisorDep) -> None:
    macro = await macros.get_macro(session, actor, macro_id)
    await macros.delete_macro(session, actor, macro)


@router.post("/macros/{macro_id}/render", response_model=MacroRendered)
async def render_macro(
    macro_id: uuid.UUID,
    session: SessionDep,
    actor: AgentDep,
    ticket: Annotated[str, Query(min_length=1, max_length=32,
                                 description="Number of a ticket the caller can read.")],
) -> MacroRendered:
    """The macro's text with this ticket's values, to put in the reply box (nothing is sent)."""
    macro = await macros.get_macro(session, actor, macro_id)
    readable = await tickets.get_readable(session, actor, ticket)
    rendered = await macros.render_for_ticket(session, actor, macro, readable)
    return MacroRendered(macro_id=macro.id, ticket=readable.number, text=rendered.text,
                         unknown_variables=rendered.unknown_variables)
