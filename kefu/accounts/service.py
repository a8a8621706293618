"""Rules for people and credentials. Plain async functions: session and actor first."""

from __future__ import annotations

import asyncio
import hmac
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from kefu.accounts import security
from kefu.accounts.actor import Actor
from kefu.accounts.models import (
    Agent,
    AgentSession,
    ApiToken,
    AuditEntry,
    Customer,
    OrgSetting,
    Team,
    UsedCustomerToken,
    agent_teams,
)
from kefu.config import Settings
from kefu.core import clock
from kefu.core.errors import Conflict, Forbidden, InvalidInput, KefuError, NotFound, Unauthorized
from kefu.core.ids import new_id, new_token
from kefu.db import Database, insert_or_ignore
from kefu.realtime.events import AGENTS, agent_topic, publish_after_commit

API_TOKEN_PREFIX = "kefu_pat_"
LOCKOUT = timedelta(minutes=15)


# ---------------------------------------------------------------- audit


async def audit(
    session: AsyncSession,
    actor: Actor | None,
    action: str,
    *,
    target_type: str = "",
    target_id: str = "",
    details: dict[str, Any] | None = None,
    ip: str = "",
) -> None:
    """Append to the audit log in the caller's transaction (so it commits with the change)."""
    session.add(
        AuditEntry(
            at=clock.now(),
            actor_agent_id=actor.agent.id if actor and actor.agent else None,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=details or {},
            ip=ip,
        )
    )


async def list_audit(session: AsyncSession, *, limit: int = 100) -> list[AuditEntry]:
    rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.at.desc()).limit(limit))
    return list(rows)


# ---------------------------------------------------------------- policy


async def get_policy(session: AsyncSession, settings: Settings) -> dict[str, Any]:
    row = await session.get(OrgSetting, "security_policy")
    policy: dict[str, Any] = {"require_agent_2fa": settings.require_agent_2fa}
    if row is not None:
        policy.update(row.value)
    return policy


async def set_policy(
    session: AsyncSession, actor: Actor, settings: Settings, *, require_agent_2fa: bool
) -> dict[str, Any]:
    row = await session.get(OrgSetting, "security_policy")
    value = {"require_agent_2fa": require_agent_2fa}
    if row is None:
        session.add(OrgSetting(key="security_policy", value=value))
    else:
        row.value = value
    await audit(session, actor, "policy.updated", target_type="policy", details=value)
    await session.flush()
    return await get_policy(session, settings)


# ---------------------------------------------------------------- teams and agents


def _clean_email(email: str) -> str:
    return email.strip().lower()


async def list_teams(session: AsyncSession) -> list[Team]:
    return list(await session.scalars(select(Team).order_by(Team.name)))


async def get_team(session: AsyncSession, team_id: uuid.UUID) -> Team:
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound("team")
    return team


async def create_team(
    session: AsyncSession, actor: Actor, *, name: str, language: str, description: str = ""
) -> Team:
    team = Team(name=name.strip(), language=language, description=description)
    session.add(team)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("a team with this name exists", code="team_exists") from exc
    await audit(session, actor, "team.created", target_type="team", target_id=str(team.id))
    return team


async def update_team(
    session: AsyncSession, actor: Actor, team: Team, changes: dict[str, Any]
) -> Team:
    for key in ("name", "language", "description"):
        if key in changes and changes[key] is not None:
            setattr(team, key, changes[key])
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("a team with this name exists", code="team_exists") from exc
    await audit(session, actor, "team.updated", target_type="team", target_id=str(team.id),
                details={k: v for k, v in changes.items() if v is not None})
    return team


async def team_ids_of(session: AsyncSession, agent_id: uuid.UUID) -> frozenset[uuid.UUID]:
    rows = await session.scalars(
        select(agent_teams.c.team_id).where(agent_teams.c.agent_id == agent_id)
    )
    return frozenset(rows)


async def list_agents(session: AsyncSession, *, team_id: uuid.UUID | None = None) -> list[Agent]:
    stmt = select(Agent).options(selectinload(Agent.teams)).order_by(Agent.display_name)
    if team_id is not None:
        stmt = stmt.where(Agent.teams.any(Team.id == team_id))
    return list(await session.scalars(stmt))


async def get_agent(session: AsyncSession, agent_id: uuid.UUID) -> Agent:
    agent = await session.scalar(
        select(Agent).options(selectinload(Agent.teams)).where(Agent.id == agent_id)
    )
    if agent is None:
        raise NotFound("agent")
    return agent


async def _teams_by_ids(session: AsyncSession, team_ids: list[uuid.UUID]) -> list[Team]:
    teams = list(await session.scalars(select(Team).where(Team.id.in_(team_ids))))
    if len(teams) != len(set(team_ids)):
        raise InvalidInput("unknown team id", code="unknown_team")
    return teams


def check_password_strength(password: str) -> None:
    if len(password) < security.MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must have at least {security.MIN_PASSWORD_LENGTH} characters",
            code="weak_password",
        )


async def create_agent(
    session: AsyncSession,
    actor: Actor | None,
    *,
    email: str,
    password: str,
    display_name: str,
    role: str = "agent",
    languages: list[str] | None = None,
    skills: list[str] | None = None,
    capacity: int = 5,
    team_ids: list[uuid.UUID] | None = None,
) -> Agent:
    check_password_strength(password)
    agent = Agent(
        email=_clean_email(email),
        display_name=display_name.strip(),
        password_hash=await asyncio.to_thread(security.hash_password, password),
        role=role,
        languages=languages or ["en"],
        skills=skills or [],
        capacity=capacity,
    )
    agent.teams = await _teams_by_ids(session, team_ids or [])
    session.add(agent)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("an agent with this email exists", code="agent_exists") from exc
    await audit(session, actor, "agent.created", target_type="agent", target_id=str(agent.id),
                details={"email": agent.email, "role": role})
    return agent


async def update_agent(
    session: AsyncSession, actor: Actor, agent: Agent, changes: dict[str, Any]
) -> Agent:
    """Admins change anything; an agent may change only their own status. A status set here
    (the API, the console's form) is told to every console after the commit, the agent's own
    included, and is a choice: presence will not give back the one it replaced."""
    admin_fields = {"display_name", "role", "languages", "skills", "capacity", "is_active",
                    "team_ids", "password", "unlock"}
    own = actor.agent is not None and actor.agent.id == agent.id
    if not actor.is_admin and (not own or set(changes) & admin_fields):
        raise Forbidden("only admins can change this", code="admin_required")
    if actor.is_admin and own and changes.get("role") not in (None, "admin"):
        raise Conflict("you cannot remove your own admin role", code="own_role")
    if own and changes.get("is_active") is False:
        raise Conflict("you cannot deactivate your own account", code="own_account")
    for key in ("display_name", "role", "languages", "skills", "capacity", "is_active", "status"):
        if key in changes and changes[key] is not None:
            setattr(agent, key, changes[key])
    if changes.get("password"):
        check_password_strength(changes["password"])
        agent.password_hash = await asyncio.to_thread(security.hash_password, changes["password"])
    if changes.get("unlock"):
        agent.failed_logins, agent.locked_until = 0, None
    if changes.get("team_ids") is not None:
        agent.teams = await _teams_by_ids(session, changes["team_ids"])
    if changes.get("status") is not None:
        agent.status_before_presence = None
        publish_agent_status(session, agent)
    await session.flush()
    if changes.get("password") or changes.get("is_active") is False:
        # A new password or a deactivation (what an admin does about a stolen account) ends
        # every way in that the old one opened; reactivating brings none of them back.
        await revoke_credentials(session, agent.id, keep_session_id=actor.session_id
                                 if own else None)
    safe = {k: v for k, v in changes.items() if k != "password" and v is not None}
    if "password" in changes:
        safe["password"] = "changed"
    await audit(session, actor, "agent.updated", target_type="agent", target_id=str(agent.id),
                details={k: (v if not isinstance(v, list) else [str(i) for i in v])
                         for k, v in safe.items()})
    return agent


def publish_agent_status(session: AsyncSession, agent: Agent) -> None:
    """``agent_status`` on the agents topic, after the commit: what every console (the
    agent's own status switch, the supervisor's floor) shows of an agent's status."""
    publish_after_commit(session, AGENTS, {"type": "agent_status", "agent": {
        "id": str(agent.id), "name": agent.display_name, "status": agent.status}})


# ---------------------------------------------------------------- sessions and login


async def _own_transaction(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """A separate transaction for security records that must survive the request's rollback
    (a failed login is an error response, which rolls the request back)."""
    db: Database | None = session.info.get("db")
    if db is None:  # pragma: no cover - every session we create carries its database
        yield session
        return
    async with db.transaction() as own:
        yield own


async def _record_failed_login(
    session: AsyncSession, settings: Settings, agent_id: uuid.UUID, *, ip: str = "",
    action: str = "auth.login_failed",
) -> None:
    """Counts failed passwords and 2FA codes alike; too many lock the account for a while."""
    async for own in _own_transaction(session):
        failures = await own.scalar(
            update(Agent).where(Agent.id == agent_id)
            .values(failed_logins=Agent.failed_logins + 1).returning(Agent.failed_logins))
        if failures is not None and failures >= settings.login_max_failures:
            await own.execute(update(Agent).where(Agent.id == agent_id).values(
                failed_logins=0, locked_until=clock.now() + LOCKOUT))
        await audit(own, None, action, target_type="agent", target_id=str(agent_id), ip=ip)


async def login(
    session: AsyncSession,
    settings: Settings,
    *,
    email: str,
    password: str,
    ip: str = "",
    user_agent: str = "",
) -> tuple[Agent, AgentSession, str]:
    """Check the password and open a session. Returns the raw cookie value once."""
    now = clock.now()
    agent = await session.scalar(select(Agent).where(Agent.email == _clean_email(email)))
    if agent is not None and agent.locked_until is not None and agent.locked_until > now:
        raise KefuError("too many failed logins; try again later", code="account_locked",
                        status=429)
    # argon2 takes ~0.1 s of CPU by design: keep it off the event loop.
    ok = await asyncio.to_thread(
        security.verify_password, agent.password_hash if agent else None, password)
    if agent is None or not ok or not agent.is_active:
        if agent is not None:
            await _record_failed_login(session, settings, agent.id, ip=ip)
        raise Unauthorized("email or password is wrong", code="invalid_credentials")
    if security.password_needs_rehash(agent.password_hash):
        agent.password_hash = await asyncio.to_thread(security.hash_password, password)
    agent.failed_logins, agent.locked_until, agent.last_login_at = 0, None, now
    raw = new_token()
    agent_session = AgentSession(
        agent_id=agent.id,
        token_hash=security.token_digest(raw),
        mfa_passed=not agent.totp_enabled,
        expires_at=now + timedelta(seconds=settings.session_lifetime_s),
        user_agent=user_agent[:255],
        ip=ip[:64],
    )
    session.add(agent_session)
    await session.flush()
    await audit(session, Actor(kind="agent", agent=agent), "auth.login", target_type="agent",
                target_id=str(agent.id), ip=ip)
    return agent, agent_session, raw


async def resolve_session(
    session: AsyncSession, raw: str
) -> tuple[AgentSession, Agent] | None:
    row = await session.scalar(
        select(AgentSession).where(AgentSession.token_hash == security.token_digest(raw))
    )
    if row is None or row.revoked_at is not None or row.expires_at <= clock.now():
        return None
    agent = await session.get(Agent, row.agent_id)
    if agent is None or not agent.is_active:
        return None
    return row, agent


async def logout(session: AsyncSession, session_id: uuid.UUID) -> None:
    row = await session.get(AgentSession, session_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = clock.now()
        await session.flush()
        _signed_out(session, row.agent_id, session_id=str(row.id))


async def revoke_credentials(session: AsyncSession, agent_id: uuid.UUID, *,
                             keep_session_id: uuid.UUID | None = None) -> None:
    """Revoke every session and API token of the agent (but ``keep_session_id``, the one an
    agent changing their own password uses), and close their websockets after commit."""
    now = clock.now()
    sessions = [row for row in await session.scalars(select(AgentSession).where(
        AgentSession.agent_id == agent_id, AgentSession.revoked_at.is_(None)))
        if row.id != keep_session_id]
    tokens = list(await session.scalars(select(ApiToken).where(
        ApiToken.agent_id == agent_id, ApiToken.revoked_at.is_(None))))
    for row in sessions:
        row.revoked_at = now
    for token in tokens:
        token.revoked_at = now
    await session.flush()
    for row in sessions:
        _signed_out(session, agent_id, session_id=str(row.id))
    for token in tokens:
        _signed_out(session, agent_id, token_id=str(token.id))


def _signed_out(session: AsyncSession, agent_id: uuid.UUID, **credential: str) -> None:
    """After commit: the agent's open websockets opened with this credential close at once
    (``kefu.realtime.hub``; through the broker, on every process)."""
    publish_after_commit(session, agent_topic(agent_id), {"type": "signed_out", **credential})


async def credentials_in_force(session: AsyncSession, actor: Actor) -> bool:
    """Whether the session or API token an agent's websocket was opened with still stands: not
    signed out, revoked or expired, and the agent still active (checked again while it is
    open, for what no ``signed_out`` event announces: an expiry, a deactivation)."""
    if actor.agent is None:
        return True
    now = clock.now()
    if actor.session_id is not None:
        row = await session.get(AgentSession, actor.session_id, populate_existing=True)
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            return False
    if actor.token_id is not None:
        token = await session.get(ApiToken, actor.token_id, populate_existing=True)
        if token is None or token.revoked_at is not None or (
                token.expires_at is not None and token.expires_at <= now):
            return False
    agent = await session.get(Agent, actor.agent.id, populate_existing=True)
    return agent is not None and agent.is_active


async def verify_second_factor(
    session: AsyncSession, settings: Settings, actor: Actor, *, code: str
) -> None:
    agent = actor.agent
    if agent is None or actor.session_id is None:
        raise Unauthorized()
    if agent.locked_until is not None and agent.locked_until > clock.now():
        raise KefuError("too many failed attempts; try again later", code="account_locked",
                        status=429)
    if not agent.totp_enabled or agent.totp_secret is None:
        raise Conflict("two-factor authentication is not enabled", code="2fa_not_enabled")
    counter = security.verify_totp(agent.totp_secret, code, now=clock.now(),
                                   last_counter=agent.totp_last_counter)
    if counter is None:
        await _record_failed_login(session, settings, agent.id, action="auth.2fa_failed")
        raise Unauthorized("the code is wrong or was already used", code="invalid_2fa_code")
    agent.totp_last_counter = counter
    row = await session.get(AgentSession, actor.session_id)
    if row is not None:
        row.mfa_passed = True
    await session.flush()


async def begin_2fa_setup(session: AsyncSession, actor: Actor) -> tuple[str, str]:
    agent = actor.agent
    assert agent is not None
    if agent.totp_enabled:
        raise Conflict("two-factor authentication is already enabled", code="2fa_enabled")
    agent.totp_secret = security.new_totp_secret()
    await session.flush()
    return agent.totp_secret, security.totp_uri(agent.totp_secret, agent.email)


async def enable_2fa(session: AsyncSession, actor: Actor, *, code: str) -> None:
    agent = actor.agent
    assert agent is not None
    if agent.totp_enabled:
        raise Conflict("two-factor authentication is already enabled", code="2fa_enabled")
    if agent.totp_secret is None:
        raise Conflict("start the setup first", code="2fa_setup_required")
    counter = security.verify_totp(agent.totp_secret, code, now=clock.now(), last_counter=None)
    if counter is None:
        raise Unauthorized("the code is wrong", code="invalid_2fa_code")
    agent.totp_enabled, agent.totp_last_counter = True, counter
    if actor.session_id is not None:
        row = await session.get(AgentSession, actor.session_id)
        if row is not None:
            row.mfa_passed = True
    await audit(session, actor, "auth.2fa_enabled", target_type="agent", target_id=str(agent.id))
    await session.flush()


async def reset_2fa(session: AsyncSession, actor: Actor, agent: Agent) -> None:
    """Admin action for an agent who lost their device."""
    agent.totp_enabled, agent.totp_secret, agent.totp_last_counter = False, None, None
    await audit(session, actor, "auth.2fa_reset", target_type="agent", target_id=str(agent.id))
    await session.flush()


# ---------------------------------------------------------------- API tokens


async def create_api_token(
    session: AsyncSession, actor: Actor, *, name: str, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    assert actor.agent is not None
    raw = API_TOKEN_PREFIX + new_token()
    token = ApiToken(
        agent_id=actor.agent.id,
        name=name.strip(),
        prefix=raw[: len(API_TOKEN_PREFIX) + 4],
        token_hash=security.token_digest(raw),
        expires_at=clock.now() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(token)
    await session.flush()
    await audit(session, actor, "token.created", target_type="api_token", target_id=str(token.id))
    return token, raw


async def list_api_tokens(session: AsyncSession, actor: Actor) -> list[ApiToken]:
    assert actor.agent is not None
    rows = await session.scalars(
        select(ApiToken).where(ApiToken.agent_id == actor.agent.id).order_by(ApiToken.created_at)
    )
    return list(rows)


async def revoke_api_token(session: AsyncSession, actor: Actor, token_id: uuid.UUID) -> None:
    token = await session.get(ApiToken, token_id)
    if token is None or actor.agent is None or (
        token.agent_id != actor.agent.id and not actor.is_admin
    ):
        raise NotFound("api token")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        await audit(session, actor, "token.revoked", target_type="api_token",
                    target_id=str(token.id))
        await session.flush()
        _signed_out(session, token.agent_id, token_id=str(token.id))


async def resolve_api_token(session: AsyncSession, raw: str) -> Agent | None:
    found = await resolve_api_token_row(session, raw)
    return found[1] if found is not None else None


async def resolve_api_token_row(session: AsyncSession, raw: str
                                ) -> tuple[ApiToken, Agent] | None:
    token = await session.scalar(
        select(ApiToken).where(ApiToken.token_hash == security.token_digest(raw))
    )
    now = clock.now()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    agent = await session.get(Agent, token.agent_id)
    if agent is None or not agent.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now
    return token, agent


# ---------------------------------------------------------------- customers and visitors


async def upsert_customer(session: AsyncSession, claims: security.CustomerClaims) -> Customer:
    """The exchange is the source of truth for who a customer is; refresh what it tells us."""
    customer = await session.scalar(select(Customer).where(Customer.external_id == claims.sub))
    if customer is None:
        # Two first requests of a new customer may race: insert-or-ignore, then read the winner.
        await insert_or_ignore(session, Customer, {
            "id": new_id(), "external_id": claims.sub, "display_name": claims.name or "",
            "email": claims.email, "language": claims.lang or "en", "vip_tier": claims.vip or 0,
            "flags": [], "is_visitor": False, "created_at": clock.now()})
        customer = await session.scalar(
            select(Customer).where(Customer.external_id == claims.sub))
        assert customer is not None
        return customer
    for attr, value in customer_changes(customer, claims).items():
        setattr(customer, attr, value)
    return customer


def customer_changes(customer: Customer, claims: security.CustomerClaims) -> dict[str, Any]:
    """What the exchange's token says differently of a known customer (what
    :func:`upsert_customer` would write)."""
    return {attr: value for attr, value in (
        ("display_name", claims.name), ("email", claims.email), ("language", claims.lang),
        ("vip_tier", claims.vip)) if value is not None and getattr(customer, attr) != value}


async def consume_single_use_token(
    session: AsyncSession, claims: security.CustomerClaims
) -> None:
    """A sign-in link token (with ``jti``) works once; presenting it again is a replay."""
    if not claims.jti:
        raise Unauthorized("a sign-in token needs a jti claim", code="invalid_token")
    fresh = await insert_or_ignore(session, UsedCustomerToken,
                                   {"jti": claims.jti, "expires_at": claims.expires_at})
    if not fresh:
        raise Unauthorized("this sign-in link was already used", code="token_replayed")


def visitor_token(secret_key: str, visitor_id: str) -> str:
    sig = hmac.new(secret_key.encode(), b"visitor:" + visitor_id.encode(), "sha256").hexdigest()
    return f"{visitor_id}.{sig[:32]}"


def parse_visitor_token(secret_key: str, token: str) -> str | None:
    visitor_id, _, _sig = token.partition(".")
    if not visitor_id.startswith("v_") or len(visitor_id) > 64:
        return None
    return visitor_id if hmac.compare_digest(visitor_token(secret_key, visitor_id), token) else None


def new_visitor_id() -> str:
    return "v_" + new_token(12)


def visitor_external_id(visitor_id: str) -> str:
    return f"visitor:{visitor_id}"


async def visitor_customer(
    session: AsyncSession, visitor_id: str, *, create: bool = False, language: str = "en"
) -> Customer | None:
    external_id = visitor_external_id(visitor_id)
    customer = await session.scalar(select(Customer).where(Customer.external_id == external_id))
    if customer is None and create:
        customer = Customer(external_id=external_id, display_name="", language=language,
                            is_visitor=True, flags=[])
        session.add(customer)
        await session.flush()
    return customer


def portal_cookie(secret_key: str, customer_id: uuid.UUID, expires_at: datetime) -> str:
    body = f"{customer_id}.{int(expires_at.timestamp())}"
    sig = hmac.new(secret_key.encode(), b"portal:" + body.encode(), "sha256").hexdigest()
    return f"{body}.{sig}"


def parse_portal_cookie(secret_key: str, value: str) -> uuid.UUID | None:
    try:
        customer_id, expires, sig = value.split(".")
        expected = portal_cookie(
            secret_key, uuid.UUID(customer_id),
            datetime.fromtimestamp(int(expires), tz=clock.now().tzinfo),
        )
    except ValueError:
        return None
    if not hmac.compare_digest(expected.rsplit(".", 1)[1], sig):
        return None
    if int(expires) <= clock.now().timestamp():
        return None
    return uuid.UUID(customer_id)


async def list_customers(
    session: AsyncSession,
    *,
    scope: Select[Customer],
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Customer]:
    """``scope`` is the caller's readable set (``tickets.service.customers_readable_by``)."""
    stmt = scope.where(Customer.is_visitor.is_(False))
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(Customer.external_id).like(like),
                              func.lower(Customer.display_name).like(like),
                              func.lower(Customer.email).like(like)))
    stmt = stmt.order_by(Customer.created_at.desc(), Customer.id).limit(limit).offset(offset)
    return list(await session.scalars(stmt))


async def get_customer(session: AsyncSession, customer_id: uuid.UUID) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("customer")
    return customer
