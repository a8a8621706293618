"""The compliance guard: tip-off phrases, the hold learned from the exchange (and kept through an
outage), and the audit of every look at a held customer."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from kefu.accounts.actor import Actor
from kefu.accounts.models import AuditEntry, Customer
from kefu.core import clock
from kefu.exchange.base import ExchangeUnavailable
from kefu.exchange.demo import DemoExchangeAdapter
from kefu.exchange.schemas import CustomerContext
from kefu.trust.compliance import (
    FRESH_FOR,
    ComplianceState,
    compliance_state,
    ensure_no_tipoff,
    refresh_compliance,
    tipoff_check,
)
from kefu.trust.errors import TipOffBlocked
from tests.trust.conftest import Desk, open_ticket

HELD = "held-87"  # the demo exchange flags this id under_investigation
CLEAN = "clean-0"  # and this one with nothing


@pytest.mark.parametrize(("text", "phrases"), [
    ("Your account is under investigation.", ["under investigation"]),
    ("It is frozen pending a compliance review.", ["compliance"]),
    ("We reported you to the police.", ["reported you", "police"]),
    ("The freeze is due to AML checks.", ["aml"]),
    ("Our anti-money laundering team will decide.", ["anti-money laundering"]),
    ("This follows a court order.", ["court order"]),
    ("您的账户正在接受调查。", ["调查"]),
    ("因反洗钱审查，账户已被司法冻结。", ["反洗钱", "司法冻结"]),
    ("您被举报了，请配合合规部门。", ["被举报", "合规"]),
    ("Your account is UNDER ＩＮＶＥＳＴＩＧＡＴＩＯＮ", ["under investigation"]),  # fullwidth
    ("Your account was flagged by our team.", ["your account was flagged"]),
])
def test_tipoff_phrases_are_found_in_both_languages(text: str, phrases: list[str]) -> None:
    assert tipoff_check(text, "en") == phrases


@pytest.mark.parametrize("text", [
    "Your withdrawal is pending review; we will update you within 24 hours.",
    "Please check the deposit address and network on the Deposit page.",
    "我们正在核实您的充值，请稍候。",
    "Your 2FA reset needs an identity verification link.",
    "We are checking why the transfer is delayed.",
])
def test_ordinary_replies_pass(text: str) -> None:
    assert tipoff_check(text, "en") == []


def test_only_held_customers_are_refused() -> None:
    held, free = ComplianceState(True, "open investigation"), ComplianceState(False, "")
    ensure_no_tipoff(free, "Your account is under investigation.", "en")
    with pytest.raises(TipOffBlocked) as blocked:
        ensure_no_tipoff(held, "Due to AML rules your account is frozen.", "en")
    assert blocked.value.status == 422
    assert blocked.value.code == "compliance_tipoff"
    assert blocked.value.phrases == ["aml"]
    ensure_no_tipoff(held, "Your withdrawal is being processed.", "en")
    with pytest.raises(ValueError, match="needs a str"):
        tipoff_check(None, "en")  # type: ignore[arg-type]


class DownExchange(DemoExchangeAdapter):
    async def customer_context(self, external_id: str) -> CustomerContext:
        raise ExchangeUnavailable("down for the test")


async def test_hold_comes_from_the_exchange_and_survives_an_outage(
    app: FastAPI, desk: Desk, restore_clock: None
) -> None:
    exchange = DemoExchangeAdapter()
    viewer = Actor(kind="agent", agent=desk.agent)
    async with app.state.db.transaction() as session:
        held = Customer(external_id=HELD, flags=[])
        clean = Customer(external_id=CLEAN, flags=[])
        visitor = Customer(external_id="visitor:v_x", is_visitor=True, flags=[])
        session.add_all([held, clean, visitor])
        await session.flush()
        assert not (await compliance_state(session, held)).hold  # nothing learned yet
        state = await refresh_compliance(session, held, exchange, viewer=viewer,
                                         ticket_number="KF-TEST22")
        assert state.hold
        assert "investigation" in state.reason
        assert not (await refresh_compliance(session, clean, exchange, viewer=viewer)).hold
        assert not (await refresh_compliance(session, visitor, exchange)).hold

    later = clock.now() + FRESH_FOR + timedelta(seconds=1)
    clock.set_clock(lambda: later)
    async with app.state.db.transaction() as session:
        again = await session.get(Customer, held.id)
        assert again is not None
        assert (await refresh_compliance(session, again, DownExchange(), viewer=viewer)).hold
        audited = await session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "compliance.held_customer_viewed",
            AuditEntry.target_id == str(held.id)))
    assert audited == 2  # each look by an agent at the held customer; none for the others


async def test_trust_panel_marks_held_customers_and_audits_each_look(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk
) -> None:
    held_ticket = await open_ticket(client, desk.customer(app, HELD))
    clean_ticket = await open_ticket(client, desk.customer(app, CLEAN))
    for _ in range(2):
        panel = await client.get(f"/api/v1/tickets/{held_ticket}/trust",
                                 headers=desk.headers["agent"])
        assert panel.status_code == 200
        assert panel.json()["compliance"]["hold"] is True
    assert (await client.get(f"/api/v1/tickets/{clean_ticket}/trust",
                             headers=desk.headers["agent"])).json()["compliance"]["hold"] is False
    async with app.state.db.transaction() as session:
        looks = list(await session.scalars(select(AuditEntry.details).where(
            AuditEntry.action == "compliance.held_customer_viewed")))
    assert [d["ticket"] for d in looks] == [held_ticket, held_ticket]
    assert (await client.get(f"/api/v1/tickets/{held_ticket}/trust",
                             headers=desk.headers["other"])).status_code == 404
