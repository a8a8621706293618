"""Resolve the ``Actor`` of a request, and enforce CSRF, 2FA policy and roles.

Sources, in order: ``Authorization: Bearer`` (an agent API token ``kefu_pat_…`` or a customer
JWT from the exchange), the agent session cookie, the customer portal cookie, the visitor token
(``X-Kefu-Visitor`` header or cookie). A bearer credential that is present but invalid is a 401,
never a silent fall-back to anonymous."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from kefu.accounts import security, service
from kefu.accounts.actor import ANONYMOUS, Actor
from kefu.accounts.models import Customer
from kefu.core import clock
from kefu.core.errors import Forbidden, NotFound, Unauthorized
from kefu.core.http import SessionDep, SettingsDep

SESSION_COOKIE = "kefu_session"
PORTAL_COOKIE = "kefu_customer"
VISITOR_COOKIE = "kefu_visitor"
VISITOR_HEADER = "X-Kefu-Visitor"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Reachable while admin policy demands 2FA that the agent has not set up yet.
ENROLMENT_PATHS = {
    "/api/v1/auth/me",
    "/api/v1/auth/logout",
    "/api/v1/auth/2fa/setup",
    "/api/v1/auth/2fa/enable",
    "/agent/2fa",
    "/agent/logout",
}


async def _csrf_from_form(request: Request) -> str:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        return value if isinstance(value, str) else ""
    return ""


async def _check_csrf(request: Request, actor: Actor) -> None:
    if request.method in SAFE_METHODS or actor.csrf_token is None:
        return
    presented = request.headers.get(CSRF_HEADER) or await _csrf_from_form(request)
    if not presented or not hmac.compare_digest(presented, actor.csrf_token):
        raise Forbidden("missing or wrong CSRF token", code="csrf_failed")


async def get_actor(request: Request, session: SessionDep, settings: SettingsDep) -> Actor:
    cached: Actor | None = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    actor = await _resolve(request, session, settings)
    await _check_csrf(request, actor)
    if actor.must_enroll_2fa and request.url.path not in ENROLMENT_PATHS:
        raise Forbidden("set up two-factor authentication first", code="2fa_enrollment_required")
    request.state.actor = actor
    if actor.kind != "anonymous":
        request.state.actor_label = actor.label
    return actor


async def _resolve(request: Request, session: SessionDep, settings: SettingsDep) -> Actor:
    secret_key = settings.secret_key.get_secret_value()
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise Unauthorized("use 'Authorization: Bearer <token>'", code="invalid_token")
        if credential.startswith(service.API_TOKEN_PREFIX):
            agent = await service.resolve_api_token(session, credential)
            if agent is None:
                raise Unauthorized("API token is not valid", code="invalid_token")
            policy = await service.get_policy(session, settings)
            if policy["require_agent_2fa"] and not agent.totp_enabled:
                # A token must not outlive the policy that its owner set up 2FA.
                raise Forbidden("set up two-factor authentication first",
                                code="2fa_enrollment_required")
            return Actor(kind="agent", agent=agent, via="token",
                         team_ids=await service.team_ids_of(session, agent.id))
        claims = security.decode_customer_jwt(
            credential,
            secret=settings.customer_jwt_secret.get_secret_value(),
            max_lifetime_s=settings.customer_jwt_max_lifetime_s,
            leeway_s=settings.customer_jwt_leeway_s,
            now=clock.now(),
        )
        customer = await service.upsert_customer(session, claims)
        return Actor(kind="customer", customer=customer, via="jwt")

    # An explicit visitor header wins over cookies: the widget in visitor mode on a page of
    # ours where the person is also signed in must act as the visitor it says it is.
    header_visitor = request.headers.get(VISITOR_HEADER)
    if header_visitor:
        visitor_id = service.parse_visitor_token(secret_key, header_visitor)
        if visitor_id is None:
            raise Unauthorized("visitor token is not valid", code="invalid_token")
        return Actor(kind="visitor", visitor_id=visitor_id, via="visitor",
                     customer=await service.visitor_customer(session, visitor_id))

    raw_session = request.cookies.get(SESSION_COOKIE)
    if raw_session:
        resolved = await service.resolve_session(session, raw_session)
        if resolved is not None:
            agent_session, agent = resolved
            csrf = security.csrf_token_for(secret_key, raw_session)
            if not agent_session.mfa_passed:
                # Password accepted, second factor pending: no access but the 2FA step.
                request.state.pending_mfa = (agent_session, agent, csrf)
            else:
                policy = await service.get_policy(session, settings)
                return Actor(
                    kind="agent",
                    agent=agent,
                    via="session",
                    session_id=agent_session.id,
                    team_ids=await service.team_ids_of(session, agent.id),
                    must_enroll_2fa=bool(policy["require_agent_2fa"]) and not agent.totp_enabled,
                    csrf_token=csrf,
                )

    raw_portal = request.cookies.get(PORTAL_COOKIE)
    if raw_portal:
        customer_id = service.parse_portal_cookie(secret_key, raw_portal)
        portal_customer = await session.get(Customer, customer_id) if customer_id else None
        if portal_customer is not None:
            return Actor(kind="customer", customer=portal_customer, via="portal",
                         csrf_token=security.csrf_token_for(secret_key, raw_portal))

    raw_visitor = request.cookies.get(VISITOR_COOKIE)
    if raw_visitor:
        visitor_id = service.parse_visitor_token(secret_key, raw_visitor)
        if visitor_id is None:
            raise Unauthorized("visitor token is not valid", code="invalid_token")
        return Actor(
            kind="visitor",
            visitor_id=visitor_id,
            customer=await service.visitor_customer(session, visitor_id),
            via="visitor",
            csrf_token=security.csrf_token_for(secret_key, raw_visitor),
        )
    return ANONYMOUS


ActorDep = Annotated[Actor, Depends(get_actor)]


async def require_customer_side(actor: ActorDep) -> Actor:
    if actor.kind == "anonymous":
        raise Unauthorized("sign in as a customer", code="customer_required")
    if not actor.is_customer_side:
        raise NotFound("resource")
    return actor


async def require_agent(actor: ActorDep) -> Actor:
    if actor.kind == "anonymous":
        raise Unauthorized()
    if not actor.is_agent:
        # Customers must not learn which agent-only resources exist.
        raise NotFound("resource")
    return actor


async def require_supervisor(actor: Annotated[Actor, Depends(require_agent)]) -> Actor:
    if not actor.is_supervisor:
        raise Forbidden("supervisors only", code="supervisor_required")
    return actor


async def require_admin(actor: Annotated[Actor, Depends(require_agent)]) -> Actor:
    if not actor.is_admin:
        raise Forbidden("admins only", code="admin_required")
    return actor


async def require_signed_in(actor: ActorDep) -> Actor:
    if actor.kind == "anonymous":
        raise Unauthorized()
    return actor


CustomerSideDep = Annotated[Actor, Depends(require_customer_side)]
AgentDep = Annotated[Actor, Depends(require_agent)]
SupervisorDep = Annotated[Actor, Depends(require_supervisor)]
AdminDep = Annotated[Actor, Depends(require_admin)]
SignedInDep = Annotated[Actor, Depends(require_signed_in)]
