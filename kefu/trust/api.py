"""Trust routes: Kefu Verify (public), the official-channel registry (admins), the customer's
anti-phishing code, step-up links and the exchange's callback, the abuse review queue
(supervisors). ``mount`` adds them, the rate limiter and the 429 rendering to the app."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.deps import ActorDep, AdminDep, AgentDep, SupervisorDep
from kefu.accounts.models import Customer
from kefu.config import Settings
from kefu.core.errors import Forbidden, KefuError, NotFound, Unauthorized
from kefu.core.http import SessionDep, SettingsDep
from kefu.core.middleware import NulInBody
from kefu.exchange.callbacks import SIGNATURE_HEADER
from kefu.exchange.schemas import IdentityCheckResult
from kefu.tickets import service as tickets
from kefu.trust import antiphishing, compliance, ratelimit, review, stepup, verify
from kefu.trust.errors import TooManyRequests
from kefu.trust.models import IdentityCheck
from kefu.trust.schemas import (
    AntiPhishingCodeRead,
    AntiPhishingCodeSet,
    CallbackAccepted,
    ChannelKind,
    ComplianceRead,
    FlagList,
    FlagRead,
    FlagReview,
    IdentityCheckRead,
    OfficialChannelList,
    OfficialChannelPut,
    OfficialChannelRead,
    StepUpCreate,
    StepUpCreated,
    TicketTrustRead,
    VerifyKind,
    VerifyRead,
)

router = APIRouter(prefix="/api/v1", tags=["trust"])

VERIFY_LIMIT = ratelimit.rate_limit("verify", per_ip=(30, 60))
CALLBACK_LIMIT = ratelimit.rate_limit("stepup_callback", per_ip=(120, 60))
CODE_LIMIT = ratelimit.rate_limit("anti_phishing_code", per_ip=(120, 3600),
                                  per_customer=(20, 3600))


def mount(app: FastAPI) -> None:
    """The trust API, the application's rate limiter, and 429 answers with ``Retry-After``."""
    app.include_router(router)
    ratelimit.install(app)

    async def too_many(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, TooManyRequests)
        return JSONResponse({"error": {"code": exc.code, "message": exc.message}},
                            status_code=429, headers={"Retry-After": str(exc.retry_after_s)})

    app.add_exception_handler(TooManyRequests, too_many)


def public_base(request: Request, settings: Settings) -> str:
    """Kefu's public URL for links that leave Kefu's pages (chat, email)."""
    return (settings.public_url or str(request.base_url)).rstrip("/")


# ---------------------------------------------------------------- Kefu Verify


@router.get("/verify", response_model=VerifyRead, dependencies=[Depends(VERIFY_LIMIT)])
async def check_channel(
    session: SessionDep,
    kind: Annotated[VerifyKind, Query()],
    value: Annotated[str, Query(min_length=1, max_length=2048)],
) -> VerifyRead:
    """Whether a value is an official channel: public, rate limited per address."""
    result = await verify.verify_value(session, kind=kind, value=value)
    return VerifyRead(kind=kind, value=result.value, verdict=result.verdict,
                      matched=result.matched, label=result.label, reason=result.reason)


@router.get("/trust/channels", response_model=OfficialChannelList)
async def list_channels(
    session: SessionDep, actor: AdminDep, kind: Annotated[ChannelKind | None, Query()] = None
) -> OfficialChannelList:
    rows = await verify.list_channels(session, kind=kind)
    return OfficialChannelList(items=[OfficialChannelRead.model_validate(r) for r in rows])


@router.put("/trust/channels", response_model=OfficialChannelRead)
async def put_channel(
    body: OfficialChannelPut, session: SessionDep, actor: AdminDep
) -> OfficialChannelRead:
    channel = await verify.upsert_channel(session, actor, kind=body.kind, value=body.value,
                                          label=body.label, active=body.active)
    return OfficialChannelRead.model_validate(channel)


@router.delete("/trust/channels", status_code=204)
async def delete_channel(
    session: SessionDep,
    actor: AdminDep,
    kind: Annotated[ChannelKind, Query()],
    value: Annotated[str, Query(min_length=1, max_length=254)],
) -> Response:
    await verify.remove_channel(session, actor, kind=kind, value=value)
    return Response(status_code=204)


# ---------------------------------------------------------------- anti-phishing code


async def require_exchange_customer(actor: ActorDep) -> Actor:
    """A customer signed in by the exchange; a visitor has no account to protect."""
    if actor.kind == "anonymous":
        raise Unauthorized("sign in as a customer", code="customer_required")
    if actor.is_agent:
        raise NotFound("resource")
    if actor.kind != "customer" or actor.customer is None:
        raise Forbidden("sign in with your exchange account first",
                        code="exchange_account_required")
    return actor


ExchangeCustomerDep = Annotated[Actor, Depends(require_exchange_customer)]


async def _code_read(session: AsyncSession, customer: Customer) -> AntiPhishingCodeRead:
    row = await antiphishing.code_record(session, customer.id)
    return AntiPhishingCodeRead(code=row.code if row else None,
                                updated_at=row.updated_at if row else None)


@router.get("/me/anti-phishing-code", response_model=AntiPhishingCodeRead)
async def get_code(session: SessionDep, actor: ExchangeCustomerDep) -> AntiPhishingCodeRead:
    assert actor.customer is not None
    return await _code_read(session, actor.customer)


@router.put("/me/anti-phishing-code", response_model=AntiPhishingCodeRead,
            dependencies=[Depends(CODE_LIMIT)])
async def put_code(
    body: AntiPhishingCodeSet, session: SessionDep, actor: ExchangeCustomerDep
) -> AntiPhishingCodeRead:
    assert actor.customer is not None
    await antiphishing.set_code(session, actor, customer_id=actor.customer.id, code=body.code)
    return await _code_read(session, actor.customer)


@router.delete("/me/anti-phishing-code", status_code=204, dependencies=[Depends(CODE_LIMIT)])
async def delete_code(session: SessionDep, actor: ExchangeCustomerDep) -> Response:
    """Clear the code (nothing to clear is fine: the result is the same)."""
    assert actor.customer is not None
    await antiphishing.clear_code(session, actor, customer_id=actor.customer.id)
    return Response(status_code=204)


# ---------------------------------------------------------------- step-up and the ticket


def check_read(check: IdentityCheck) -> IdentityCheckRead:
    return IdentityCheckRead(
        id=check.id, purpose=check.purpose, state=stepup.link_state(check),
        method=check.method, created_at=check.created_at, expires_at=check.expires_at,
        opened_at=check.opened_at, completed_at=check.completed_at)


@router.post("/tickets/{number}/step-up", response_model=StepUpCreated, status_code=201)
async def create_step_up(
    number: str, body: StepUpCreate, request: Request, session: SessionDep,
    settings: SettingsDep, actor: AgentDep,
) -> StepUpCreated:
    """A single-use identity-verification link for the ticket's customer, with the message to
    send it in (agents who can read the ticket)."""
    ticket = await tickets.get_readable(session, actor, number)
    customer = await session.get(Customer, ticket.customer_id)
    assert customer is not None
    link = await stepup.create_step_up_link(
        session, ticket=ticket, customer=customer, purpose=body.purpose, created_by=actor,
        base_url=public_base(request, settings))
    return StepUpCreated(id=link.check_id, purpose=body.purpose, url=link.url,
                         expires_at=link.expires_at,
                         text=stepup.link_text(link, purpose=body.purpose, lang=ticket.language))


@router.get("/tickets/{number}/trust", response_model=TicketTrustRead)
async def ticket_trust(
    number: str, request: Request, session: SessionDep, actor: AgentDep
) -> TicketTrustRead:
    """Compliance hold, identity checks and open abuse flags of a ticket (a look at a held
    customer is audited)."""
    ticket = await tickets.get_readable(session, actor, number)
    customer = await session.get(Customer, ticket.customer_id)
    assert customer is not None
    assert actor.agent is not None
    state = await compliance.refresh_compliance(session, customer, request.app.state.exchange,
                                                viewer=actor, ticket_number=ticket.number)
    return TicketTrustRead(
        ticket=ticket.number,
        compliance=ComplianceRead(hold=state.hold, reason=state.reason,
                                  checked_at=state.checked_at),
        identity_checks=[check_read(c) for c in await stepup.checks_of(session, ticket.id)],
        open_flags=await review.open_flag_count(session, ticket_id=ticket.id),
        agent_public_id=verify.agent_public_id(actor.agent.id))


@router.post(
    "/trust/stepup/callback", response_model=CallbackAccepted,
    dependencies=[Depends(CALLBACK_LIMIT)],
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": IdentityCheckResult.model_json_schema()}}}},
)
async def stepup_callback(
    request: Request, session: SessionDep, settings: SettingsDep
) -> CallbackAccepted:
    """The exchange's signed result of a step-up identity check (``X-Kefu-Signature``; see
    docs/exchange-api.yaml). Each check accepts one result."""
    try:
        body = await request.body()
    except NulInBody as exc:  # FastAPI maps it for parsed bodies; this one is read raw
        raise KefuError("the request contains a NUL character", code="invalid_characters",
                        status=400) from exc
    check = await stepup.complete_check(session, settings, body=body,
                                        signature=request.headers.get(SIGNATURE_HEADER))
    return CallbackAccepted(reference=check.id, result=check.result)


# ---------------------------------------------------------------- abuse review


def flag_read(view: review.FlagView) -> FlagRead:
    flag = view.flag
    return FlagRead(
        id=flag.id, kind=flag.kind, score=flag.score, reasons=list(flag.reasons),
        excerpt=flag.excerpt, status=flag.status,
        ticket_number=view.ticket_number, customer_external_id=view.customer_external_id,
        created_at=flag.created_at, reviewed_at=flag.reviewed_at,
        reviewed_by_agent_id=flag.reviewed_by_agent_id, review_note=flag.review_note)


@router.get("/trust/flags", response_model=FlagList)
async def list_flags(
    session: SessionDep,
    actor: SupervisorDep,
    status: Annotated[str, Query(pattern="^(open|dismissed|actioned)$")] = "open",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> FlagList:
    """The review queue (open flags, oldest first) or past decisions (newest first)."""
    views = await review.list_flags(session, status=status, limit=limit)
    return FlagList(items=[flag_read(v) for v in views])


@router.post("/trust/flags/review", response_model=FlagRead)
async def review_flag(body: FlagReview, session: SessionDep, actor: SupervisorDep) -> FlagRead:
    """Dismiss a flag (lifting its cool-down) or action it (optionally with a cool-down)."""
    flag = await review.review_flag(session, actor, flag_id=body.flag_id, decision=body.decision,
                                    note=body.note, cooldown_minutes=body.cooldown_minutes)
    return flag_read(await review.flag_view(session, flag))
