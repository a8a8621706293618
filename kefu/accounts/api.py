"""Routes for sign-in, 2FA, API tokens, agents, teams, customers and admin policy."""

from __future__ import annotations

import hmac
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from kefu.accounts import schemas, service
from kefu.accounts.actor import Actor
from kefu.accounts.deps import (
    CSRF_HEADER,
    SESSION_COOKIE,
    ActorDep,
    AdminDep,
    AgentDep,
    CustomerSideDep,
)
from kefu.accounts.models import Agent, Customer
from kefu.core.errors import Forbidden, NotFound, Unauthorized
from kefu.core.http import SessionDep, SettingsDep
from kefu.tickets.service import customers_readable_by

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def agent_read(agent: Agent, team_ids: frozenset[uuid.UUID] | None = None) -> schemas.AgentRead:
    data = schemas.AgentRead.model_validate(agent, from_attributes=True)
    if team_ids is None:
        team_ids = frozenset(t.id for t in agent.teams)
    data.team_ids = sorted(team_ids, key=str)
    return data


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


@router.post("/auth/login", response_model=schemas.LoginResponse)
async def login(
    body: schemas.LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> schemas.LoginResponse:
    agent, agent_session, raw = await service.login(
        session, settings, email=body.email, password=body.password, ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    response.set_cookie(
        SESSION_COOKIE, raw, max_age=settings.session_lifetime_s, httponly=True,
        samesite="lax", secure=settings.session_cookie_secure, path="/",
    )
    return schemas.LoginResponse(
        agent=agent_read(agent, await service.team_ids_of(session, agent.id)),
        mfa_required=not agent_session.mfa_passed,
        csrf_token=service.security.csrf_token_for(settings.secret_key.get_secret_value(), raw),
    )


@router.post("/auth/2fa/verify", response_model=schemas.MeRead)
async def verify_2fa(
    body: schemas.TwoFactorCode,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
) -> schemas.MeRead:
    """Second step of sign-in: the session exists but has not passed 2FA yet."""
    pending = getattr(request.state, "pending_mfa", None)
    if pending is None:
        raise Unauthorized("sign in with your password first", code="no_pending_login")
    agent_session, agent, csrf = pending
    if not hmac.compare_digest(request.headers.get(CSRF_HEADER, ""), csrf):
        raise Forbidden("missing or wrong CSRF token", code="csrf_failed")
    step = Actor(kind="agent", agent=agent, session_id=agent_session.id)
    await service.verify_second_factor(session, settings, step, code=body.code)
    return schemas.MeRead(kind="agent", agent=agent_read(
        agent, await service.team_ids_of(session, agent.id)), csrf_token=csrf)


@router.post("/auth/logout", status_code=204)
async def logout(
    request: Request, response: Response, session: SessionDep, actor: ActorDep
) -> Response:
    pending = getattr(request.state, "pending_mfa", None)
    session_id = actor.session_id or (pending[0].id if pending else None)
    if session_id is not None:
        await service.logout(session, session_id)
    response.status_code = 204
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=schemas.MeRead)
async def me(session: SessionDep, actor: ActorDep) -> schemas.MeRead:
    return schemas.MeRead(
        kind=actor.kind,
        agent=agent_read(actor.agent, actor.team_ids) if actor.agent else None,
        customer=schemas.CustomerRead.model_validate(actor.customer) if actor.customer else None,
        visitor_id=actor.visitor_id,
        csrf_token=actor.csrf_token,
        must_enroll_2fa=actor.must_enroll_2fa,
    )


@router.post("/auth/2fa/setup", response_model=schemas.TwoFactorSetup)
async def setup_2fa(session: SessionDep, actor: AgentDep) -> schemas.TwoFactorSetup:
    secret, uri = await service.begin_2fa_setup(session, actor)
    return schemas.TwoFactorSetup(secret=secret, otpauth_uri=uri)


@router.post("/auth/2fa/enable", status_code=204)
async def enable_2fa(body: schemas.TwoFactorCode, session: SessionDep, actor: AgentDep) -> None:
    await service.enable_2fa(session, actor, code=body.code)


@router.get("/auth/tokens", response_model=schemas.ApiTokenList)
async def list_tokens(session: SessionDep, actor: AgentDep) -> schemas.ApiTokenList:
    rows = await service.list_api_tokens(session, actor)
    return schemas.ApiTokenList(items=[schemas.ApiTokenRead.model_validate(t) for t in rows])


@router.post("/auth/tokens", response_model=schemas.ApiTokenCreated, status_code=201)
async def create_token(
    body: schemas.ApiTokenCreate, session: SessionDep, actor: AgentDep
) -> schemas.ApiTokenCreated:
    token, raw = await service.create_api_token(
        session, actor, name=body.name, expires_in_days=body.expires_in_days
    )
    return schemas.ApiTokenCreated(
        **schemas.ApiTokenRead.model_validate(token).model_dump(), token=raw
    )


@router.delete("/auth/tokens/{token_id}", status_code=204)
async def revoke_token(token_id: uuid.UUID, session: SessionDep, actor: AgentDep) -> None:
    await service.revoke_api_token(session, actor, token_id)


@router.post("/visitors", response_model=schemas.VisitorRead, status_code=201)
async def new_visitor(settings: SettingsDep) -> schemas.VisitorRead:
    """An anonymous visitor id: help center and one pre-login conversation."""
    visitor_id = service.new_visitor_id()
    return schemas.VisitorRead(
        visitor_id=visitor_id,
        token=service.visitor_token(settings.secret_key.get_secret_value(), visitor_id),
    )


# ---------------------------------------------------------------- agents


@router.get("/agents", response_model=schemas.AgentList)
async def list_agents(
    session: SessionDep, actor: AgentDep, team_id: uuid.UUID | None = None
) -> schemas.AgentList:
    return schemas.AgentList(items=[agent_read(a) for a in await service.list_agents(
        session, team_id=team_id)])


@router.post("/agents", response_model=schemas.AgentRead, status_code=201)
async def create_agent(
    body: schemas.AgentCreate, session: SessionDep, actor: AdminDep
) -> schemas.AgentRead:
    agent = await service.create_agent(session, actor, **body.model_dump())
    return agent_read(agent)


@router.get("/agents/{agent_id}", response_model=schemas.AgentRead)
async def get_agent(agent_id: uuid.UUID, session: SessionDep, actor: AgentDep) -> schemas.AgentRead:
    return agent_read(await service.get_agent(session, agent_id))


@router.patch("/agents/{agent_id}", response_model=schemas.AgentRead)
async def update_agent(
    agent_id: uuid.UUID, body: schemas.AgentUpdate, session: SessionDep, actor: AgentDep
) -> schemas.AgentRead:
    agent = await service.get_agent(session, agent_id)
    agent = await service.update_agent(session, actor, agent, body.model_dump(exclude_unset=True))
    return agent_read(await service.get_agent(session, agent.id))


@router.post("/agents/{agent_id}/2fa/reset", status_code=204)
async def reset_agent_2fa(agent_id: uuid.UUID, session: SessionDep, actor: AdminDep) -> None:
    await service.reset_2fa(session, actor, await service.get_agent(session, agent_id))


# ---------------------------------------------------------------- teams


@router.get("/teams", response_model=schemas.TeamList)
async def list_teams(session: SessionDep, actor: AgentDep) -> schemas.TeamList:
    teams = await service.list_teams(session)
    return schemas.TeamList(items=[schemas.TeamRead.model_validate(t) for t in teams])


@router.post("/teams", response_model=schemas.TeamRead, status_code=201)
async def create_team(
    body: schemas.TeamCreate, session: SessionDep, actor: AdminDep
) -> schemas.TeamRead:
    team = await service.create_team(session, actor, **body.model_dump())
    return schemas.TeamRead.model_validate(team)


@router.patch("/teams/{team_id}", response_model=schemas.TeamRead)
async def update_team(
    team_id: uuid.UUID, body: schemas.TeamUpdate, session: SessionDep, actor: AdminDep
) -> schemas.TeamRead:
    team = await service.get_team(session, team_id)
    team = await service.update_team(session, actor, team, body.model_dump(exclude_unset=True))
    return schemas.TeamRead.model_validate(team)


# ---------------------------------------------------------------- customers


@router.get("/customers/me", response_model=schemas.CustomerRead)
async def my_customer(actor: CustomerSideDep) -> schemas.CustomerRead:
    if actor.customer is None:
        raise NotFound("customer")
    return schemas.CustomerRead.model_validate(actor.customer)


@router.get("/customers", response_model=schemas.CustomerList)
async def list_customers(
    session: SessionDep,
    actor: AgentDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> schemas.CustomerList:
    stmt = customers_readable_by(actor)
    rows = await service.list_customers(session, q=q, limit=limit, offset=offset, scope=stmt)
    return schemas.CustomerList(items=[schemas.CustomerRead.model_validate(c) for c in rows])


@router.get("/customers/{customer_id}", response_model=schemas.CustomerRead)
async def get_customer(
    customer_id: uuid.UUID, session: SessionDep, actor: AgentDep
) -> schemas.CustomerRead:
    customer = await session.scalar(
        customers_readable_by(actor).where(Customer.id == customer_id)
    )
    if customer is None:
        raise NotFound("customer")
    return schemas.CustomerRead.model_validate(customer)


# ---------------------------------------------------------------- admin


@router.get("/admin/policy", response_model=schemas.SecurityPolicy)
async def get_policy(
    session: SessionDep, settings: SettingsDep, actor: AdminDep
) -> schemas.SecurityPolicy:
    return schemas.SecurityPolicy(**await service.get_policy(session, settings))


@router.put("/admin/policy", response_model=schemas.SecurityPolicy)
async def put_policy(
    body: schemas.SecurityPolicy, session: SessionDep, settings: SettingsDep, actor: AdminDep
) -> schemas.SecurityPolicy:
    policy = await service.set_policy(
        session, actor, settings, require_agent_2fa=body.require_agent_2fa
    )
    return schemas.SecurityPolicy(**policy)


@router.get("/admin/audit")
async def audit_log(
    session: SessionDep, actor: AdminDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, object]:
    rows = await service.list_audit(session, limit=limit)
    return {"items": [
        {"id": str(r.id), "at": r.at.isoformat(), "actor_agent_id":
         str(r.actor_agent_id) if r.actor_agent_id else None, "action": r.action,
         "target_type": r.target_type, "target_id": r.target_id, "details": r.details,
         "ip": r.ip} for r in rows]}



