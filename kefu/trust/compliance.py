"""The compliance guard: customers the exchange flags ``under_investigation`` are marked for
agents, replies that would tip them off are refused, and every look at their context is audited.

Tipping off a customer about an investigation is an offence in most AML regimes, so the guard
errs on the strict side: for a held customer, *any* mention of an investigation, compliance, AML,
a report to the authorities, police, courts or sanctions is refused, in English and Chinese,
whatever the language of the reply (replies mix them). Customers who are not held are never
checked. The last state learned from the exchange is remembered, so a hold stays in force while
the back office is unavailable."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.models import Customer
from kefu.accounts.service import audit
from kefu.core import clock
from kefu.core.errors import KefuError
from kefu.db import insert_or_ignore
from kefu.exchange.base import ExchangeAdapter
from kefu.exchange.schemas import CustomerContext
from kefu.guard.lookalike import fold_letters
from kefu.trust.errors import TipOffBlocked
from kefu.trust.models import ComplianceMark

HOLD_FLAGS: Final = {"under_investigation": "The exchange flags an open compliance "
                                            "investigation: do not tip the customer off."}
FRESH_FOR: Final = timedelta(minutes=5)  # a mark this recent is used without asking again

_EN_PATTERNS: Final = (
    r"\bunder (?:an? )?(?:\w+ )?investigation\b",
    r"\binvestigations?\b",
    r"\b(?:being |been )?investigated\b",
    r"\binvestigating (?:you|your account|this account)\b",
    r"\bcompliance\b",
    r"\baml\b",
    r"\banti[- ]?money[- ]?laundering\b",
    r"\bmoney[- ]?launder\w*\b",
    r"\blaunder(?:ing|ed)?\b",
    r"\breported (?:you|your account|this account)\b",
    r"\breport(?:ed|ing)? (?:you |it |this |your account )?to (?:the )?"
    r"(?:police|authorities|regulators?|law enforcement)\b",
    r"\b(?:police|law enforcement|court order|subpoena|prosecutors?)\b",
    r"\bjudicial(?: freeze| order| request)?\b",
    r"\bsanction(?:s|ed)?\b",
    r"\bsuspicious (?:activity|transaction) reports?\b",
    r"\b(?:your |this )?account (?:has been |was |is )?flagged\b",
    r"\bwatch ?list(?:ed)?\b",
)
_ZH_TERMS: Final = ("司法冻结", "被举报", "举报了您", "举报您", "反洗钱", "洗钱", "调查", "合规",
                    "公安", "警方", "司法", "法院", "执法", "协查", "冻结令", "制裁", "可疑交易",
                    "黑名单")
_EN: Final = re.compile("|".join(f"(?:{p})" for p in _EN_PATTERNS))
_ZH: Final = re.compile("|".join(re.escape(t) for t in sorted(_ZH_TERMS, key=len, reverse=True)))


def tipoff_check(text: str, lang: str | None = None) -> list[str]:
    """The phrases in ``text`` that would tip a held customer off, in order, each once; empty
    when the text is safe to send. ``lang`` (the reply's language) is accepted for symmetry with
    ``guard.outbound.check_outbound``; both languages are always checked because a Chinese reply
    may say "AML" and an English one may quote 调查. Matching ignores case, fullwidth forms and
    look-alike letters."""
    if not isinstance(text, str):
        raise ValueError(f"tipoff_check() needs a str, got {type(text).__name__}")
    folded = fold_letters(unicodedata.normalize("NFKC", text))
    found = sorted([(m.start(), m.group(0)) for m in _EN.finditer(folded)]
                   + [(m.start(), m.group(0)) for m in _ZH.finditer(folded)])
    phrases: list[str] = []
    for _, phrase in found:
        if phrase not in phrases:
            phrases.append(phrase)
    return phrases


@dataclass(frozen=True)
class ComplianceState:
    """Whether agents must treat the customer as under a compliance hold, and why."""

    hold: bool
    reason: str
    checked_at: datetime | None = None


NO_HOLD: Final = ComplianceState(False, "")


def state_from_flags(flags: list[str], *, at: datetime | None = None) -> ComplianceState:
    for flag, reason in HOLD_FLAGS.items():
        if flag in flags:
            return ComplianceState(True, reason, at)
    return ComplianceState(False, "", at)


def ensure_no_tipoff(state: ComplianceState, text: str, lang: str | None = None) -> None:
    """For the send path: ``TipOffBlocked`` when a held customer would be tipped off."""
    if state.hold and (phrases := tipoff_check(text, lang)):
        raise TipOffBlocked(phrases)


async def _remember(session: AsyncSession, customer: Customer, state: ComplianceState) -> None:
    await insert_or_ignore(session, ComplianceMark, {
        "customer_id": customer.id, "hold": state.hold, "reason": state.reason,
        "checked_at": state.checked_at or clock.now()})
    mark = await session.get(ComplianceMark, customer.id)
    assert mark is not None
    mark.hold, mark.reason = state.hold, state.reason
    mark.checked_at = state.checked_at or clock.now()
    await session.flush()


async def _audit_view(
    session: AsyncSession, viewer: Actor | None, customer: Customer, state: ComplianceState,
    ticket_number: str | None,
) -> None:
    if state.hold and viewer is not None and viewer.agent is not None:
        await audit(session, viewer, "compliance.held_customer_viewed", target_type="customer",
                    target_id=str(customer.id),
                    details={"external_id": customer.external_id, "ticket": ticket_number})


async def compliance_state(
    session: AsyncSession,
    customer: Customer,
    *,
    context: CustomerContext | None = None,
    viewer: Actor | None = None,
    ticket_number: str | None = None,
) -> ComplianceState:
    """The customer's compliance state. With ``context`` (just read from the exchange) its
    flags decide and are remembered; without, the last state remembered (none: no hold).
    ``viewer``: the agent reading the customer's context; a read of a held customer is audited
    (in the caller's transaction)."""
    if customer.is_visitor:
        return NO_HOLD
    if context is not None:
        state = state_from_flags(list(context.flags), at=clock.now())
        await _remember(session, customer, state)
    else:
        mark = await session.get(ComplianceMark, customer.id)
        state = (ComplianceState(mark.hold, mark.reason, mark.checked_at) if mark is not None
                 else NO_HOLD)
    await _audit_view(session, viewer, customer, state, ticket_number)
    return state


async def refresh_compliance(
    session: AsyncSession,
    customer: Customer,
    exchange: ExchangeAdapter,
    *,
    viewer: Actor | None = None,
    ticket_number: str | None = None,
) -> ComplianceState:
    """The state, asking the exchange unless a mark younger than ``FRESH_FOR`` exists. When the
    exchange cannot answer, the last known state stands: a hold is never lifted by an outage."""
    if customer.is_visitor:
        return NO_HOLD
    mark = await session.get(ComplianceMark, customer.id)
    if mark is not None and clock.now() - clock.ensure_utc(mark.checked_at) < FRESH_FOR:
        return await compliance_state(session, customer, viewer=viewer,
                                      ticket_number=ticket_number)
    try:
        context = await exchange.customer_context(customer.external_id)
    except KefuError:
        return await compliance_state(session, customer, viewer=viewer,
                                      ticket_number=ticket_number)
    return await compliance_state(session, customer, context=context, viewer=viewer,
                                  ticket_number=ticket_number)
