"""Macro routes: agents list and render (their teams', the global and their own personal macros)
and keep personal macros; supervisors and admins create, change and delete the shared ones; admins
may list and delete another agent's personal macros (see ``kefu.tickets.macros``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from kefu.accounts.deps import AgentDep
from kefu.core.http import SessionDep
from kefu.tickets import macros
from kefu.tickets import service as tickets
from kefu.tickets.models import Macro
from kefu.tickets.schemas import MAX_BODY

router = APIRouter(prefix="/api/v1", tags=["macros"])
LANGUAGE = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
Scope = Literal["global", "team", "personal"]


class MacroCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=100)
    body: str = Field(min_length=1, max_length=MAX_BODY,
                      description="Text with variables: " + ", ".join(
                          "{" + v + "}" for v in macros.VARIABLES))
    language: str = Field(default="en", min_length=2, max_length=16, pattern=LANGUAGE)
    team_id: uuid.UUID | None = Field(default=None, description="None: every team's agents.")
    scope: Scope | None = Field(default=None, description=(
        "personal: the caller's own macro, seen by nobody else (any agent may create one; no "
        "team_id). global and team (supervisors, admins) follow team_id; left out, team_id "
        "decides."))

    @model_validator(mode="after")
    def _scope_matches_team(self) -> Self:
        if self.scope in ("global", "personal") and self.team_id is not None:
            raise ValueError(f"a {self.scope} macro has no team_id")
        if self.scope == "team" and self.team_id is None:
            raise ValueError("a team macro needs team_id")
        return self


class MacroUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, min_length=1, max_length=100)
    body: str | None = Field(default=None, min_length=1, max_length=MAX_BODY)
    language: str | None = Field(default=None, min_length=2, max_length=16, pattern=LANGUAGE)
    team_id: uuid.UUID | None = Field(default=None, description=(
        "Send null to make a team macro global; a personal macro has none."))


class MacroRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    title: str
    body: str
    language: str
    team_id: uuid.UUID | None
    scope: Scope
    owner_agent_id: uuid.UUID | None = Field(description="Set on personal macros only.")
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
    scope: Annotated[Scope | None, Query(description="Only macros of this scope.")] = None,
    owner_agent_id: Annotated[uuid.UUID | None, Query(description=(
        "That agent's personal macros instead (one's own; any agent's for admins)."))] = None,
) -> MacroList:
    """The macros the caller may use (the console's reply picker reads this): shared ones and
    the caller's own personal ones, never another agent's."""
    rows = await macros.list_macros(session, actor, language=language, q=q, scope=scope,
                                    owner_agent_id=owner_agent_id)
    return MacroList(items=[macro_read(m) for m in rows])


@router.post("/macros", response_model=MacroRead, status_code=201)
async def create_macro(body: MacroCreate, session: SessionDep, actor: AgentDep) -> MacroRead:
    macro = await macros.create_macro(session, actor, title=body.title, body=body.body,
                                      language=body.language, team_id=body.team_id,
                                      personal=body.scope == "personal")
    return macro_read(macro)


@router.patch("/macros/{macro_id}", response_model=MacroRead)
async def update_macro(
    macro_id: uuid.UUID, body: MacroUpdate, session: SessionDep, actor: AgentDep
) -> MacroRead:
    macro = await macros.get_macro_to_change(session, actor, macro_id)
    macro = await macros.update_macro(session, actor, macro, body.model_dump(exclude_unset=True))
    return macro_read(macro)


@router.delete("/macros/{macro_id}", status_code=204)
async def delete_macro(macro_id: uuid.UUID, session: SessionDep, actor: AgentDep) -> None:
    macro = await macros.get_macro_to_change(session, actor, macro_id)
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
