"""Step-up identity verification: for a 2FA reset, an unfreeze or an appeal, the customer proves
who they are by signing in to the exchange again, never by typing codes into chat.

1. An agent (or the assistant) creates a link: a random single-use token, stored as its SHA-256,
   valid 15 minutes; the ticket's history records that it was sent.
2. The customer opens ``/verify/identity/<token>`` and continues to the exchange's sign-in
   (``ExchangeAdapter.start_identity_check``).
3. The exchange POSTs the result to ``/api/v1/trust/stepup/callback``, HMAC-signed
   (``kefu.exchange.callbacks``). A valid result completes the check once; the ticket gets an
   ``identity_verified`` event with time, method and purpose.

Refusals are explicit (wrong signature 401, unknown check 404, not started, replayed or for
another customer 409, expired 410). Those with a valid signature are audited in a transaction of
their own, so the record survives the refused request; a bad signature is only logged, so
strangers cannot fill the audit log."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import ANONYMOUS, Actor
from kefu.accounts.models import Customer
from kefu.accounts.security import token_digest
from kefu.accounts.service import audit
from kefu.config import Settings
from kefu.core import clock
from kefu.core.errors import InvalidInput
from kefu.core.ids import new_token
from kefu.core.logging import get_logger
from kefu.db import Database
from kefu.exchange import callbacks
from kefu.exchange.base import ExchangeAdapter
from kefu.exchange.schemas import IdentityCheckRequest, IdentityCheckResult
from kefu.tickets.events import record_event, ticket_changed
from kefu.tickets.models import Ticket
from kefu.trust.errors import StepUpError
from kefu.trust.models import STEP_UP_PURPOSES, IdentityCheck

log = get_logger("kefu.trust.stepup")
LINK_LIFETIME: Final = timedelta(minutes=15)
IDENTITY_PATH: Final = "/verify/identity/"
CALLBACK_PATH: Final = "/api/v1/trust/stepup/callback"
Purpose = Literal["2fa_reset", "unfreeze", "appeal"]
LinkState = Literal["pending", "expired", "verified", "failed"]

_TEXTS: Final = {
    "en": {
        "2fa_reset": "To reset your two-factor authentication",
        "unfreeze": "To unfreeze your account",
        "appeal": "To review your appeal",
        "body": "{why}, please confirm it is you by signing in to the exchange through this "
                "secure link: {url}\nThe link works once and expires at {expires} UTC. We will "
                "never ask you for a password, a 2FA or SMS code, or your seed phrase in chat.",
    },
    "zh": {
        "2fa_reset": "为重置您的二次验证",
        "unfreeze": "为解冻您的账户",
        "appeal": "为处理您的申诉",
        "body": "{why}，请通过以下安全链接登录交易所以确认是您本人：{url}\n"
                "该链接仅可使用一次，将于 {expires} UTC 失效。"
                "我们绝不会在对话中索要您的密码、二次验证码、短信验证码或助记词。",
    },
}


@dataclass(frozen=True)
class StepUpLink:
    """The link to send the customer (``url``; relative when no base URL was given)."""

    url: str
    expires_at: datetime
    check_id: uuid.UUID


def link_text(link: StepUpLink, *, purpose: str, lang: str) -> str:
    """The message an agent sends with the link, in the ticket's language."""
    texts = _TEXTS["zh"] if lang.lower().startswith("zh") else _TEXTS["en"]
    return texts["body"].format(why=texts[purpose], url=link.url,
                                expires=link.expires_at.strftime("%Y-%m-%d %H:%M"))


def callback_secret(settings: Settings) -> str | None:
    """The secret the exchange signs callbacks with. With the demo adapter and no secret set,
    one derived from ``KEFU_SECRET_KEY`` (the demo exchange is Kefu itself); with a real
    exchange, None until ``KEFU_EXCHANGE_CALLBACK_SECRET`` is set."""
    if settings.exchange_callback_secret is not None:
        return settings.exchange_callback_secret.get_secret_value() or None
    if settings.exchange_adapter == "demo":
        key = settings.secret_key.get_secret_value().encode()
        return hmac.new(key, b"kefu-demo-exchange-callback", hashlib.sha256).hexdigest()
    return None


def _not_configured() -> StepUpError:
    return StepUpError("identity verification is not configured: set "
                       "KEFU_EXCHANGE_CALLBACK_SECRET", code="step_up_not_configured", status=503)


async def create_step_up_link(
    session: AsyncSession,
    *,
    ticket: Ticket,
    customer: Customer,
    purpose: str,
    created_by: Actor | None,
    base_url: str = "",
) -> StepUpLink:
    """A single-use, 15-minute identity-verification link for the customer of ``ticket``.
    ``created_by``: the agent, or None for the assistant. ``base_url``: Kefu's public URL
    (``settings.public_url`` or the request's), so the link works outside Kefu's pages."""
    if purpose not in STEP_UP_PURPOSES:
        raise InvalidInput(f"purpose must be one of {', '.join(STEP_UP_PURPOSES)}",
                           code="invalid_purpose")
    if customer.id != ticket.customer_id:
        raise InvalidInput("the customer is not the ticket's customer", code="wrong_customer")
    if customer.is_visitor:
        raise InvalidInput("a visitor has no exchange account to sign in to; ask them to sign "
                           "in first", code="step_up_needs_account")
    token = new_token(32)
    check = IdentityCheck(
        token_hash=token_digest(token), ticket_id=ticket.id, customer_id=customer.id,
        purpose=purpose, expires_at=clock.now() + LINK_LIFETIME,
        created_by_agent_id=created_by.agent.id if created_by and created_by.agent else None)
    session.add(check)
    await session.flush()
    actor = created_by or ANONYMOUS
    await record_event(session, actor, ticket, "step_up_sent", {
        "purpose": purpose, "expires_at": check.expires_at.isoformat(timespec="seconds")})
    if actor.agent is None:  # record_event audits agents' events itself
        await audit(session, None, "stepup.link_created", target_type="ticket",
                    target_id=ticket.number, details={"check": str(check.id), "purpose": purpose})
    return StepUpLink(f"{base_url.rstrip('/')}{IDENTITY_PATH}{token}", check.expires_at, check.id)


async def find_by_token(session: AsyncSession, token: str) -> IdentityCheck | None:
    if not token or len(token) > 128:
        return None
    return await session.scalar(select(IdentityCheck).where(
        IdentityCheck.token_hash == token_digest(token)))


def link_state(check: IdentityCheck) -> LinkState:
    if check.result == "verified":
        return "verified"
    if check.result == "failed":
        return "failed"
    return "expired" if clock.ensure_utc(check.expires_at) <= clock.now() else "pending"


async def find_opened(session: AsyncSession, reference: str) -> IdentityCheck:
    """A check the customer has opened and that still waits for its result (the demo
    exchange's sign-in page looks it up by reference)."""
    try:
        check = await session.get(IdentityCheck, uuid.UUID(reference))
    except ValueError:
        check = None
    if check is None or check.opened_at is None:
        raise StepUpError("no identity check is waiting with this reference",
                          code="step_up_not_found", status=404)
    if link_state(check) != "pending":
        raise StepUpError("this identity check is over", code="step_up_used", status=409)
    return check


async def begin_check(
    session: AsyncSession,
    exchange: ExchangeAdapter,
    settings: Settings,
    *,
    token: str,
    base_url: str,
) -> str:
    """The customer continues from the link: ask the exchange to re-authenticate them and
    return the URL of its sign-in page. A pending link may be opened again (a closed tab)."""
    check = await find_by_token(session, token)
    if check is None:
        raise StepUpError("this verification link is not valid", code="step_up_not_found",
                          status=404)
    state = link_state(check)
    if state == "expired":
        raise StepUpError("this verification link has expired; ask support for a new one",
                          code="step_up_expired", status=410)
    if state != "pending":
        raise StepUpError("this verification link was already used", code="step_up_used",
                          status=409)
    if callback_secret(settings) is None:
        raise _not_configured()
    customer = await session.get(Customer, check.customer_id)
    assert customer is not None  # the foreign key cascades
    base = base_url.rstrip("/")
    started = await exchange.start_identity_check(customer.external_id, IdentityCheckRequest(
        reference=str(check.id), purpose=check.purpose,
        callback_url=f"{base}{CALLBACK_PATH}", return_url=f"{base}{IDENTITY_PATH}{token}",
        expires_at=check.expires_at))
    if check.opened_at is None:
        check.opened_at = clock.now()
        await audit(session, None, "stepup.opened", target_type="identity_check",
                    target_id=str(check.id), details={"purpose": check.purpose})
    await session.flush()
    return started.redirect_url


async def _audit_refusal(session: AsyncSession, action: str, check_id: str,
                         details: dict[str, Any]) -> None:
    """Audit in a separate transaction: the refused request itself is rolled back."""
    db: Database | None = session.info.get("db")
    if db is None:  # pragma: no cover - every session we create carries its database
        await audit(session, None, action, target_type="identity_check", target_id=check_id,
                    details=details)
        return
    async with db.transaction() as own:
        await audit(own, None, action, target_type="identity_check", target_id=check_id,
                    details=details)


async def _refuse(session: AsyncSession, check: IdentityCheck, result: IdentityCheckResult,
                  error: StepUpError) -> StepUpError:
    await _audit_refusal(session, "stepup.callback_refused", str(check.id), {
        "code": error.code, "result": result.result, "method": result.method})
    return error


def parse_result(secret: str, body: bytes, signature: str | None) -> IdentityCheckResult:
    """The callback body, once its signature is proven; ``StepUpError`` 401 otherwise."""
    try:
        callbacks.verify(secret, body, signature, now=clock.now().timestamp())
    except callbacks.BadSignature as exc:
        log.warning("stepup_callback_bad_signature", problem=str(exc))
        raise StepUpError(f"callback refused: {exc}", code="invalid_signature",
                          status=401) from exc
    try:
        return IdentityCheckResult.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(f"{where}: {first['msg']}", code="invalid_callback") from exc


async def complete_check(
    session: AsyncSession, settings: Settings, *, body: bytes, signature: str | None
) -> IdentityCheck:
    """Apply the exchange's signed result to its check (once); the ticket shows it."""
    secret = callback_secret(settings)
    if secret is None:
        raise _not_configured()
    result = parse_result(secret, body, signature)
    try:
        check_id = uuid.UUID(result.reference)
    except ValueError:
        check_id = None
    check = await session.get(IdentityCheck, check_id, with_for_update=True) if check_id else None
    if check is None:
        raise StepUpError("no identity check has this reference", code="step_up_not_found",
                          status=404)
    customer = await session.get(Customer, check.customer_id)
    assert customer is not None
    if customer.external_id != result.external_id:
        raise await _refuse(session, check, result, StepUpError(
            "the result is for another customer", code="step_up_customer_mismatch", status=409))
    if check.result != "pending":
        raise await _refuse(session, check, result, StepUpError(
            "this identity check was already completed", code="step_up_replayed", status=409))
    if clock.ensure_utc(check.expires_at) <= clock.now():
        raise await _refuse(session, check, result, StepUpError(
            "this identity check expired before the result arrived", code="step_up_expired",
            status=410))
    if check.opened_at is None:
        raise await _refuse(session, check, result, StepUpError(
            "the customer never opened this identity check", code="step_up_not_started",
            status=409))
    check.result, check.method, check.completed_at = result.result, result.method, clock.now()
    ticket = await session.get(Ticket, check.ticket_id)
    assert ticket is not None
    kind = "identity_verified" if result.result == "verified" else "identity_verification_failed"
    await record_event(session, ANONYMOUS, ticket, kind, {
        "purpose": check.purpose, "method": result.method,
        "verified_at": result.authenticated_at.isoformat(timespec="seconds")})
    await audit(session, None, f"stepup.{result.result}", target_type="identity_check",
                target_id=str(check.id), details={"ticket": ticket.number,
                                                  "purpose": check.purpose,
                                                  "method": result.method})
    await ticket_changed(session, ticket, kind)
    await session.flush()
    return check


async def checks_of(session: AsyncSession, ticket_id: uuid.UUID) -> list[IdentityCheck]:
    """A ticket's identity checks, newest first."""
    return list(await session.scalars(select(IdentityCheck).where(
        IdentityCheck.ticket_id == ticket_id).order_by(IdentityCheck.created_at.desc())))
