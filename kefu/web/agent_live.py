"""Console pages beyond the inbox and the ticket: the supervisor view (live queues, agents,
escalations), the macros page, and the no-JavaScript fallback of the status switch.

The supervisor view is rendered complete on the server; ``console.js`` then keeps it current
from the ``supervisor`` frames of ``/ws/agent``. Agents get a 403 page; customers and anonymous
visitors are sent to the sign-in page, as on every console page."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts import service as accounts
from kefu.accounts.actor import Actor
from kefu.accounts.models import AGENT_STATUSES
from kefu.core.errors import Forbidden, InvalidInput, KefuError, NotFound
from kefu.core.http import SessionDep
from kefu.db import savepoint
from kefu.realtime import supervisor
from kefu.tickets import macros
from kefu.tickets.macros_api import router as macros_api_router
from kefu.web import i18n
from kefu.web.agent import AgentPageDep, console_context
from kefu.web.agent_auth import safe_next
from kefu.web.render import TYPED_TEXT, PageRoute, clean, redirect, remember_session, render

NOTICES = {"macro_created", "macro_updated", "macro_deleted"}
MACRO_LANGUAGES = ("en", "zh")
PERSONAL = "personal"  # the macro form's "team" for the author's own macro

router = APIRouter(prefix="/agent", route_class=PageRoute, include_in_schema=False,
                   dependencies=[Depends(remember_session)])


def mount(app: FastAPI) -> None:
    """The live console's pages and the macros API they use."""
    app.include_router(router)
    app.include_router(macros_api_router)


def format_duration(seconds: int | float | None, language: str = i18n.DEFAULT_LANGUAGE) -> str:
    """How long something has waited, in the UI's language: ``42s``, ``4m 05s``, ``26h 08m``;
    ``42秒``, ``4分05秒``, ``26小时08分`` (the ``console.duration.*`` messages; console.js
    matches)."""
    t = i18n.Translator(language)
    total = max(0, int(seconds or 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return t("console.duration.hours", h=hours, m=f"{minutes:02d}")
    if minutes:
        return t("console.duration.minutes", m=minutes, s=f"{secs:02d}")
    return t("console.duration.seconds", s=secs)


# ---------------------------------------------------------------- supervisor view


async def supervisor_actor(actor: AgentPageDep) -> Actor:
    if not actor.is_supervisor:
        raise Forbidden("the supervisor view is for supervisors and admins",
                        code="supervisor_required")
    return actor


@router.get("/supervisor", response_class=HTMLResponse)
async def supervisor_view(
    request: Request, session: SessionDep, actor: Annotated[Actor, Depends(supervisor_actor)]
) -> Response:
    snapshot = await supervisor.floor_snapshot(session)
    frame = snapshot.frame()
    console = await console_context(request, session, actor, page="supervisor",
                                    extra={"supervisor": frame})
    return render(request, "agent/supervisor.html", {
        "section": "agent",
        "floor": snapshot,
        "targets": supervisor.FIRST_RESPONSE_TARGETS_S,
        "duration": partial(format_duration, language=i18n.choose_language(request)),
        "team_names": console["console"]["teams"],
        "agent_names": console["console"]["agents"],
        **console,
    })


# ---------------------------------------------------------------- own status (no JavaScript)


@router.post("/status", response_class=HTMLResponse)
async def set_status(
    session: SessionDep,
    actor: AgentPageDep,
    status: Annotated[str, Form(max_length=16)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=2000)] = "",
) -> Response:
    """What the status switch does without JavaScript (with it, a ``status`` frame)."""
    if status not in AGENT_STATUSES:
        raise InvalidInput("status must be online, away or offline", code="invalid_status")
    agent = actor.agent
    assert agent is not None
    await accounts.update_agent(session, actor, agent, {"status": status})  # tells the consoles
    return redirect(safe_next(next_url))


# ---------------------------------------------------------------- macros


async def _macros_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    language: str = "",
    q: str = "",
    notice: str = "",
    error: KefuError | None = None,
    values: dict[str, str] | None = None,
    editing: str = "",
    edited: dict[str, str] | None = None,
) -> HTMLResponse:
    """``editing``: the macro whose form opens; ``edited``: what was typed in it (a refused
    save shows it again, not the stored macro)."""
    rows = await macros.list_macros(session, actor, language=language or None, q=q or None)
    teams = await accounts.list_teams(session)
    return render(request, "agent/macros.html", {
        "section": "agent",
        "macros": rows,
        "variables": macros.VARIABLES,
        "used_variables": {m.id: macros.variables_in(m.body) for m in rows},
        "teams": teams,
        "team_names": {t.id: t.name for t in teams},
        "languages_offered": MACRO_LANGUAGES,
        "filters": {"language": language, "q": q},
        "can_manage": actor.is_supervisor,
        "me": actor.agent.id if actor.agent else None,
        "notice": notice if notice in NOTICES else "",
        "error": error,
        "editing": editing,
        "edited": edited or {},
        "values": {"title": "", "body": "", "language": "en", "team_id": "", **(values or {})},
        "page_url": "/agent/macros",
        **await console_context(request, session, actor, page="macros"),
    }, status=error.status if error else 200)


@router.get("/macros", response_class=HTMLResponse)
async def macros_page(
    request: Request,
    session: SessionDep,
    actor: AgentPageDep,
    language: Annotated[str, Query(max_length=16)] = "",
    q: Annotated[str, Query(max_length=100)] = "",
    ok: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    language = language if language in MACRO_LANGUAGES else ""
    return await _macros_page(request, session, actor, language=language, q=clean(q).strip(),
                              notice=ok)


def _team(value: str) -> uuid.UUID | None:
    if not value or value == "global":
        return None
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise InvalidInput("unknown team", code="unknown_team") from exc


def _macro_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise NotFound("macro") from exc


async def _change(
    request: Request, session: AsyncSession, actor: Actor, change: Any, *, notice: str,
    values: dict[str, str], editing: str = "", edited: dict[str, str] | None = None,
) -> Response:
    try:
        async with savepoint(session):
            await change()
    except KefuError as exc:
        return await _macros_page(request, session, actor, error=exc, values=values,
                                  editing=editing, edited=edited)
    return redirect(f"/agent/macros?ok={notice}")


@router.post("/macros", response_class=HTMLResponse)
async def create_macro(
    request: Request,
    session: SessionDep,
    actor: AgentPageDep,
    title: Annotated[str, Form(max_length=TYPED_TEXT)] = "",
    body: Annotated[str, Form(max_length=TYPED_TEXT)] = "",
    language: Annotated[str, Form(max_length=16)] = "en",
    team_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    async def change() -> None:
        if language not in MACRO_LANGUAGES:
            raise InvalidInput("choose a language", code="invalid_language")
        personal = team_id == PERSONAL
        await macros.create_macro(session, actor, title=clean(title), body=clean(body),
                                  language=language, team_id=None if personal else _team(team_id),
                                  personal=personal)

    return await _change(request, session, actor, change, notice="macro_created",
                         values={"title": title, "body": body, "language": language,
                                 "team_id": team_id})


@router.post("/macros/{macro_id}", response_class=HTMLResponse)
async def update_macro(
    request: Request,
    macro_id: str,
    session: SessionDep,
    actor: AgentPageDep,
    title: Annotated[str, Form(max_length=TYPED_TEXT)] = "",
    body: Annotated[str, Form(max_length=TYPED_TEXT)] = "",
    language: Annotated[str, Form(max_length=16)] = "en",
    team_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    async def change() -> None:
        if language not in MACRO_LANGUAGES:
            raise InvalidInput("choose a language", code="invalid_language")
        macro = await macros.get_macro_to_change(session, actor, _macro_id(macro_id))
        changes: dict[str, Any] = {"title": clean(title), "body": clean(body),
                                   "language": language}
        if team_id != PERSONAL:  # a personal macro's form has no team to choose
            changes["team_id"] = _team(team_id)
        await macros.update_macro(session, actor, macro, changes)

    return await _change(request, session, actor, change, notice="macro_updated",
                         values={}, editing=macro_id, edited={
                             "title": title, "body": body, "language": language,
                             "team_id": team_id})


@router.post("/macros/{macro_id}/delete", response_class=HTMLResponse)
async def delete_macro(
    request: Request, macro_id: str, session: SessionDep, actor: AgentPageDep
) -> Response:
    async def change() -> None:
        macro = await macros.get_macro_to_change(session, actor, _macro_id(macro_id))
        await macros.delete_macro(session, actor, macro)

    return await _change(request, session, actor, change, notice="macro_deleted", values={})
