"""Abuse flags, escalating cool-downs and the supervisor review queue (API and page)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from kefu.accounts.models import AuditEntry, Customer
from kefu.core import clock
from kefu.guard.abuse import harassment_score, reason_parts, spam_score
from kefu.tickets.models import Ticket
from kefu.trust.errors import CoolingDown
from kefu.trust.review import cooldown_for, ensure_not_cooling_down, record_flag
from tests.trust.conftest import Desk, open_ticket
from tests.web.browser import agent_sign_in, csrf_of

SEED = ("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
        "abandon about")


async def flag_ticket(app: FastAPI, number: str, *, kind: str = "harassment",
                      cool_down: bool = False, visitor_id: str | None = None,
                      reasons: tuple[str, ...] = ("insult: idiot",)) -> uuid.UUID:
    async with app.state.db.transaction() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        flag = await record_flag(session, kind=kind, score=0.93, reasons=list(reasons),
                                 text=f"you idiot, my seed is {SEED}", ticket=ticket,
                                 cool_down=cool_down, visitor_id=visitor_id)
        return flag.id


async def test_flags_keep_only_masked_text_and_cool_downs_escalate(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk, restore_clock: None
) -> None:
    number = await open_ticket(client, desk.customer(app, "cust-rude"))
    start = clock.now()
    waits = []
    for hours in (0, 1, 2, 3):
        moment = start + timedelta(hours=hours)
        clock.set_clock(lambda moment=moment: moment)  # type: ignore[misc]
        await flag_ticket(app, number, cool_down=True)
        async with app.state.db.transaction() as session:
            customer = await session.scalar(select(Customer).where(
                Customer.external_id == "cust-rude"))
            assert customer is not None
            active = await cooldown_for(session, customer_id=customer.id)
            assert active is not None
            waits.append(clock.ensure_utc(active.until) - moment)
            with pytest.raises(CoolingDown) as refused:
                await ensure_not_cooling_down(session, customer_id=customer.id)
            assert refused.value.status == 429
    assert waits == [timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=24),
                     timedelta(hours=24)]

    later = start + timedelta(days=3)
    clock.set_clock(lambda: later)
    async with app.state.db.transaction() as session:
        assert await cooldown_for(session, customer_id=customer.id) is None
        await ensure_not_cooling_down(session, customer_id=customer.id)

    queue = await client.get("/api/v1/trust/flags", headers=desk.headers["supervisor"])
    assert queue.status_code == 200
    items = queue.json()["items"]
    assert len(items) == 4
    assert all("abandon" not in item["excerpt"] for item in items)
    assert "[REDACTED seed_phrase]" in items[0]["excerpt"]
    assert items[0]["ticket_number"] == number
    assert items[0]["customer_external_id"] == "cust-rude"


async def test_visitors_cool_down_by_visitor_id(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk
) -> None:
    visitor = (await client.post("/api/v1/visitors")).json()
    created = await client.post("/api/v1/tickets", headers={"X-Kefu-Visitor": visitor["token"]},
                                json={"subject": "spam", "body": "join my group"})
    assert created.status_code == 201
    await flag_ticket(app, created.json()["number"], kind="spam", cool_down=True,
                      visitor_id=visitor["visitor_id"])
    async with app.state.db.transaction() as session:
        assert await cooldown_for(session, visitor_id=visitor["visitor_id"]) is not None
        assert await cooldown_for(session, visitor_id="v_someone_else") is None
        with pytest.raises(ValueError, match="unknown flag kind"):
            await record_flag(session, kind="rude", score=1, reasons=[], customer=None)


async def test_supervisors_dismiss_or_action_flags(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk
) -> None:
    number = await open_ticket(client, desk.customer(app, "cust-review"))
    dismissed_id = await flag_ticket(app, number, cool_down=True)
    actioned_id = await flag_ticket(app, number, kind="scam")
    sup = desk.headers["supervisor"]

    assert (await client.get("/api/v1/trust/flags", headers=desk.headers["agent"])).status_code \
        == 403
    dismissed = await client.post("/api/v1/trust/flags/review", headers=sup, json={
        "flag_id": str(dismissed_id), "decision": "dismissed", "note": "banter"})
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json()["status"] == "dismissed"
    assert dismissed.json()["reviewed_by_agent_id"] == str(desk.supervisor.id)
    async with app.state.db.transaction() as session:
        customer = await session.scalar(select(Customer).where(
            Customer.external_id == "cust-review"))
        assert customer is not None
        assert await cooldown_for(session, customer_id=customer.id) is None  # lifted

    twice = await client.post("/api/v1/trust/flags/review", headers=sup, json={
        "flag_id": str(dismissed_id), "decision": "actioned"})
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "flag_already_reviewed")
    bad = await client.post("/api/v1/trust/flags/review", headers=sup, json={
        "flag_id": str(actioned_id), "decision": "dismissed", "cooldown_minutes": 10})
    assert bad.status_code == 422

    actioned = await client.post("/api/v1/trust/flags/review", headers=sup, json={
        "flag_id": str(actioned_id), "decision": "actioned", "cooldown_minutes": 60})
    assert actioned.status_code == 200
    async with app.state.db.transaction() as session:
        active = await cooldown_for(session, customer_id=customer.id)
        assert active is not None
        assert clock.ensure_utc(active.until) - clock.now() > timedelta(minutes=59)
        actions = list(await session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("abuse.%")).order_by(AuditEntry.at)))
    assert actions == ["abuse.cooldown_started", "abuse.flagged", "abuse.flagged",
                       "abuse.flag_dismissed", "abuse.flag_actioned", "abuse.cooldown_started"]
    assert (await client.get("/api/v1/trust/flags", headers=sup)).json()["items"] == []
    past = await client.get("/api/v1/trust/flags", headers=sup, params={"status": "actioned"})
    assert [f["id"] for f in past.json()["items"]] == [str(actioned_id)]


async def test_review_page(app: FastAPI, client: httpx.AsyncClient, desk: Desk) -> None:
    number = await open_ticket(client, desk.customer(app, "cust-page"))
    flag_id = await flag_ticket(app, number)
    assert (await agent_sign_in(client, desk.agent.email)).status_code == 303
    assert (await client.get("/agent/review")).status_code == 403
    client.cookies.clear()
    assert (await agent_sign_in(client, desk.supervisor.email)).status_code == 303
    page = await client.get("/agent/review")
    assert page.status_code == 200
    assert f'data-flag="{flag_id}"' in page.text
    assert "[REDACTED seed_phrase]" in page.text
    assert "abandon" not in page.text
    answered = await client.post(f"/agent/review/{flag_id}", data={
        "decision": "actioned", "note": "warned", "csrf_token": csrf_of(page.text)})
    assert answered.status_code == 303
    after = await client.get(answered.headers["location"])
    assert f'data-flag="{flag_id}"' not in after.text
    assert "warned" in after.text


async def test_review_page_names_scam_signs_in_the_readers_language(
        app: FastAPI, client: httpx.AsyncClient, desk: Desk) -> None:
    number = await open_ticket(client, desk.customer(app, "cust-scam"))
    await flag_ticket(app, number, kind="scam", reasons=(
        "impersonation: claiming to be your support", "recovery_service: 钱能追回"))
    assert (await agent_sign_in(client, desk.supervisor.email)).status_code == 303
    page = (await client.get("/agent/review?lang=zh-CN")).text
    assert "冒充官方人员: claiming to be your support" in page
    assert "声称可追回被骗资金: 钱能追回" in page
    assert "impersonation:" not in page
    assert "客户 <span class=\"mono\">cust-scam</span>" in page  # not run into the number


async def test_review_page_names_harassment_and_spam_evidence_in_the_readers_language(
        app: FastAPI, client: httpx.AsyncClient, desk: Desk) -> None:
    number = await open_ticket(client, desk.customer(app, "cust-rude"))
    rude = harassment_score("you are an idiot").reasons + spam_score(
        "WIN FREE USDT NOW!!! VISIT HTTP://A.XYZ AND HTTP://B.XYZ").reasons
    assert rude[0] == "insult (person): idiot"
    assert "links: 2" in rude
    await flag_ticket(app, number, kind="harassment", reasons=rude)
    assert (await agent_sign_in(client, desk.supervisor.email)).status_code == 303
    page = (await client.get("/agent/review?lang=zh-CN")).text
    assert "辱骂（针对个人）：idiot" in page
    assert "2 个链接" in page
    assert "全部大写" in page
    assert "(person)" not in page
    assert "links:" not in page
    assert "all caps" not in page
    english = (await client.get("/agent/review?lang=en")).text
    assert "Insult aimed at a person: idiot" in english
    assert "2 links" in english


def test_every_harassment_and_spam_reason_has_a_code() -> None:
    texts = ["you are an idiot", "fuck you", "i will kill you", "this exchange is shit",
             "WIN FREE USDT NOW!!! VISIT HTTP://A.XYZ AND HTTP://B.XYZ AND HTTP://C.XYZ",
             "加我微信 vx: abc12345 免费送币", "aaaaaaaaaaaa", "buy buy buy buy buy"]
    reasons = [r for text in texts for r in harassment_score(text).reasons
               + spam_score(text, recent=[text, text]).reasons]
    assert len(reasons) >= 10
    assert all(reason_parts(r) is not None for r in reasons), reasons
    assert {code for code, _ in map(reason_parts, reasons) if code} >= {
        "harassment", "promotion", "links", "contact_handle", "all_caps", "sent_before"}
