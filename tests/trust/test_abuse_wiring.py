"""The abuse checks on the inbound write path (issue 6 point 6): cool-downs refuse new messages,
harassment and spam are flagged (and cooled down when clear), scams are warned about once per
ticket and kind, a repeated request goes to the open ticket; through the API, the portal, the
chat's batches and the websocket, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event, func, select

from kefu.accounts.actor import Actor
from kefu.accounts.models import AuditEntry, Customer
from kefu.config import Settings
from kefu.core import clock
from kefu.db import Database
from kefu.guard.abuse import (
    customer_warning,
    harassment_score,
    scam_signals,
    screen,
    spam_score,
)
from kefu.realtime.analysis import Analysis
from kefu.tickets import replies
from kefu.tickets.abuse_checks import cooldown_notice
from kefu.tickets.chat import Appended, ChatSend, append_chat_batch
from kefu.tickets.creation import create_ticket
from kefu.tickets.events import tags_of
from kefu.tickets.models import Message, Ticket, TicketEvent
from kefu.tickets.schemas import ReplyCreate
from kefu.trust.errors import CoolingDown
from kefu.trust.models import AbuseFlag
from kefu.trust.review import cooldown_for
from tests.factories import batch_session, customer_token
from tests.realtime.live import Client, LiveServer, factory_app, live_server
from tests.trust.conftest import Desk, open_ticket
from tests.web.browser import csrf_of, png_bytes, portal_sign_in

NORMAL_EN = (
    "this is ridiculous, 3 days and still nothing!!",
    "Where is my withdrawal?! It has been 3 days!!!",
    "This stupid app keeps logging me out",
    "WHERE IS MY MONEY I NEED IT NOW",
    "I will report you to the regulator if this is not fixed today.",
    "any update?",
    "any update?",
    "Why was I charged a withdrawal fee? https://demoex.com/fees says 1 USDT",
)
NORMAL_ZH = ("提币一直在审核中，怎么回事", "太离谱了，我的钱到底去哪了？？", "垃圾平台，提现这么慢",
             "合约保证金是怎么计算的？")
TXID = "0x9f2c41ab3e5d7c8b1a2f4e6d8c0b3a5f7e9d1c2b4a6f8e0d2c4b6a8f0e2d4c6b"


async def reply(client: httpx.AsyncClient, headers: dict[str, str], number: str, body: str,
                client_msg_id: str | None = None) -> httpx.Response:
    payload: dict[str, Any] = {"body": body}
    if client_msg_id:
        payload["client_msg_id"] = client_msg_id
    return await client.post(f"/api/v1/tickets/{number}/replies", headers=headers, json=payload)


async def staff_view(client: httpx.AsyncClient, desk: Desk, number: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/tickets/{number}", headers=desk.headers["supervisor"])
    assert response.status_code == 200, response.text
    return dict(response.json())


async def open_flags(client: httpx.AsyncClient, desk: Desk) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/trust/flags", headers=desk.headers["supervisor"])
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def system_bodies(ticket: dict[str, Any]) -> list[str]:
    return [m["body"] for m in ticket["messages"] if m["author_kind"] == "system"]


async def audit_actions(app: FastAPI, prefix: str) -> list[str]:
    async with app.state.db.transaction() as session:
        return list(await session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like(f"{prefix}%")).order_by(AuditEntry.at)))


async def stored_customer(app: FastAPI, external_id: str) -> Customer:
    async with app.state.db.transaction() as session:
        customer = await session.scalar(select(Customer).where(
            Customer.external_id == external_id))
        assert customer is not None
        return customer


# ---------------------------------------------------------------- what must pass untouched


@given(st.text(max_size=80), st.lists(st.text(max_size=40), max_size=3))
def test_screen_is_the_three_detectors_at_once(text: str, recent: list[str]) -> None:
    screening = screen(text, recent=recent)
    assert screening.harassment == harassment_score(text)
    assert screening.spam == spam_score(text, recent=recent)
    assert screening.scams == scam_signals(text)
    assert screening.actionable == bool(
        screening.scams or screening.harassment.score >= 0.5 or screening.spam.score >= 0.5)


async def test_normal_support_messages_are_not_flagged(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk
) -> None:
    en = desk.customer(app, "cust-normal", lang="en")
    number = await open_ticket(client, en, subject="USDT deposit",
                               body=f"my USDT deposit has not arrived, txid {TXID}")
    for body in NORMAL_EN:
        assert (await reply(client, en, number, body)).status_code == 201
    zh = desk.customer(app, "cust-normal-zh", lang="zh-CN")
    zh_number = await open_ticket(client, zh, subject="提币", body=NORMAL_ZH[0])
    for body in NORMAL_ZH[1:]:
        assert (await reply(client, zh, zh_number, body)).status_code == 201

    assert await open_flags(client, desk) == []
    for shown in [await staff_view(client, desk, n) for n in (number, zh_number)]:
        assert shown["tags"] == []
        assert system_bodies(shown) == []
    assert await audit_actions(app, "abuse.") == []
    # The chat's batches take the fast path for the same messages: nothing to act on.
    actor = Actor(kind="customer", customer=await stored_customer(app, "cust-normal"))
    async with app.state.db.transaction() as session:
        outcomes = await append_chat_batch(session, [
            ChatSend(actor, number, body, f"n-{i}") for i, body in enumerate(NORMAL_EN)])
    assert all(isinstance(o, Appended) and o.created for o in outcomes)


# ---------------------------------------------------------------- harassment and spam


async def test_strong_harassment_is_kept_flagged_and_cools_the_customer_down(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk
) -> None:
    rude = desk.customer(app, "cust-rude", lang="en")
    number = await open_ticket(client, rude, subject="Withdrawal", body="Withdrawal stuck")
    sent = await reply(client, rude, number, "fuck you, you idiot", client_msg_id="m-rude")
    assert sent.status_code == 201, sent.text
    assert sent.json()["body"] == "fuck you, you idiot"  # what was accepted is kept

    shown = await staff_view(client, desk, number)
    assert shown["tags"] == ["abuse"]
    assert system_bodies(shown) == [
        "Because of abusive language, you cannot send new messages for the next 5 minutes. "
        "We have received what you already sent."]
    (flag,) = await open_flags(client, desk)
    assert (flag["kind"], flag["ticket_number"], flag["customer_external_id"]) == (
        "harassment", number, "cust-rude")
    assert flag["score"] >= 0.8
    assert flag["excerpt"] == "fuck you, you idiot"
    assert any("attack" in r or "insult" in r for r in flag["reasons"])

    refused = await reply(client, rude, number, "hello?")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "cooling_down"
    assert 240 <= int(refused.headers["Retry-After"]) <= 300
    new = await client.post("/api/v1/tickets", headers=rude,
                            json={"subject": "Another", "body": "Opening another one"})
    assert (new.status_code, new.json()["error"]["code"]) == (429, "cooling_down")
    await portal_sign_in(client, app.state.settings, "cust-rude")
    page = await client.get(f"/portal/tickets/{number}")
    portal = await client.post(f"/portal/tickets/{number}/reply", data={
        "csrf_token": csrf_of(page.text), "body": "hello from the portal"})
    assert portal.status_code == 429
    assert "hello from the portal" in portal.text  # the form keeps what they wrote
    client.cookies.clear()
    # A resend of the message stored before the cool-down is not a new message: same answer.
    again = await reply(client, rude, number, "fuck you, you idiot", client_msg_id="m-rude")
    assert (again.status_code, again.json()["id"]) == (201, sent.json()["id"])
    # Agents still answer.
    assert (await reply(client, desk.headers["agent"], number, "We are checking.")).status_code \
        == 201
    assert await audit_actions(app, "abuse.") == ["abuse.cooldown_started", "abuse.flagged"]

    dismissed = await client.post("/api/v1/trust/flags/review",
                                  headers=desk.headers["supervisor"],
                                  json={"flag_id": flag["id"], "decision": "dismissed"})
    assert dismissed.status_code == 200
    assert (await reply(client, rude, number, "sorry, where is my withdrawal")).status_code \
        == 201


def test_the_cool_down_notice_says_for_how_long() -> None:
    """The escalating steps as the customer reads them (the wait is a little under a step)."""
    assert "next 30 minutes." in cooldown_notice("spam", timedelta(minutes=29, seconds=59), "en")
    assert "next 24 hours." in cooldown_notice("harassment", timedelta(hours=24), "en")
    assert "next 1 minute." in cooldown_notice("spam", timedelta(seconds=10), "en")
    assert "24小时内" in cooldown_notice("harassment", timedelta(hours=24), "zh-CN")


async def test_insults_below_high_are_flagged_without_a_cool_down(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk
) -> None:
    headers = desk.customer(app, "cust-medium", lang="en")
    number = await open_ticket(client, headers, subject="2FA", body="Reset my 2FA please")
    assert (await reply(client, headers, number, "are you stupid? I told you twice")
            ).status_code == 201
    assert (await reply(client, headers, number, "ok, what now")).status_code == 201
    (flag,) = await open_flags(client, desk)
    assert (flag["kind"], flag["score"]) == ("harassment", 0.6)
    shown = await staff_view(client, desk, number)
    assert shown["tags"] == ["abuse"]
    assert system_bodies(shown) == []  # nothing to tell the customer
    assert await audit_actions(app, "abuse.") == ["abuse.flagged"]
    events = await client.get(f"/api/v1/tickets/{number}/events",
                              headers=desk.headers["agent"])
    flagged = [e for e in events.json()["items"] if e["kind"] == "abuse_flagged"]
    assert [e["data"] for e in flagged] == [{"kinds": ["harassment"], "cooldown": False}]


async def test_chinese_abuse_and_spam_get_a_chinese_notice(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk
) -> None:
    zh = desk.customer(app, "cust-zh", lang="zh-CN")
    number = await open_ticket(client, zh, subject="提币", body=NORMAL_ZH[0])
    assert (await reply(client, zh, number, "你个傻逼")).status_code == 201
    shown = await staff_view(client, desk, number)
    assert system_bodies(shown) == [
        "由于不文明用语，您在5分钟内暂时无法发送新消息。已发送的内容我们已经收到。"]
    assert (await reply(client, zh, number, "还在吗")).status_code == 429

    spammer = desk.customer(app, "cust-zh-spam", lang="zh-CN")
    spam = await client.post("/api/v1/tickets", headers=spammer, json={
        "subject": "福利", "body": "加微信 abc12345 免费领取USDT"})
    assert spam.status_code == 201  # the ticket is opened; then the cool-down starts
    assert system_bodies(spam.json()) == [
        "由于重复或推广信息，您在5分钟内暂时无法发送新消息。已发送的内容我们已经收到。"]
    assert {f["kind"] for f in await open_flags(client, desk)} == {"harassment", "spam"}


async def test_a_flood_of_the_same_message_is_flagged_then_cooled_down(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk, restore_clock: None
) -> None:
    headers = desk.customer(app, "cust-flood", lang="en")
    number = await open_ticket(client, headers, subject="Deposit", body="Deposit missing")
    text = "where is my deposit, answer me"
    for _ in range(3):  # once, repeated once (low), repeated twice (flag for review)
        assert (await reply(client, headers, number, text)).status_code == 201
    (flag,) = await open_flags(client, desk)
    assert (flag["kind"], flag["reasons"]) == ("spam", ["sent before: 2x"])
    assert (await reply(client, headers, number, text)).status_code == 201  # third repeat
    assert [f["kind"] for f in await open_flags(client, desk)] == ["spam", "spam"]
    assert (await reply(client, headers, number, text)).status_code == 429
    assert system_bodies(await staff_view(client, desk, number)) == [
        "Because of repeated or promotional messages, you cannot send new messages for the "
        "next 5 minutes. We have received what you already sent."]

    # The same question again after the window is a customer waiting, not a flood.
    later = clock.now() + timedelta(hours=1)
    clock.set_clock(lambda: later)
    assert (await reply(client, headers, number, text)).status_code == 201
    assert len(await open_flags(client, desk)) == 2


async def test_visitors_are_held_by_their_visitor_id(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk
) -> None:
    visitor = (await client.post("/api/v1/visitors")).json()
    headers = {"X-Kefu-Visitor": visitor["token"]}
    created = await client.post("/api/v1/tickets", headers=headers,
                                json={"subject": "hi", "body": "I will find you"})
    assert created.status_code == 201
    number = created.json()["number"]
    refused = await reply(client, headers, number, "hello")
    assert (refused.status_code, refused.json()["error"]["code"]) == (429, "cooling_down")
    async with app.state.db.transaction() as session:
        assert await cooldown_for(session, visitor_id=visitor["visitor_id"]) is not None
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        assert await cooldown_for(session, customer_id=ticket.customer_id) is None


# ---------------------------------------------------------------- scams


async def test_scam_warnings_once_per_ticket_and_kind(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk
) -> None:
    headers = desk.customer(app, "cust-scam", lang="en")
    first = "Someone from support contacted me on WhatsApp"
    number = await open_ticket(client, headers, subject="Support?", body=first)
    assert (await reply(client, headers, number, "They contacted me on WhatsApp again")
            ).status_code == 201
    paying = "They asked me to pay a 10% tax before I can withdraw"
    assert (await reply(client, headers, number, paying)).status_code == 201
    assert (await reply(client, headers, number, "what should I do")).status_code == 201

    shown = await staff_view(client, desk, number)
    assert system_bodies(shown) == [customer_warning(scam_signals(first), "en"),
                                    customer_warning(scam_signals(paying), "en")]
    assert shown["tags"] == ["scam-risk"]
    flags = await open_flags(client, desk)
    assert [(f["kind"], f["reasons"]) for f in flags] == [
        ("scam", ["off_platform_contact: support contacted me on WhatsApp"]),
        ("scam", ["payment_demand: asked me to pay"])]
    customer = await stored_customer(app, "cust-scam")
    async with app.state.db.transaction() as session:
        assert await cooldown_for(session, customer_id=customer.id) is None

    zh = desk.customer(app, "cust-scam-zh", lang="zh-CN")
    zh_number = await open_ticket(client, zh, subject="客服", body="客服让我加他的微信处理")
    warning = system_bodies(await staff_view(client, desk, zh_number))
    assert warning == [customer_warning(scam_signals("客服让我加他的微信处理"), "zh")]
    assert warning[0].startswith("请注意防范诈骗")


# ---------------------------------------------------------------- repeated requests


async def test_a_repeated_request_goes_to_the_open_ticket(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk, restore_clock: None
) -> None:
    alice = desk.customer(app, "cust-dup", lang="en")
    number = await open_ticket(client, alice, subject="Deposit", body="Where is my deposit??")
    again = await client.post("/api/v1/tickets", headers=alice, json={
        "subject": "Deposit again", "body": "where is my deposit", "client_msg_id": "dup-1"})
    assert again.status_code == 200, again.text
    assert (again.json()["number"], again.json()["duplicate_of"]) == (number, number)
    assert [(m["author_kind"], m["body"]) for m in again.json()["messages"]] == [
        ("customer", "Where is my deposit??"), ("customer", "where is my deposit"),
        ("system", f"You already have {number} open; we added your message there.")]
    resent = await client.post("/api/v1/tickets", headers=alice, json={
        "subject": "Deposit again", "body": "where is my deposit", "client_msg_id": "dup-1"})
    assert (resent.status_code, len(resent.json()["messages"])) == (200, 3)
    assert await audit_actions(app, "ticket.duplicate") == ["ticket.duplicate_added"]
    events = await client.get(f"/api/v1/tickets/{number}/events", headers=desk.headers["agent"])
    assert [e["kind"] for e in events.json()["items"]].count("duplicate_added") == 1

    other = await client.post("/api/v1/tickets", headers=alice,
                              json={"subject": "2FA", "body": "How do I reset my 2FA?"})
    assert (other.status_code, other.json()["duplicate_of"]) == (201, None)
    bob = desk.customer(app, "cust-dup-bob", lang="en")
    assert (await client.post("/api/v1/tickets", headers=bob, json={
        "subject": "Deposit", "body": "where is my deposit"})).status_code == 201

    # A ticket pending on the customer opens again; a resolved one, or one older than a week,
    # is not added to.
    pending = await client.post(f"/api/v1/tickets/{number}/status", headers=desk.headers["agent"],
                                json={"status": "pending", "pending_reason": "customer"})
    assert pending.status_code == 200, pending.text
    third = await client.post("/api/v1/tickets", headers=alice,
                              json={"subject": "Deposit", "body": "Where is my deposit"})
    assert (third.status_code, third.json()["status"]) == (200, "open")
    later = clock.now() + timedelta(days=8)
    clock.set_clock(lambda: later)
    fresh = await client.post("/api/v1/tickets", headers=alice,
                              json={"subject": "Deposit", "body": "where is my deposit!"})
    assert (fresh.status_code, fresh.json()["duplicate_of"]) == (201, None)
    on_behalf = await client.post("/api/v1/tickets", headers=desk.headers["agent"], json={
        "subject": "Phone call", "body": "Where is my deposit",
        "customer_external_id": "cust-dup"})
    assert on_behalf.status_code == 201  # agents record what the customer asked, as asked


async def test_a_repeated_request_in_chinese_and_through_the_portal(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk
) -> None:
    zh = desk.customer(app, "cust-dup-zh", lang="zh-CN")
    number = await open_ticket(client, zh, subject="充值", body="我的充值怎么还没到账？")
    again = await client.post("/api/v1/tickets", headers=zh,
                              json={"subject": "充值", "body": "我的充值怎么还没到账"})
    assert again.status_code == 200
    assert system_bodies(again.json()) == [
        f"您已有一个处理中的工单 {number}，我们已将您的消息添加到该工单。"]

    await portal_sign_in(client, app.state.settings, "cust-portal-dup", lang="en")
    form = await client.get("/portal/tickets/new", params={"category": "deposit"})
    fields = {"csrf_token": csrf_of(form.text), "category": "deposit",
              "subject": "USDT deposit", "body": "My USDT deposit has not arrived yet"}
    created = await client.post("/portal/tickets/new", data=fields)
    assert created.status_code == 303
    portal_number = created.headers["location"].split("/")[3].split("?")[0]
    image = png_bytes()
    repeated = await client.post("/portal/tickets/new", data={
        **fields, "body": "my USDT deposit has not arrived yet!"},
        files=[("files", ("proof.png", image, "image/png"))])
    assert repeated.status_code == 303
    assert repeated.headers["location"] == f"/portal/tickets/{portal_number}?ok=replied"
    client.cookies.clear()
    shown = await staff_view(client, desk, portal_number)
    customer_messages = [m for m in shown["messages"] if m["author_kind"] == "customer"]
    assert [len(m["attachments"]) for m in customer_messages] == [0, 1]  # on the new message
    assert system_bodies(shown) == [
        f"You already have {portal_number} open; we added your message there."]


# ---------------------------------------------------------------- the chat's batches


async def chat_customer(app: FastAPI, external_id: str, first: str) -> tuple[Actor, str]:
    """A customer with an open chat ticket opened by ``first``."""
    async with app.state.db.transaction() as session:
        customer = Customer(external_id=external_id, display_name=external_id)
        session.add(customer)
        await session.flush()
        actor = Actor(kind="customer", customer=customer)
        opened = await create_ticket(session, actor, customer=customer,
                                     subject="Deposit", body=first, channel="chat")
        ticket = opened.ticket
        ticket.status = "open"
        return actor, ticket.number


async def test_batches_refuse_cooled_down_senders_with_one_query(app: FastAPI) -> None:
    rude, rude_number = await chat_customer(app, "batch-rude", "fuck you")
    rude2, rude2_number = await chat_customer(app, "batch-rude-2", "fuck you")
    polite, polite_number = await chat_customer(app, "batch-polite", "Deposit missing")
    angry, angry_number = await chat_customer(app, "batch-angry", "Deposit missing")
    async with app.state.db.transaction() as session:
        stored = await session.scalar(select(Message).where(
            Message.ticket_id == select(Ticket.id).where(Ticket.number == rude_number)
            .scalar_subquery(), Message.seq == 1))
        assert stored is not None
        stored.client_msg_id = "stored-before"

    statements: list[str] = []
    database: Database = app.state.db

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "cool_downs" in statement:
            statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with database.transaction() as session:
            outcomes = await append_chat_batch(session, [
                ChatSend(rude, rude_number, "let me write", "r-1"),
                ChatSend(polite, polite_number, "thanks, any news?", "p-1"),
                ChatSend(rude2, rude2_number, "hello", "r2-1"),
                ChatSend(rude, rude_number, "fuck you", "stored-before"),
                ChatSend(angry, angry_number, "you idiot, you moron", "a-1")])
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == 1  # one query for all the batch's senders
    assert isinstance(outcomes[0], CoolingDown)
    assert outcomes[0].code == "cooling_down"
    assert isinstance(outcomes[2], CoolingDown)
    assert isinstance(outcomes[1], Appended)
    assert outcomes[1].created
    assert isinstance(outcomes[3], Appended)
    assert not outcomes[3].created  # a resend of what was stored before the cool-down
    assert outcomes[4] is None  # abuse: through ``reply``, where it is flagged and cooled
    async with database.transaction() as session:
        bodies = list(await session.scalars(select(Message.body).join(Ticket).where(
            Ticket.number.in_([rude_number, rude2_number]), Message.author_kind == "customer")))
    assert sorted(bodies) == ["fuck you", "fuck you"]


async def test_batches_count_earlier_sends_of_the_batch_as_recent(app: FastAPI) -> None:
    actor, number = await chat_customer(app, "batch-repeat", "hello")
    async with app.state.db.transaction() as session:
        outcomes = await append_chat_batch(session, [
            ChatSend(actor, number, "is anyone there", f"r-{i}") for i in range(3)])
    # The third is a second repeat: worth a flag for review, which the batch raises once it
    # has appended it.
    assert [isinstance(o, Appended) and o.created for o in outcomes] == [True, True, True]
    third = outcomes[2]
    assert isinstance(third, Appended)
    async with app.state.db.transaction() as session:
        flags = list(await session.scalars(select(AbuseFlag).where(
            AbuseFlag.ticket_id == third.ticket.id)))
    assert [(f.kind, f.details["message_id"], f.details["level"]) for f in flags] == [
        ("spam", str(third.message.id), "medium")]
    # A third repeat, in the next batch, cools the sender down, which adds a system message
    # after theirs and refuses what follows: that is ``reply``'s to do, in order.
    async with app.state.db.transaction() as session:
        single = await append_chat_batch(session, [ChatSend(actor, number, "is anyone there",
                                                            "s-1")])
    assert single == [None]
    async with app.state.db.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(Message).where(
            Message.ticket_id == third.ticket.id))
    assert count == 4  # the first message and the three sends; the declined one waits


SPAM = "Join my VIP signal group on telegram @pumpking for 10x gains"  # spam, medium


@pytest.mark.parametrize("writer", [False, True], ids=["session", "writer"])
async def test_a_flag_for_review_is_raised_by_the_batch_as_reply_raises_it(
    app: FastAPI, writer: bool
) -> None:
    """A send that only needs a supervisor's review is appended by the batch, with the ticket's
    other sends, and flagged as ``reply`` flags it: the same flag, tag, events and audit."""
    one, one_number = await chat_customer(app, "flag-one", "Deposit missing")
    batched, batched_number = await chat_customer(app, "flag-batch", "Deposit missing")
    async with app.state.db.transaction() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == one_number))
        assert ticket is not None
        await replies.reply(session, one, app.state.settings, ticket,
                            ReplyCreate(body=SPAM, client_msg_id="one-1"))
    async with batch_session(app.state.db, writer) as session:
        outcomes = await append_chat_batch(session, [
            ChatSend(batched, batched_number, "hello?", "b-0"),
            ChatSend(batched, batched_number, SPAM, "b-1", Analysis(True, True, "en")),
            ChatSend(batched, batched_number, "my USDT deposit", "b-2")])
    assert all(isinstance(o, Appended) and o.created for o in outcomes)
    flagged = outcomes[1]
    assert isinstance(flagged, Appended)

    async def effects(number: str) -> dict[str, Any]:
        async with app.state.db.transaction() as session:
            ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
            assert ticket is not None
            flags = list(await session.scalars(select(AbuseFlag).where(
                AbuseFlag.ticket_id == ticket.id)))
            events = list(await session.scalars(select(TicketEvent).where(
                TicketEvent.ticket_id == ticket.id, TicketEvent.kind != "created")
                .order_by(TicketEvent.at)))
            audits = list(await session.scalars(select(AuditEntry).where(
                AuditEntry.target_id == number)))
            return {
                "flags": [(f.kind, f.score, f.reasons, f.excerpt, f.status, f.customer_id
                           == ticket.customer_id, f.details["level"]) for f in flags],
                "message_ids": [f.details["message_id"] for f in flags],
                "tags": await tags_of(session, ticket.id),
                "events": [(e.kind, e.actor_kind, e.data) for e in events],
                "audit": [(a.action, a.details["kind"], a.details["score"], a.details[
                    "cooldown_until"]) for a in audits],
            }

    expected, got = await effects(one_number), await effects(batched_number)
    assert got["message_ids"] == [str(flagged.message.id)]
    for key in ("flags", "tags", "events", "audit"):
        assert got[key] == expected[key], key
    assert got["flags"]
    assert got["tags"] == ["abuse"]


# ---------------------------------------------------------------- the websocket


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    with live_server(settings) as server:
        yield server


@pytest.fixture
async def live_app(live: LiveServer) -> AsyncIterator[Any]:
    async with factory_app(live) as app:
        yield app


async def test_websocket_refuses_a_cooled_down_customer_with_an_error_frame(
    live: LiveServer, live_app: Any
) -> None:
    token = customer_token(live.settings, "cust-ws", name="Wes", lang="en")
    client = await Client.connect(f"{live.ws_base}/ws/chat", {"token": token})
    await client.wait_type("welcome")
    await client.send({"type": "send", "client_msg_id": "w-1", "body": "My deposit is late"})
    number = (await client.wait_type("ack", client_msg_id="w-1"))["ticket"]
    await client.send({"type": "send", "client_msg_id": "w-2", "ticket": number,
                       "body": "fuck you, you idiot"})
    await client.wait_type("ack", client_msg_id="w-2")  # stored, then the cool-down starts
    notice = await client.wait_for(lambda f: f.get("type") == "message"
                                   and f["author"]["kind"] == "system")
    assert "5 minutes" in notice["body"]
    await client.send({"type": "send", "client_msg_id": "w-3", "ticket": number,
                       "body": "hello?"})
    error = await client.wait_type("error", ref="w-3")
    assert error["code"] == "cooling_down"
    assert 240 <= error["retry_after_s"] <= 300
    await client.close()
    async with live_app.state.db.transaction() as session:
        bodies = list(await session.scalars(select(Message.body).where(
            Message.author_kind == "customer").order_by(Message.created_at)))
    assert bodies == ["My deposit is late", "fuck you, you idiot"]


async def test_websocket_repeats_across_batches_cool_down_like_rest(
    live: LiveServer, live_app: Any
) -> None:
    """The chat's batches see the ticket's recent customer messages, not only the earlier sends
    of the same batch: the same text sent one message at a time cools down as over REST."""
    token = customer_token(live.settings, "cust-rep", name="Rex", lang="en")
    client = await Client.connect(f"{live.ws_base}/ws/chat", {"token": token})
    await client.wait_type("welcome")
    await client.send({"type": "send", "client_msg_id": "r-0", "body": "Deposit missing"})
    number = (await client.wait_type("ack", client_msg_id="r-0"))["ticket"]
    text = "where is my deposit, answer me"
    for i in range(1, 5):  # each acked before the next: one per batch
        await client.send({"type": "send", "client_msg_id": f"r-{i}", "ticket": number,
                           "body": text})
        await client.wait_type("ack", client_msg_id=f"r-{i}")
    await client.send({"type": "send", "client_msg_id": "r-5", "ticket": number, "body": text})
    error = await client.wait_type("error", ref="r-5")
    assert error["code"] == "cooling_down"
    await client.close()
    async with live_app.state.db.transaction() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        assert await cooldown_for(session, customer_id=ticket.customer_id) is not None
