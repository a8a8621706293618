"""The agent console in headless Chromium: replies and a status change made while the socket is
down, the time on a message sent live, the assistant's name, and the ticket's history in the
agent's language.

The socket is dropped from the page: an init script keeps every WebSocket the console opens
and, while told to, sends its reconnects to a path the server refuses (so the console stays
offline until the test lets it back)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kefu.accounts.actor import ANONYMOUS
from kefu.accounts.models import Agent, Team
from kefu.assistant.handoff import HandoffSummary
from kefu.assistant.service import ASSISTANT
from kefu.tickets import schemas as ticket_schemas
from kefu.tickets.models import Ticket
from kefu.tickets.service import add_message, record_event
from kefu.tickets.workflow import update_fields
from tests.factories import PASSWORD, api_token, bearer, customer_token, make_agent, make_team
from tests.realtime.live import Client, LiveServer, factory_app

# One Chromium per test process, driven from the session's event loop (see conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

SOCKETS = """
(() => {
  const Native = window.WebSocket;
  const sockets = [];
  // refuseAfterReload(): the next page load starts with sockets refused, until allow().
  let refused = sessionStorage.getItem("__refused") === "1";
  class TestSocket extends Native {
    constructor(url, protocols) {
      super(refused ? String(url).replace("/ws/", "/ws-refused/") : url, protocols);
      sockets.push(this);
    }
  }
  window.__sockets = {
    drop() { refused = true; sockets.forEach((ws) => ws.close()); },
    allow() { refused = false; sessionStorage.removeItem("__refused"); },
    refuseAfterReload() { sessionStorage.setItem("__refused", "1"); },
  };
  window.WebSocket = TestSocket;
})();
"""
LIVE = '[data-testid="connection-state"][data-state="live"]'
OFFLINE = '[data-testid="connection-state"][data-state="offline"]'


async def open_ticket(live: LiveServer, subject: str = "USDT deposit missing") -> str:
    """An agent in the English team, and a ticket from a customer; the ticket's number."""
    async with factory_app(live) as app:
        team = await make_team(app, "English", "en")
        await make_agent(app, "agent@kefu.test", teams=[team])
    headers = bearer(customer_token(live.settings, "cust-a", name="Alice", lang="en"))
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        created = await client.post("/api/v1/tickets", headers=headers, json={
            "subject": subject, "body": "My USDT deposit has not arrived.", "language": "en"})
    assert created.status_code == 201, created.text
    return str(created.json()["number"])


async def team_of(app: Any, number: str) -> Team:
    """The team a ticket is in (to give it colleagues who may read it)."""
    async with app.state.db.transaction() as session:
        team = await session.scalar(select(Team).join(Ticket, Ticket.team_id == Team.id)
                                    .where(Ticket.number == number))
    assert team is not None
    return team


async def agent_page(browser: Any, live: LiveServer, number: str, lang: str = "en",
                     errors: list[str] | None = None) -> Any:
    """A signed-in agent's ticket page, its socket live."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_init_script(SOCKETS)
    page = await context.new_page()
    if errors is not None:
        page.on("pageerror", lambda error: errors.append(str(error)))
    await open_signed_in(page, live, number, lang)
    await page.wait_for_selector(LIVE, timeout=15_000)
    return page


async def open_signed_in(page: Any, live: LiveServer, number: str, lang: str = "en") -> None:
    """Sign the agent in on ``page`` and open the ticket."""
    await page.goto(f"{live.base}/agent/login?lang={lang}")
    await page.fill("#email", "agent@kefu.test")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{live.base}/agent*")
    await page.goto(f"{live.base}/agent/tickets/{number}")


async def fresh_inbox(browser: Any, live: LiveServer, email: str) -> Any:
    """The inbox of ``email`` in a browser that has never been used (no localStorage)."""
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{live.base}/agent/login?lang=en")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{live.base}/agent*")
    await page.wait_for_selector(LIVE, timeout=15_000)
    return page


async def watched_page(browser: Any, live: LiveServer, posts_under: str
                       ) -> tuple[Any, list[str], list[str]]:
    """A signed-in agent's page on a new ticket, with the page's errors and the URLs of the
    form posts it makes under ``posts_under`` (a post while offline ends on an error page)."""
    number = await open_ticket(live)
    errors: list[str] = []
    page = await agent_page(browser, live, number, errors=errors)
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url)
            if request.method == "POST" and posts_under in request.url else None)
    return page, errors, posts


async def test_a_reply_and_a_note_written_while_the_socket_is_down_go_out_when_it_is_back(
    dev_live: LiveServer, browser: Any
):
    live = dev_live
    page, errors, form_posts = await watched_page(browser, live, "/agent/tickets/")
    url = page.url
    # With the server out of reach a form post would end on an error page, the reply lost.
    for path in ("reply", "note"):
        await page.route(f"**/agent/tickets/*/{path}",
                         lambda route: route.abort("connectionreset"))

    await page.evaluate("window.__sockets.drop()")
    await page.wait_for_selector(OFFLINE)
    box = page.locator('[data-testid="reply-box"]')
    await box.fill("Checking the chain now, one moment.")
    await box.press("Enter")
    messages = page.locator('[data-testid="message-list"] [data-testid="message"]')
    reply = messages.filter(has_text="Checking the chain now")
    await reply.and_(page.locator(".msg-pending")).wait_for(timeout=5_000)
    assert "connection is back" in await reply.locator(
        '[data-testid="message-status"]').inner_text()
    await page.check('[data-testid="note-toggle"]')
    await box.fill("Customer sounds worried; double-check the address.")
    await page.click('[data-testid="send-button"]')
    note = messages.filter(has_text="double-check the address")
    await note.and_(page.locator(".msg-pending.msg-internal")).wait_for(timeout=5_000)
    assert page.url == url
    assert form_posts == []
    assert await box.input_value() == ""

    # Back online: both go out (same client_msg_id) and are confirmed in place.
    await page.evaluate("window.__sockets.allow()")
    await page.wait_for_selector(LIVE, timeout=20_000)
    await page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"message-list\"] .msg-pending')",
        timeout=15_000)
    for sent in (reply, note):
        assert await sent.get_attribute("data-message-id")
        assert await sent.get_attribute("data-seq")
        assert await sent.locator('[data-testid="message-status"]').count() == 0
    assert form_posts == []

    # Stored once each.
    await page.reload()
    await messages.first.wait_for()
    assert await reply.count() == 1
    assert await note.count() == 1
    assert "msg-internal" in (await note.get_attribute("class") or "")
    assert errors == []


async def test_a_status_chosen_while_the_socket_is_down_is_set_when_it_is_back(
    dev_live: LiveServer, browser: Any
):
    live = dev_live
    page, errors, posts = await watched_page(browser, live, "/")
    url = page.url
    await page.route("**/agent/status", lambda route: route.abort("connectionreset"))

    await page.evaluate("window.__sockets.drop()")
    await page.wait_for_selector(OFFLINE)
    switch = page.locator('[data-testid="status-switch"]')
    await switch.select_option("away")
    await page.wait_for_timeout(300)
    assert page.url == url  # no form post landing on an error page
    assert posts == []
    assert await switch.input_value() == "away"

    await page.evaluate("window.__sockets.allow()")
    await page.wait_for_selector(LIVE, timeout=20_000)
    await page.wait_for_selector('[data-status-dot].status-dot-away')
    await page.unroute("**/agent/status")
    await page.reload()  # the server has it
    await page.wait_for_selector(LIVE, timeout=15_000)
    assert await page.locator('[data-testid="status-switch"]').input_value() == "away"
    assert posts == []
    assert errors == []


async def test_without_a_socket_session_the_reply_box_posts_the_form(
    dev_live: LiveServer, browser: Any
):
    """A page whose socket never got through (websockets blocked on the way) keeps the plain
    form: the reply is stored by the post."""
    live = dev_live
    number = await open_ticket(live)
    context = await browser.new_context()
    await context.add_init_script(SOCKETS.replace(
        'let refused = sessionStorage.getItem("__refused") === "1";', "let refused = true;"))
    page = await context.new_page()
    await open_signed_in(page, live, number)
    await page.wait_for_selector(OFFLINE, timeout=15_000)
    box = page.locator('[data-testid="reply-box"]')
    await box.fill("Sent by the form.")
    async with page.expect_navigation():
        await box.press("Enter")
    stored = page.locator('[data-testid="message"]', has_text="Sent by the form.")
    await stored.wait_for()
    assert await stored.get_attribute("data-message-id")


async def test_a_message_sent_live_shows_its_time(dev_live: LiveServer, browser: Any):
    live = dev_live
    number = await open_ticket(live)
    page = await agent_page(browser, live, number)
    box = page.locator('[data-testid="reply-box"]')
    await box.fill("Your deposit is confirmed on chain.")
    await box.press("Enter")
    sent = page.locator('[data-testid="message"]', has_text="confirmed on chain")
    await sent.wait_for()
    await page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"message-list\"] .msg-pending')",
        timeout=15_000)
    when = sent.locator(".msg-time time")
    assert await when.count() == 1
    assert (await when.get_attribute("datetime") or "").startswith("20")
    assert (await when.inner_text()).strip()
    # Like the messages the page came with.
    assert await page.locator('[data-testid="message"]').first.locator(
        ".msg-time").inner_text() != ""


async def add_assistant_messages(live: LiveServer, number: str) -> None:
    async with factory_app(live) as app, app.state.db.transaction() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        await add_message(session, ticket, ASSISTANT, body="Deposits need 20 confirmations.")
        await add_message(session, ticket, ASSISTANT, internal=True,
                          body="[Assistant hand-off] the customer asked for a person")


async def test_the_assistant_is_named_in_the_agents_language(dev_live: LiveServer, browser: Any):
    """On the page as served and in messages that arrive over the socket (here: caught up
    after a reconnect), the assistant is 智能助手, not its kind "assistant"."""
    live = dev_live
    number = await open_ticket(live)
    await add_assistant_messages(live, number)
    page = await agent_page(browser, live, number, lang="zh-CN")
    authors = page.locator('[data-testid="message"].msg-assistant .msg-author')
    assert await authors.all_inner_texts() == ["智能助手", "智能助手"]
    assert await page.locator(".msg-assistant .msg-role").count() == 0
    # The customer keeps their name, with the role beside it.
    customer = page.locator('[data-testid="message"].msg-customer').first
    assert await customer.locator(".msg-author").inner_text() == "Alice"
    assert await customer.locator(".msg-role").inner_text() == "客户"

    await page.evaluate("window.__sockets.drop()")
    await page.wait_for_selector(OFFLINE)
    await add_assistant_messages(live, number)
    await page.evaluate("window.__sockets.allow()")
    await page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"message\"].msg-assistant').length === 4",
        timeout=20_000)
    assert await authors.all_inner_texts() == ["智能助手"] * 4
    assert await page.locator(".msg-assistant .msg-role").count() == 0
    avatars = page.locator(".msg-assistant .avatar")
    assert set(await avatars.all_inner_texts()) == {"智"}


# What each kind of event records, as the code that records it does (kefu/tickets,
# kefu/assistant, kefu/channels, kefu/trust): the history must name every one.
EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("assistant_feedback", {"seq": 3, "helpful": False, "kind": "answer",
                            "intent": "deposit_not_credited", "article": "deposit-not-credited"}),
    ("assistant_handoff", {"reason": "assistant_error", "error": "TimeoutError"}),
    ("delivery_failed", {"channel": "telegram", "message_id": "6b1f0c9e-2b1c-4c63-9a51-1d1f",
                         "error_code": 403}),
    ("email_auto_replied", {}),
    ("email_automatic", {"reason": "auto-replied", "message_id": "6b1f0c9e-2b1c"}),
    ("email_bounced", {"status": "5.1.1", "message_id": "6b1f0c9e-2b1c"}),
    ("secret_masked", {"kinds": ["seed_phrase", "otp_code"],
                       "withheld_attachment": "6b1f0c9e-2b1c"}),
    ("abuse_flagged", {"kinds": ["harassment"], "cooldown": True}),
    ("scam_warned", {"codes": ["off_platform_contact", "impersonation"]}),
    ("duplicate_added", {"channel": "chat", "message_id": "6b1f0c9e-2b1c"}),
    ("step_up_sent", {"purpose": "2fa_reset", "expires_at": "2026-01-01T10:00:00+00:00"}),
    ("identity_verified", {"purpose": "2fa_reset", "method": "passkey",
                           "verified_at": "2026-01-01T10:00:00+00:00"}),
    ("identity_verification_failed", {"purpose": "2fa_reset", "method": "passkey",
                                      "verified_at": "2026-01-01T10:00:00+00:00"}),
]


async def make_history(live: LiveServer, number: str) -> None:
    """A hand-off as the assistant records it (its summary, then the priority it raises), every
    other kind of event, and the customer's rating with a comment."""
    summary = HandoffSummary(
        reason="customer_request", intent="deposit_not_credited", intent_confidence=0.91,
        facts={"coins": [{"symbol": "USDT", "start": 3, "end": 7}]}, answered=["Deposits …"],
        sentiment="positive", sentiment_score=0.4019, angry=False, language="en",
        last_message="a person please")
    async with factory_app(live) as app, app.state.db.transaction() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        await record_event(session, ANONYMOUS, ticket, "assistant_handoff", summary.to_dict())
        await update_fields(session, ANONYMOUS, ticket,
                            ticket_schemas.TicketUpdate(priority="high"))
        for kind, data in EVENTS:
            await record_event(session, ANONYMOUS, ticket, kind, data)
    customer = bearer(customer_token(live.settings, "cust-a", name="Alice", lang="en"))
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        resolved = await client.post(f"/api/v1/tickets/{number}/status", headers=customer,
                                     json={"status": "resolved"})
        assert resolved.status_code == 200, resolved.text
        rated = await client.post(f"/api/v1/tickets/{number}/rating", headers=customer,
                                  json={"score": 4, "comment": "Fast and clear, thanks"})
        assert rated.status_code == 200, rated.text


@pytest.mark.parametrize(("lang", "words"), [
    ("en", {"rated": "Rated", "assistant_handoff": "Handed off by the assistant",
            "comment": "Fast and clear, thanks", "reason": "the customer asked for a person",
            "score": "4/5", "sentiment": "positive", "priority": "Normal → High",
            "intent": "Deposit not credited", "secret_masked": "seed phrase, verification code",
            "scam_warned": "contact outside official channels, someone posing as staff"}),
    ("zh-CN", {"rated": "已评价", "assistant_handoff": "智能助手转人工",
               "comment": "Fast and clear, thanks", "reason": "客户要求人工服务",
               "score": "4/5", "sentiment": "正面", "priority": "普通 → 高",
               "intent": "充值未到账", "secret_masked": "助记词, 验证码",
               "scam_warned": "引导到非官方渠道联系, 冒充官方人员"}),
])
async def test_ticket_history_names_every_event_and_field(
    dev_live: LiveServer, browser: Any, lang: str, words: dict[str, str]
):
    live = dev_live
    number = await open_ticket(live)
    await make_history(live, number)
    page = await agent_page(browser, live, number, lang=lang)
    events = page.locator("ol.events > li")
    labels = [label.strip() for label in await events.locator(".event-kind").all_inner_texts()]
    assert words["rated"] in labels
    assert words["assistant_handoff"] in labels
    assert [label for label in labels if "_" in label] == []
    for row in await events.all():
        label = (await row.locator(".event-kind").inner_text()).strip()
        for field in await row.locator(".event-details b").all_inner_texts():
            assert "_" not in field, (label, field)
        text = " ".join(await row.locator(".event-details").all_inner_texts())
        for raw in ("{}", "{'", "False", "True", "0.4019", "0.91", "6b1f0c9e", "answer",
                    "2fa_reset", "T10:00", "deposit_not_credited", "seed_phrase", "otp_code",
                    "off_platform_contact"):
            assert raw not in text, (label, raw, text)
    # Every kind recorded is there, each under its own name.
    kinds = await events.evaluate_all("(rows) => rows.map((r) => r.dataset.kind)")
    for kind in ("created", "assistant_handoff", "updated", "status_changed", "rated",
                 *(kind for kind, _ in EVENTS)):
        assert kind in kinds, kind
    assert len(set(labels)) == len(set(kinds))

    handoffs = events.and_(page.locator('[data-kind="assistant_handoff"]'))
    assert {label.strip() for label in await handoffs.locator(".event-kind").all_inner_texts()
            } == {words["assistant_handoff"]}
    handoff_text = " ".join(await handoffs.all_inner_texts())
    assert words["reason"] in handoff_text
    assert words["sentiment"] in handoff_text
    assert words["intent"] in handoff_text
    for kind in ("secret_masked", "scam_warned"):
        row = await events.and_(page.locator(f'[data-kind="{kind}"]')).inner_text()
        assert words[kind] in row, (kind, row)
    assert "customer_request" not in handoff_text
    created = await events.and_(page.locator('[data-kind="created"]')).inner_text()
    assert not re.search(r"\b(portal|chat|email|telegram|phone|api|widget)\b", created), created
    updated = await events.and_(page.locator('[data-kind="updated"]')).inner_text()
    assert words["priority"] in updated
    rated = events.and_(page.locator('[data-kind="rated"]'))
    assert (await rated.locator(".event-kind").inner_text()).strip() == words["rated"]
    assert words["score"] in await rated.inner_text()
    assert words["comment"] in await rated.inner_text()


ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 200


async def test_an_upload_the_server_refuses_is_explained_in_the_consoles_language(
        dev_live: LiveServer, browser: Any):
    live = dev_live
    number = await open_ticket(live)
    page = await agent_page(browser, live, number, lang="zh-CN")
    files = page.locator('[data-testid="attachment-input"]')
    await files.set_input_files({"name": "screenshot.png", "mimeType": "image/png",
                                 "buffer": ELF})  # a program named like a screenshot
    item = page.locator('[data-testid="attachment-item"]', has_text="screenshot.png")
    await item.get_by_text("无法添加此类文件").wait_for(timeout=15_000)
    assert "accepted" not in await item.inner_text()  # not the server's English


async def test_opening_a_ticket_tells_the_customer_their_messages_were_read(
    dev_live: LiveServer, browser: Any
):
    """The page shows the customer's messages before its socket is up; once it is, the
    customer is told they were read (and again for what arrived during an outage)."""
    live = dev_live
    number = await open_ticket(live)
    token = customer_token(live.settings, "cust-a", name="Alice", lang="en")
    customer = await Client.connect(f"{live.ws_base}/ws/chat", {"token": token})
    await customer.wait_type("welcome")
    await customer.send({"type": "join", "ticket": number, "since": 0})
    await customer.wait_type("joined")
    page = await agent_page(browser, live, number)
    read = await customer.wait_type("read", timeout=15)
    assert read["seq"] >= 1
    assert read["by"]["kind"] == "agent"

    await page.evaluate("window.__sockets.drop()")
    await page.wait_for_selector(OFFLINE)
    await customer.send({"type": "send", "ticket": number, "client_msg_id": "while-away",
                         "body": "Any news? The TxID is in my first message."})
    ack = await customer.wait_type("ack", client_msg_id="while-away")
    await page.evaluate("window.__sockets.allow()")
    await page.wait_for_selector(LIVE, timeout=20_000)
    await customer.wait_for(lambda f: f.get("type") == "read" and f["seq"] >= ack["seq"],
                            timeout=15)
    await customer.close()


async def test_the_console_says_which_replies_the_customer_has_seen_also_after_a_reload(
    dev_live: LiveServer, browser: Any
):
    """The customer's read point is stored: "Seen" goes under the last reply they read when
    their ``read`` comes, and is there again when the page is reloaded (or opened elsewhere)."""
    live = dev_live
    number = await open_ticket(live)
    page = await agent_page(browser, live, number)
    box = page.locator('[data-testid="reply-box"]')
    for text in ("Which network did you use?", "And the amount, please."):
        await box.fill(text)
        await box.press("Enter")
        await page.locator('[data-testid="message"]:not(.msg-pending)', has_text=text).wait_for()
    seen = page.locator('[data-testid="seen-by-customer"]')
    assert await seen.count() == 0
    token = customer_token(live.settings, "cust-a", name="Alice", lang="en")
    customer = await Client.connect(f"{live.ws_base}/ws/chat", {"token": token})
    await customer.wait_type("welcome")
    await customer.send({"type": "join", "ticket": number, "since": 0})
    first = await customer.wait_type("message", body="Which network did you use?")
    await customer.send({"type": "read", "ticket": number, "seq": first["seq"]})
    await seen.wait_for(timeout=15_000)
    holder = page.locator('[data-testid="message"]', has=seen)
    assert "Which network did you use?" in await holder.inner_text()
    assert await seen.inner_text() == "Seen by the customer"
    await page.reload()
    await page.wait_for_selector(LIVE, timeout=15_000)
    await seen.wait_for(timeout=15_000)
    assert "Which network did you use?" in await holder.inner_text()
    second = await customer.wait_type("message", body="And the amount, please.")
    await customer.send({"type": "read", "ticket": number, "seq": second["seq"]})
    await page.locator('[data-testid="message"]', has=seen,
                       has_text="And the amount, please.").wait_for(timeout=15_000)
    assert await seen.count() == 1
    await customer.close()


async def test_a_first_sign_in_shows_how_many_messages_wait_unread(
    dev_live: LiveServer, browser: Any
):
    """A browser that never opened the ticket shows the server's count from the agent's own
    read point: nothing for the agent who read it on another device, 3 for another agent (it
    showed "at least one", 1, in both)."""
    live = dev_live
    number = await open_ticket(live)
    customer = bearer(customer_token(live.settings, "cust-a", name="Alice", lang="en"))
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        for body in ("It was 500 USDT on TRC20", "The TxID is 0xabc123"):
            added = await client.post(f"/api/v1/tickets/{number}/replies", headers=customer,
                                      json={"body": body})
            assert added.status_code == 201, added.text
    page = await agent_page(browser, live, number)  # reads it: this agent's point moves
    await page.goto(f"{live.base}/agent")
    await page.wait_for_selector(LIVE, timeout=15_000)
    assert await page.locator(f'[data-testid="unread-{number}"]').is_hidden()

    second_device = await fresh_inbox(browser, live, "agent@kefu.test")
    assert await second_device.locator(f'[data-testid="unread-{number}"]').is_hidden()
    assert not (await second_device.title()).startswith("(")
    async with factory_app(live) as app:  # supervisors see every ticket
        await make_agent(app, "second@kefu.test", role="supervisor")
    other = await fresh_inbox(browser, live, "second@kefu.test")
    assert (await other.locator(f'[data-testid="unread-{number}"]').inner_text()) == "3"
    assert (await other.title()).startswith("(3) ")


async def test_reading_a_ticket_on_one_device_clears_its_count_on_the_others(
    dev_live: LiveServer, browser: Any
):
    live = dev_live
    number = await open_ticket(live)
    inbox = await agent_page(browser, live, number)  # signed in: its own browser
    await inbox.goto(f"{live.base}/agent")
    await inbox.wait_for_selector(LIVE, timeout=15_000)
    badge = inbox.locator(f'[data-testid="unread-{number}"]')
    customer = bearer(customer_token(live.settings, "cust-a", name="Alice", lang="en"))
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        added = await client.post(f"/api/v1/tickets/{number}/replies", headers=customer,
                                  json={"body": "It was 500 USDT on TRC20"})
        assert added.status_code == 201, added.text
    await inbox.wait_for_function(
        "n => document.querySelector('[data-testid=\"unread-' + n + '\"]').textContent === '1'",
        arg=number, timeout=15_000)
    await agent_page(browser, live, number)  # the same agent on another device reads it
    await badge.wait_for(state="hidden", timeout=15_000)
    assert not (await inbox.title()).startswith("(")


async def test_enter_in_the_macro_search_picks_a_macro_and_never_sends_the_draft(
    dev_live: LiveServer, browser: Any
):
    """The macro panel sits inside the reply form: Enter in its search box submitted the form
    and sent a half-written draft to the customer."""
    live = dev_live
    number = await open_ticket(live)
    async with factory_app(live) as app:
        token = await api_token(app, await make_agent(app, "boss@kefu.test", role="admin"))
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        made = await client.post("/api/v1/macros", headers=bearer(token), json={
            "title": "Deposit check", "language": "en",
            "body": "Hello {customer.name}, we are checking {ticket.number}."})
        assert made.status_code == 201, made.text
    page = await agent_page(browser, live, number)
    box = page.locator('[data-testid="reply-box"]')
    await box.fill("DRAFT not ready yet")
    await page.locator('[data-testid="macro-picker"]').click()
    search = page.locator('[data-testid="macro-search"]')
    await search.fill("deposit")
    await page.locator('[data-testid="macro-item"]').wait_for()
    await search.press("Enter")
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=\"reply-box\"]').value"
        ".includes('we are checking')", timeout=15_000)
    assert (await box.input_value()).startswith("DRAFT not ready yet")
    assert f"Hello Alice, we are checking {number}." in await box.input_value()
    await page.wait_for_timeout(500)
    async with factory_app(live) as app, app.state.db.transaction() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        assert ticket.last_seq == 1  # nothing was sent: only the customer's first message


async def test_the_macro_picker_offers_the_agents_own_personal_macros_only(
    dev_live: LiveServer, browser: Any
):
    """Personal macros: the picker lists the signed-in agent's own, never a colleague's, and
    picking one fills the reply box like a shared macro."""
    live = dev_live
    number = await open_ticket(live)
    async with factory_app(live) as app:
        async with app.state.db.transaction() as session:
            me = await session.scalar(select(Agent).where(Agent.email == "agent@kefu.test"))
        assert me is not None
        mine = await api_token(app, me)
        colleague = await api_token(app, await make_agent(app, "colleague@kefu.test"))
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        for token, title in ((mine, "My sign-off"), (colleague, "Colleague sign-off")):
            made = await client.post("/api/v1/macros", headers=bearer(token), json={
                "title": title, "language": "en", "scope": "personal",
                "body": "Thanks {customer.name}, " + title + "."})
            assert made.status_code == 201, made.text
    page = await agent_page(browser, live, number)
    await page.locator('[data-testid="macro-picker"]').click()
    await page.locator('[data-testid="macro-item"]').first.wait_for()
    items = await page.locator('[data-testid="macro-item"]').all_inner_texts()
    assert any("My sign-off" in item for item in items)
    assert not any("Colleague" in item for item in items)
    # Marked as the agent's own; the shared ones are not.
    mine_item = page.locator('[data-testid="macro-item"]', has_text="My sign-off")
    assert await mine_item.locator('[data-testid="macro-personal"]').inner_text() == "Personal"
    assert await page.locator('[data-testid="macro-personal"]').count() == 1
    await page.locator('[data-testid="macro-search"]').fill("sign-off")
    await page.locator('[data-testid="macro-item"]', has_text="My sign-off").click()
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=\"reply-box\"]').value"
        ".includes('Thanks Alice, My sign-off.')", timeout=15_000)


async def test_a_reply_the_guard_refuses_can_be_edited_not_retried(
    dev_live: LiveServer, browser: Any
):
    """Retrying a reply that asks for a password sends the same words into the same refusal;
    the refused bubble gives them back to the reply box instead."""
    live = dev_live
    number = await open_ticket(live)
    page = await agent_page(browser, live, number)
    box = page.locator('[data-testid="reply-box"]')
    words = "To verify you, please reply with your password and the 2FA code."
    await box.fill(words)
    await box.press("Enter")
    refused = page.locator(".msg-failed", has_text=words)
    await refused.wait_for(timeout=15_000)
    assert await refused.get_by_text("Retry").count() == 0
    await refused.locator('[data-testid="edit-refused"]').click()
    assert await box.input_value() == words
    assert await page.locator(".msg-failed").count() == 0


async def test_messages_sent_back_to_back_each_count_as_unread(
    dev_live: LiveServer, browser: Any
):
    """Three messages in a row reach the inbox as one row (one batch, or one gathered frame):
    the badge goes up by three, not one, and matches the count after a reload."""
    live = dev_live
    number = await open_ticket(live)
    async with factory_app(live) as app:  # supervisors see every ticket
        await make_agent(app, "second@kefu.test", role="supervisor")
    page = await fresh_inbox(browser, live, "second@kefu.test")
    badge = page.locator(f'[data-testid="unread-{number}"]')
    assert await badge.inner_text() == "1"
    token = customer_token(live.settings, "cust-a", name="Alice", lang="en")
    customer = await Client.connect(f"{live.ws_base}/ws/chat", {"token": token})
    await customer.wait_type("welcome")
    for i in range(3):
        await customer.send({"type": "send", "ticket": number, "client_msg_id": f"b{i}",
                             "body": f"Any news? ({i})"})
    for i in range(3):
        await customer.wait_type("ack", client_msg_id=f"b{i}")
    await page.wait_for_function(
        "n => document.querySelector('[data-testid=\"unread-' + n + '\"]').textContent === '4'",
        arg=number, timeout=15_000)
    await customer.close()
    await page.reload()
    await page.wait_for_selector(LIVE, timeout=15_000)
    assert await badge.inner_text() == "4"


async def test_both_sides_say_they_are_offline_as_soon_as_the_network_goes(
    dev_live: LiveServer, browser: Any
):
    """The browser's offline event: the console and the widget show it at once instead of
    waiting for a silent connection to time out, and come back when the network does."""
    live = dev_live
    number = await open_ticket(live)
    page = await agent_page(browser, live, number)
    await page.context.set_offline(True)
    await page.wait_for_selector(OFFLINE, timeout=5_000)
    await page.context.set_offline(False)
    await page.wait_for_selector(LIVE, timeout=20_000)

    widget_page = await (await browser.new_context()).new_page()
    await widget_page.goto(f"{live.base}/demo/exchange?customer=e2e-offline&lang=en")
    widget = widget_page.locator("#kefu-widget")
    await widget.locator('[data-testid="kefu-launcher"]').click()
    status = widget.locator('[data-testid="kefu-status"]')
    await widget.locator('[data-testid="kefu-status"][data-state="online"]').wait_for(
        timeout=15_000)
    await widget_page.context.set_offline(True)
    await widget.locator('[data-testid="kefu-status"][data-state="offline"]').wait_for(
        timeout=5_000)
    await widget_page.context.set_offline(False)
    await widget.locator('[data-testid="kefu-status"][data-state="online"]').wait_for(
        timeout=20_000)
    assert await status.count() == 1


async def test_a_change_by_someone_else_says_what_changed(dev_live: LiveServer, browser: Any):
    """A supervisor assigns the ticket to the agent who has it open: the page says so, not
    the status it already showed; and the agent is told wherever they are in the console (a
    toast, and a notification that stays: QA found assignments told nobody)."""
    live = dev_live
    number = await open_ticket(live)
    async with factory_app(live) as app:
        supervisor = await make_agent(app, "lead@kefu.test", role="supervisor")
        token = await api_token(app, supervisor)
        async with app.state.db.transaction() as session:
            agent = await session.scalar(select(Agent.id).where(Agent.email == "agent@kefu.test"))
    page = await agent_page(browser, live, number, lang="zh-CN")
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        assigned = await client.post(f"/api/v1/tickets/{number}/assign", headers=bearer(token),
                                     json={"agent_id": str(agent)})
    assert assigned.status_code == 200, assigned.text
    notice = page.locator('[data-testid="ticket-changed"]')
    await notice.wait_for(state="visible", timeout=10_000)
    assert "已分配给您" in await notice.inner_text()
    toast = page.locator('[data-testid="toast"].toast-assigned')
    await toast.wait_for(timeout=10_000)
    assert f"lead 把工单 {number} 分配给了您" in await toast.inner_text()
    await page.reload()
    await page.locator('[data-testid="notifications-button"]').click()
    kept = page.locator('[data-testid="notification"][data-kind="assigned"]')
    await kept.wait_for(timeout=10_000)
    assert f"{number} 分配给了您" in await kept.inner_text()
    assert "USDT deposit missing" in await kept.inner_text()  # the subject under it



async def test_a_reply_being_written_survives_a_reload(dev_live: LiveServer, browser: Any):
    live = dev_live
    number = await open_ticket(live)
    page = await agent_page(browser, live, number)
    box = page.locator('[data-testid="reply-box"]')
    await box.fill("Let me check the deposit on the chain")
    await page.reload()
    await page.wait_for_selector(LIVE, timeout=15_000)
    assert await box.input_value() == "Let me check the deposit on the chain"
    await box.press("Enter")
    await page.locator('[data-testid="message"]', has_text="Let me check the deposit").and_(
        page.locator("[data-seq]")).wait_for(timeout=15_000)
    await page.reload()
    await page.wait_for_selector(LIVE, timeout=15_000)
    assert await box.input_value() == ""  # sent: no draft left


async def test_a_note_being_written_comes_back_as_a_note(dev_live: LiveServer, browser: Any):
    """A draft internal note restored after a reload must not become a reply to the customer
    (one Enter would have sent it)."""
    live = dev_live
    number = await open_ticket(live)
    page = await agent_page(browser, live, number)
    await page.check('[data-testid="note-toggle"]')
    box = page.locator('[data-testid="reply-box"]')
    await box.fill("Looks like a fraud ring, do not refund")
    await page.reload()
    await page.wait_for_selector(LIVE, timeout=15_000)
    assert await box.input_value() == "Looks like a fraud ring, do not refund"
    assert await page.is_checked('[data-testid="note-toggle"]')
    await box.press("Enter")
    note = page.locator('[data-testid="message"]', has_text="fraud ring")
    await note.and_(page.locator(".msg-internal[data-seq]")).wait_for(timeout=15_000)
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        seen = await client.get(f"/api/v1/tickets/{number}", headers=bearer(customer_token(
            live.settings, "cust-a", name="Alice", lang="en")))
    assert "fraud ring" not in seen.text


async def test_a_reply_queued_offline_survives_a_reload(dev_live: LiveServer, browser: Any):
    live = dev_live
    number = await open_ticket(live)
    page = await agent_page(browser, live, number)
    await page.evaluate("window.__sockets.drop()")
    await page.wait_for_selector(OFFLINE)
    box = page.locator('[data-testid="reply-box"]')
    await box.fill("Checking with the chain team now")
    await box.press("Enter")
    reply = page.locator('[data-testid="message"]', has_text="Checking with the chain team")
    await reply.and_(page.locator(".msg-pending")).wait_for(timeout=5_000)
    await page.reload()  # the init script runs again: sockets allowed
    await page.wait_for_selector(LIVE, timeout=15_000)
    await reply.and_(page.locator("[data-seq]")).wait_for(timeout=15_000)
    await page.reload()
    assert await reply.count() == 1  # stored once


async def test_a_ticket_moved_to_another_team_leaves_the_inbox_and_its_page_says_so(
        dev_live: LiveServer, browser: Any):
    live = dev_live
    number = await open_ticket(live)
    async with factory_app(live) as app:
        korean = await make_team(app, "Korean", "ko")
        admin = await make_agent(app, "boss@kefu.test", role="admin")
        token = await api_token(app, admin)
    inbox = await agent_page(browser, live, number)
    await inbox.goto(f"{live.base}/agent")
    row = inbox.locator(f'[data-testid="inbox-row-{number}"]')
    await row.wait_for(timeout=15_000)
    ticket_page = await inbox.context.new_page()
    await ticket_page.goto(f"{live.base}/agent/tickets/{number}")
    await ticket_page.wait_for_selector(LIVE, timeout=15_000)
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        moved = await client.post(f"/api/v1/tickets/{number}/assign", headers=bearer(token),
                                  json={"team_id": str(korean.id)})
    assert moved.status_code == 200, moved.text
    await row.wait_for(state="detached", timeout=10_000)
    notice = ticket_page.locator('[data-testid="ticket-changed"]')
    await notice.get_by_text("you can no longer answer it here").wait_for(timeout=10_000)


async def test_the_inbox_catches_up_after_an_outage(dev_live: LiveServer, browser: Any):
    live = dev_live
    number = await open_ticket(live)
    page = await agent_page(browser, live, number)
    await page.goto(f"{live.base}/agent")
    await page.wait_for_selector(LIVE, timeout=15_000)
    await page.evaluate("window.__sockets.drop()")
    await page.wait_for_selector(OFFLINE)
    headers = bearer(customer_token(live.settings, "cust-b", name="Bo", lang="en"))
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        created = await client.post("/api/v1/tickets", headers=headers, json={
            "subject": "Withdrawal pending", "body": "Pending for 3 hours.", "language": "en"})
    assert created.status_code == 201
    await page.wait_for_timeout(500)
    await page.evaluate("window.__sockets.allow()")
    await page.locator(f'[data-testid="inbox-row-{created.json()["number"]}"]').wait_for(
        timeout=20_000)


async def test_rows_added_live_show_their_tags(dev_live: LiveServer, browser: Any):
    """A ticket that arrives while the inbox is open gets its tags as they are set, and loses
    them as they are removed, like a row the server rendered."""
    live = dev_live
    number = await open_ticket(live)
    async with factory_app(live) as app:
        token = await api_token(app, await make_agent(app, "boss@kefu.test", role="admin"))
    page = await agent_page(browser, live, number)
    await page.goto(f"{live.base}/agent")
    await page.wait_for_selector(LIVE, timeout=15_000)
    headers = bearer(customer_token(live.settings, "cust-b", name="Bo", lang="en"))
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        created = (await client.post("/api/v1/tickets", headers=headers, json={
            "subject": "Withdrawal pending", "body": "Pending for 3 hours.",
            "language": "en"})).json()["number"]
        tags = page.locator(f'[data-testid="inbox-row-{created}"] [data-cell="subject"] .tag')
        await page.locator(f'[data-testid="inbox-row-{created}"]').wait_for(timeout=15_000)
        tagged = await client.post(f"/api/v1/tickets/{created}/tags", headers=bearer(token),
                                   json={"add": ["withdrawal", "vip"]})
        assert tagged.status_code == 200, tagged.text
        await page.wait_for_function(
            "n => document.querySelectorAll('[data-testid=\"inbox-row-' + n + '\"] .tag')"
            ".length === 2", arg=created, timeout=15_000)
        assert await tags.all_inner_texts() == ["vip", "withdrawal"]
        untagged = await client.post(f"/api/v1/tickets/{created}/tags", headers=bearer(token),
                                     json={"remove": ["vip"]})
        assert untagged.status_code == 200, untagged.text
        await page.wait_for_function(
            "n => document.querySelectorAll('[data-testid=\"inbox-row-' + n + '\"] .tag')"
            ".length === 1", arg=created, timeout=15_000)
        assert await tags.all_inner_texts() == ["withdrawal"]
        # A message moving the row leaves its tags alone.
        replied = await client.post(f"/api/v1/tickets/{created}/replies", headers=headers,
                                    json={"body": "Any news?"})
        assert replied.status_code == 201, replied.text
        await page.wait_for_function(
            "n => document.querySelector('[data-testid=\"inbox-table\"] tbody tr')"
            ".getAttribute('data-testid') === 'inbox-row-' + n", arg=created, timeout=15_000)
        assert await tags.all_inner_texts() == ["withdrawal"]


async def test_tickets_that_arrive_while_the_list_changes_are_in_the_new_list(
        dev_live: LiveServer, browser: Any):
    live = dev_live
    number = await open_ticket(live)
    page = await agent_page(browser, live, number)
    await page.goto(f"{live.base}/agent?status=open")
    await page.wait_for_selector(LIVE, timeout=15_000)

    rendered = asyncio.Event()

    async def slowly(route: Any) -> None:  # rendered now, on its way for a while
        response = await route.fetch()
        rendered.set()
        await asyncio.sleep(1.5)
        await route.fulfill(response=response)

    await page.route("**/agent?status=new*", slowly)
    await page.select_option("#f-status", "new")
    await asyncio.wait_for(rendered.wait(), timeout=10)
    headers = bearer(customer_token(live.settings, "cust-c", name="Cy", lang="en"))
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        created = await client.post("/api/v1/tickets", headers=headers, json={
            "subject": "KYC stuck", "body": "My KYC has been pending for a week.",
            "language": "en"})
    assert created.status_code == 201
    await page.locator(f'[data-testid="inbox-row-{created.json()["number"]}"]').wait_for(
        timeout=15_000)
    await page.locator(f'[data-testid="inbox-row-{number}"]').wait_for()  # the list is "new"


async def test_a_row_moved_by_a_message_keeps_the_keyboard_focus(
        dev_live: LiveServer, browser: Any):
    live = dev_live
    older = await open_ticket(live)
    headers = bearer(customer_token(live.settings, "cust-d", name="Di", lang="en"))
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        newer = (await client.post("/api/v1/tickets", headers=headers, json={
            "subject": "Futures liquidation", "body": "Why was I liquidated?",
            "language": "en"})).json()["number"]
    page = await agent_page(browser, live, older)
    await page.goto(f"{live.base}/agent")
    await page.wait_for_selector(LIVE, timeout=15_000)
    link = page.locator(f'[data-testid="inbox-row-{older}"] [data-cell="subject"] a')
    await link.focus()
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        replied = await client.post(f"/api/v1/tickets/{older}/replies", headers=bearer(
            customer_token(live.settings, "cust-a", name="Alice", lang="en")),
            json={"body": "Any update on this?"})
    assert replied.status_code == 201, replied.text
    first = page.locator('[data-testid="inbox-table"] tbody tr').first
    await page.wait_for_function(
        "n => document.querySelector('[data-testid=\"inbox-table\"] tbody tr')"
        ".getAttribute('data-testid') === 'inbox-row-' + n", arg=older, timeout=15_000)
    assert await first.get_attribute("data-testid") == f"inbox-row-{older}"
    assert await page.evaluate("document.activeElement.closest('tr').dataset.testid") == \
        f"inbox-row-{older}"
    assert newer


# ---------------------------------------------------------------- from QA: the assignee list,
# language names, durations and the supervisor's queues in the console's language and on a phone


async def console_page(browser: Any, live: LiveServer, email: str, path: str, *,
                       lang: str = "en", width: int = 1280) -> Any:
    """``path`` in the console of ``email``, signed in with the UI in ``lang``, its socket
    live, on a screen ``width`` pixels wide."""
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    await page.goto(f"{live.base}/agent/login?lang={lang}")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{live.base}/agent*")
    await page.goto(f"{live.base}{path}")
    await page.wait_for_selector(LIVE, timeout=15_000)
    return page


async def test_choosing_an_agent_who_is_offline_or_outside_the_team_is_said_before_saving(
    dev_live: LiveServer, browser: Any
):
    from kefu.accounts.models import Team

    live = dev_live
    number = await open_ticket(live)  # in the English team, agent@kefu.test's
    async with factory_app(live) as app:
        chinese = await make_team(app, "中文", "zh")
        carl = await make_agent(app, "carl@kefu.test", teams=[chinese])
        carl_token = await api_token(app, carl)
        async with app.state.db.transaction() as session:
            english = await session.scalar(select(Team.id).where(Team.name == "English"))
            me = await session.scalar(select(Agent).where(Agent.email == "agent@kefu.test"))
            assert me is not None
            me.status = "online"
    page = await console_page(browser, live, "agent@kefu.test", f"/agent/tickets/{number}")
    warning = page.locator('[data-testid="assign-warning"]')
    save = page.locator('#assign-agent >> xpath=ancestor::form//button[@type="submit"]')
    assert not await warning.is_visible()
    assert await save.inner_text() == "Save assignment"

    await page.select_option("#assign-agent", str(carl.id))
    await warning.wait_for(state="visible")
    assert await warning.locator("span").all_inner_texts() == [
        "carl is offline and will see this ticket only when back online.",
        "carl is not in the team English."]
    assert await save.inner_text() == "Save anyway"
    # Moving the ticket to carl's team as well: only his status is left to say; the list now
    # says who is outside that team.
    await page.select_option("#assign-team", str(chinese.id))
    assert await warning.locator("span").all_inner_texts() == [
        "carl is offline and will see this ticket only when back online."]
    carl_option = page.locator(f'#assign-agent option[value="{carl.id}"]')
    assert await carl_option.inner_text() == "carl · Offline · load 0/5"
    assert await page.locator(f'#assign-agent option[value="{me.id}"]').inner_text() == \
        "agent (Me) · Online · load 0/5 · not in team 中文"
    # carl comes online: the list and the warning follow.
    console = await Client.connect(f"{live.ws_base}/ws/agent", {"token": carl_token})
    await console.wait_type("welcome")
    await console.send({"type": "status", "status": "online"})
    await page.wait_for_function(
        "id => document.querySelector('#assign-agent option[value=\"' + id + '\"]')"
        ".textContent === 'carl · Online · load 0/5'", arg=str(carl.id), timeout=10_000)
    await warning.wait_for(state="hidden")
    assert await save.inner_text() == "Save assignment"
    await console.close()
    # Back to the English team with an agent in it who is online: nothing to say.
    await page.select_option("#assign-team", str(english))
    await page.select_option("#assign-agent", str(me.id))
    assert not await warning.is_visible()
    assert await save.inner_text() == "Save assignment"


async def test_rows_added_live_name_their_language(dev_live: LiveServer, browser: Any):
    live = dev_live
    await open_ticket(live)
    async with factory_app(live) as app:
        await make_agent(app, "sup@kefu.test", role="supervisor")
    for lang in ("en", "zh-CN"):
        page = await console_page(browser, live, "sup@kefu.test", "/agent", lang=lang)
        headers = bearer(customer_token(live.settings, f"cust-{lang}", name="Bo", lang="en"))
        async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
            created = await client.post("/api/v1/tickets", headers=headers, json={
                "subject": "Retiro pendiente", "body": "Mi retiro sigue pendiente.",
                "language": "es"})
        assert created.status_code == 201, created.text
        cell = page.locator(
            f'[data-testid="inbox-row-{created.json()["number"]}"] [data-cell="language"]')
        await cell.wait_for(timeout=15_000)
        assert await cell.inner_text() == "Español"
        await page.context.close()


# How the queue tables sit in their frame: whether it scrolls, and how many cells overflow it.
QUEUE_FIT = """testid => {
  const table = document.querySelector('[data-testid="' + testid + '"]');
  const frame = table.closest('.table-wrap');
  const box = frame.getBoundingClientRect();
  const cells = Array.from(table.querySelectorAll('tbody th, tbody td'));
  return {
    scrolls: frame.scrollWidth > frame.clientWidth,
    outside: cells.filter(c => c.getBoundingClientRect().right > box.right + 0.5).length,
    cells: cells.length,
    unlabelled: Array.from(table.querySelectorAll('tbody td'))
      .filter(td => !td.getAttribute('data-label')).length,
  };
}"""


async def test_the_supervisors_queues_fit_a_phone_and_their_waits_read_in_its_language(
    dev_live: LiveServer, browser: Any
):
    from datetime import timedelta

    from sqlalchemy import update

    from kefu.core import clock

    live = dev_live
    old = await open_ticket(live)
    async with factory_app(live) as app:
        await make_agent(app, "sup@kefu.test", role="supervisor")
        await make_team(app, "Español", "es")
        async with app.state.db.transaction() as session:
            await session.execute(update(Ticket).where(Ticket.number == old).values(
                created_at=clock.now() - timedelta(hours=26, minutes=8, seconds=2)))
    for lang, wait, new_language, name in (("en", r"26h 0[89]m", "ru", "Русский"),
                                           ("zh-CN", r"26小时0[89]分", "fr", "Français")):
        page = await console_page(browser, live, "sup@kefu.test", "/agent/supervisor",
                                  lang=lang, width=390)
        await page.wait_for_timeout(1_200)  # console.js has counted the waits again
        for shown in (page.locator('[data-total="longest_wait"]'), page.locator(
                '[data-testid="supervisor-teams"] tr[data-key] [data-col="longest_wait"]').first):
            assert re.fullmatch(wait, await shown.inner_text()), await shown.inner_text()
        for testid in ("supervisor-teams", "supervisor-languages"):
            fit = await page.evaluate(QUEUE_FIT, testid)
            assert fit["cells"] >= 10, fit
            assert (fit["scrolls"], fit["outside"], fit["unlabelled"]) == (False, 0, 0), fit
        # A queue that console.js draws from a live frame is named and laid out the same way.
        headers = bearer(customer_token(live.settings, f"cust-{lang}", name="Iv", lang="en"))
        async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
            created = await client.post("/api/v1/tickets", headers=headers, json={
                "subject": "Withdrawal", "body": "Pending.", "language": new_language})
        assert created.status_code == 201, created.text
        row = page.locator(f'[data-testid="supervisor-languages"] tr[data-key="{new_language}"]')
        await row.wait_for(timeout=15_000)
        assert await row.locator("th").inner_text() == name
        fit = await page.evaluate(QUEUE_FIT, "supervisor-languages")
        assert (fit["scrolls"], fit["outside"], fit["unlabelled"]) == (False, 0, 0), fit
        await page.context.close()
    # On a wide screen they stay tables, with their column heads.
    page = await console_page(browser, live, "sup@kefu.test", "/agent/supervisor")
    assert await page.locator('[data-testid="supervisor-languages"] thead').is_visible()
    await page.context.close()


async def test_the_mention_picker_finds_a_colleague_by_a_chinese_name(
        dev_live: LiveServer, browser: Any):
    """QA: the picker read only ASCII after the @, so "请@李" offered nobody."""
    number = await open_ticket(dev_live)
    async with factory_app(dev_live) as app:
        colleague = await make_agent(app, "li.na@kefu.test", teams=[await team_of(app, number)])
        async with app.state.db.transaction() as session:
            row = await session.get(Agent, colleague.id)
            assert row is not None
            row.display_name = "Li Na 李娜"
    page = await agent_page(browser, dev_live, number)
    await page.locator('[data-testid="note-toggle"]').check()
    box = page.locator('[data-testid="reply-box"]')
    option = page.locator('[data-testid="mention-option"]')
    await box.press_sequentially("cc @")  # the colleagues are fetched once, here
    await option.first.wait_for(timeout=10_000)
    await box.fill("")
    await box.press_sequentially("请@李")
    await option.first.wait_for(timeout=5_000)
    assert "Li Na 李娜" in await option.first.inner_text()
    await box.press("Enter")
    assert await box.input_value() == "请@li.na "


# ---------------------------------------------------------------- from QA: the console for a
# screen reader (the mention picker, the notifications), lang on what customers wrote, the
# "Low" badge's contrast and table columns that broke words


async def test_the_mention_picker_is_a_combobox_and_live_messages_carry_their_language(
        dev_live: LiveServer, browser: Any):
    number = await open_ticket(dev_live)
    async with factory_app(dev_live) as app:
        team = await team_of(app, number)
        for email in ("li.na@kefu.test", "lo.ra@kefu.test"):
            await make_agent(app, email, teams=[team])
    page = await agent_page(browser, dev_live, number)
    await page.locator('[data-testid="note-toggle"]').check()
    box = page.locator('[data-testid="reply-box"]')
    await box.press_sequentially("cc @l")
    await page.locator('[data-testid="mention-option"]').nth(1).wait_for(timeout=10_000)
    assert await box.get_attribute("aria-expanded") == "true"
    assert await box.get_attribute("aria-autocomplete") == "list"
    assert await box.get_attribute("aria-controls") == "mention-list"
    await page.locator("#mention-list").wait_for()
    await box.press("ArrowDown")
    active = await box.get_attribute("aria-activedescendant")
    assert active
    assert await page.locator(f"#{active}").get_attribute("aria-selected") == "true"
    assert await page.locator(f"#{active}").get_attribute("role") == "option"
    await box.press("Escape")
    assert await box.get_attribute("aria-expanded") in (None, "false")
    assert await box.get_attribute("aria-activedescendant") is None
    # A customer's message that arrives live is marked with its language; the list reads
    # additions out.
    assert await page.locator('[data-testid="message-list"]').get_attribute("role") == "log"
    headers = bearer(customer_token(dev_live.settings, "cust-a", name="Alice", lang="en"))
    async with httpx.AsyncClient(base_url=dev_live.base, timeout=30) as client:
        sent = await client.post(f"/api/v1/tickets/{number}/replies", headers=headers,
                                 json={"body": "我的充值还没有到账，请帮我查一下。"})
    assert sent.status_code in (200, 201), sent.text
    body = page.locator('.msg-body', has_text="我的充值还没有到账")
    await body.wait_for(timeout=10_000)
    assert await body.get_attribute("lang") == "zh"


async def test_the_notifications_close_on_escape_and_mark_as_read_keeps_the_focus(
        dev_live: LiveServer, browser: Any):
    from kefu.tickets.models import Notification

    number = await open_ticket(dev_live)
    async with factory_app(dev_live) as app, app.state.db.transaction() as session:
        me = await session.scalar(select(Agent).where(Agent.email == "agent@kefu.test"))
        assert me is not None
        for by in ("Bo", "Cy"):
            session.add(Notification(agent_id=me.id, kind="mention",
                                     data={"ticket": number, "by": by, "excerpt": "look"}))
    page = await console_page(browser, dev_live, "agent@kefu.test", "/agent")
    bell = page.locator('[data-testid="notifications-button"]')
    panel = page.locator('[data-testid="notifications-list"]')
    await page.locator('[data-testid="notifications-count"]').wait_for(timeout=10_000)
    await bell.click()
    await panel.wait_for(state="visible")
    first = panel.locator('[data-testid="notification"]').first
    await first.locator("a").focus()
    await page.keyboard.press("Escape")
    await panel.wait_for(state="hidden")
    assert await bell.get_attribute("aria-expanded") == "false"
    assert await page.evaluate(
        "document.activeElement.dataset.testid") == "notifications-button"
    # A click elsewhere closes it too.
    await bell.click()
    await panel.wait_for(state="visible")
    await page.locator("h1").click()
    await panel.wait_for(state="hidden")
    # "Mark as read" draws the list again: the focus goes to the next notification's link.
    await bell.click()
    await first.get_by_role("button").click()
    await page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=notification].notification-read')"
        ".length === 1", timeout=10_000)
    focused = await page.evaluate(
        "() => { const a = document.activeElement;"
        " const items = [...document.querySelectorAll('[data-testid=notification]')];"
        " return [a.tagName, items.findIndex(li => li.contains(a))]; }")
    assert focused == ["A", 1]


CONTRAST = """selector => {
  const lum = (rgb) => rgb.match(/\\d+/g).slice(0, 3).map(Number).map(v => v / 255)
    .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const style = getComputedStyle(document.querySelector(selector));
  const [a, b] = [lum(style.color), lum(style.backgroundColor)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""
# The lines each cell of the inbox takes: a short value broken inside takes two.
LINES = """() => Array.from(document.querySelectorAll('#tickets tbody td'))
  .filter(td => ['number', 'status', 'channel', 'language'].includes(td.dataset.cell))
  .map(td => { const r = document.createRange();
               r.selectNodeContents(td.querySelector('a, .badge') || td);
               return [td.dataset.cell, new Set(Array.from(r.getClientRects())
                 .map(x => Math.round(x.top))).size]; })
  .filter(([, lines]) => lines > 1)"""


async def test_the_inbox_names_languages_keeps_short_cells_whole_and_low_reads_clearly(
        dev_live: LiveServer, browser: Any):
    number = await open_ticket(dev_live)
    async with factory_app(dev_live) as app:
        await make_agent(app, "sup@kefu.test", role="supervisor")
        async with app.state.db.transaction() as session:
            ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
            assert ticket is not None
            ticket.priority = "low"
    headers = bearer(customer_token(dev_live.settings, "cust-z", name="Zh", lang="zh"))
    async with httpx.AsyncClient(base_url=dev_live.base, timeout=30) as client:
        created = await client.post("/api/v1/tickets", headers=headers, json={
            "subject": "我的USDT充值到现在还没有到账，已经等了三个小时了，请帮忙查一下交易哈希" * 2,
            "body": "充值没有到账", "language": "zh"})
    assert created.status_code == 201, created.text
    page = await console_page(browser, dev_live, "sup@kefu.test", "/agent", lang="zh-CN")
    assert await page.evaluate(CONTRAST, "span.badge.priority-low") >= 4.5
    assert await page.evaluate(LINES) == []
    await page.context.close()
    # A row console.js adds live names its language and marks its subject with it.
    page = await console_page(browser, dev_live, "sup@kefu.test", "/agent")
    async with httpx.AsyncClient(base_url=dev_live.base, timeout=30) as client:
        live_one = await client.post("/api/v1/tickets", headers=headers, json={
            "subject": "提现还在处理中", "body": "提现还在处理中", "language": "zh"})
    row = page.locator(f'[data-testid="inbox-row-{live_one.json()["number"]}"]')
    await row.wait_for(timeout=15_000)
    assert await row.locator('[data-cell="language"]').get_attribute("lang") == "zh"
    assert await row.locator('[data-cell="subject"] a').get_attribute("lang") == "zh"
    await page.context.close()


# ---------------------------------------------------------------- the title's unread total over
# every ticket, a note's mentions nobody was told of, and a ticket's language named and marked
# live as after a reload


async def test_the_titles_unread_total_counts_tickets_the_list_does_not_show(
        dev_live: LiveServer, browser: Any):
    """The title summed the rows on the page: unread messages on a ticket filtered out (or on
    another page) were left out of it."""
    live = dev_live
    shown = await open_ticket(live)  # a portal ticket: one unread message
    customer = bearer(customer_token(live.settings, "cust-b", name="Bo", lang="en"))
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        created = await client.post("/api/v1/tickets", headers=customer, json={
            "subject": "Withdrawal pending", "body": "Pending for 3 hours.", "language": "en",
            "channel": "chat"})
        assert created.status_code == 201, created.text
        hidden = created.json()["number"]
        added = await client.post(f"/api/v1/tickets/{hidden}/replies", headers=customer,
                                  json={"body": "Still pending."})
        assert added.status_code == 201, added.text
    page = await console_page(browser, live, "agent@kefu.test", "/agent?channel=portal")
    await page.locator(f'[data-testid="inbox-row-{shown}"]').wait_for()
    assert await page.locator(f'[data-testid="inbox-row-{hidden}"]').count() == 0
    assert (await page.title()).startswith("(3) ")
    # A new message on the ticket not shown counts, live; resolving it takes its three away.
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        added = await client.post(f"/api/v1/tickets/{hidden}/replies", headers=customer,
                                  json={"body": "Any news?"})
        assert added.status_code == 201, added.text
        await page.wait_for_function("() => document.title.startsWith('(4) ')", timeout=15_000)
        resolved = await client.post(f"/api/v1/tickets/{hidden}/status", headers=customer,
                                     json={"status": "resolved"})
        assert resolved.status_code == 200, resolved.text
    await page.wait_for_function("() => document.title.startsWith('(1) ')", timeout=15_000)
    # The whole list, swapped in by the filter, brings the same count.
    await page.select_option("#f-channel", "")
    await page.locator(f'[data-testid="inbox-row-{hidden}"]').wait_for(timeout=15_000)
    assert (await page.title()).startswith("(1) ")
    await page.context.close()


async def test_a_note_says_which_colleagues_it_mentions_were_not_told(
        dev_live: LiveServer, browser: Any):
    """A colleague outside the ticket's team is not notified (a notification carries the
    note's text): the note is saved, and its author now reads that they were not told."""
    number = await open_ticket(dev_live)
    async with factory_app(dev_live) as app:
        await make_agent(app, "li.na@kefu.test", teams=[await team_of(app, number)])
        await make_agent(app, "carl@kefu.test", teams=[await make_team(app, "中文", "zh")])
    page = await agent_page(browser, dev_live, number)
    await page.locator('[data-testid="note-toggle"]').check()
    box = page.locator('[data-testid="reply-box"]')
    await box.fill("@carl @li.na please check the deposit")
    await box.press("Enter")
    note = page.locator('[data-testid="message"]', has_text="please check the deposit")
    warning = note.locator('[data-testid="mention-warning"]')
    await warning.wait_for(timeout=15_000)
    assert await warning.inner_text() == (
        "Your note is saved. carl cannot see this ticket, so they were not notified.")
    assert await note.get_attribute("data-message-id")
    # A note that names only colleagues who may read it says nothing more.
    await box.fill("@li.na the TxID is confirmed")
    await box.press("Enter")
    other = page.locator('[data-testid="message"]', has_text="the TxID is confirmed")
    await other.and_(page.locator("[data-message-id]")).wait_for(timeout=15_000)
    await page.wait_for_timeout(300)
    assert await other.locator('[data-testid="mention-warning"]').count() == 0


async def test_a_row_added_live_names_its_language_as_the_reloaded_list_does(
        dev_live: LiveServer, browser: Any):
    """A language the page had no name for was named by the browser ("中文（台灣）"), not as
    the server names it after a reload ("中文 (繁體, 台灣)")."""
    live = dev_live
    await open_ticket(live)
    async with factory_app(live) as app:
        await make_agent(app, "sup@kefu.test", role="supervisor")
    page = await console_page(browser, live, "sup@kefu.test", "/agent", lang="zh-CN")
    headers = bearer(customer_token(live.settings, "cust-tw", name="Lin", lang="en"))
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        created = await client.post("/api/v1/tickets", headers=headers, json={
            "subject": "提領還在處理中", "body": "提領還在處理中", "language": "zh-TW"})
    assert created.status_code == 201, created.text
    cell = page.locator(
        f'[data-testid="inbox-row-{created.json()["number"]}"] [data-cell="language"]')
    await cell.wait_for(timeout=15_000)
    live_cell = (await cell.inner_text(), await cell.get_attribute("lang"))
    await page.reload()
    await cell.wait_for()
    assert live_cell == (await cell.inner_text(), await cell.get_attribute("lang"))
    assert live_cell == ("中文 (繁體, 台灣)", "zh-TW")
    await page.context.close()


async def test_the_ticket_heading_follows_a_language_changed_live(
        dev_live: LiveServer, browser: Any):
    live = dev_live
    number = await open_ticket(live)
    async with factory_app(live) as app:
        async with app.state.db.transaction() as session:
            me = await session.scalar(select(Agent).where(Agent.email == "agent@kefu.test"))
        assert me is not None
        token = await api_token(app, me)
    page = await agent_page(browser, live, number)
    heading = page.locator(".ticket-head h1")
    shown = page.locator('[data-testid="ticket-language"]')
    assert await heading.get_attribute("lang") == "en"
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        changed = await client.patch(f"/api/v1/tickets/{number}", headers=bearer(token),
                                     json={"language": "vi"})
        assert changed.status_code == 200, changed.text
    await page.wait_for_function(
        "() => document.querySelector('.ticket-head h1').lang === 'vi'",
        timeout=15_000)
    live_view = (await shown.inner_text(), await shown.get_attribute("lang"))
    await page.reload()
    await page.wait_for_selector(LIVE, timeout=15_000)
    assert await heading.get_attribute("lang") == "vi"
    assert live_view == (await shown.inner_text(), await shown.get_attribute("lang"))
    assert live_view == ("Tiếng Việt", "vi")


# ---------------------------------------------------------------- from QA: the supervisor's
# lists of tickets on a phone, and the languages they name marked with their language


async def test_the_supervisors_ticket_lists_are_cards_on_a_phone_and_mark_language_names(
        dev_live: LiveServer, browser: Any):
    """QA: at 390 px the Escalated and Waiting tables scrolled sideways with no hint; they are
    cards now, as the queues are, each value beside its column's name (data-label), also in
    rows console.js draws from a live frame. A language named by its own name ("Español")
    carries its lang attribute, as in the inbox."""
    live = dev_live
    english = await open_ticket(live)
    async with factory_app(live) as app:
        token = await api_token(app, await make_agent(app, "sup@kefu.test", role="supervisor"))

    async def new_ticket(customer: str, language: str, subject: str) -> str:
        headers = bearer(customer_token(live.settings, customer, name="Lu", lang="en"))
        async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
            created = await client.post("/api/v1/tickets", headers=headers, json={
                "subject": subject, "body": subject, "language": language})
        assert created.status_code == 201, created.text
        return str(created.json()["number"])

    async def escalate(number: str) -> None:
        async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
            changed = await client.post(
                f"/api/v1/tickets/{number}/status", headers=bearer(token),
                json={"status": "escalated", "reason": "Large loss: 40,000 USDT sent to a scam"})
        assert changed.status_code == 200, changed.text

    spanish = await new_ticket("cust-es", "es", "Retiro pendiente desde ayer por la tarde")
    await escalate(english)

    async def check(page: Any, waiting: str, language: str) -> None:
        for testid in ("supervisor-escalated", "supervisor-waiting"):
            fit = await page.evaluate(QUEUE_FIT, testid)
            assert fit["cells"] >= 4, fit
            assert (fit["scrolls"], fit["outside"], fit["unlabelled"]) == (False, 0, 0), fit
        labels = await page.locator('[data-testid="supervisor-waiting"] tbody td').evaluate_all(
            "(cells) => cells.map((td) => getComputedStyle(td, '::before').content)")
        assert all(label not in ("none", '""') for label in labels), labels
        assert await page.evaluate(
            "() => document.documentElement.scrollWidth <= window.innerWidth")
        row = page.locator(f'[data-testid="supervisor-waiting"] tr[data-key="{waiting}"]')
        assert await row.locator('[data-col="language"]').get_attribute("lang") == language
        queue = page.locator(f'[data-testid="supervisor-languages"] tr[data-key="{language}"] th')
        assert await queue.get_attribute("lang") == language

    for lang in ("en", "zh-CN"):
        page = await console_page(browser, live, "sup@kefu.test", "/agent/supervisor",
                                  lang=lang, width=390)
        await check(page, spanish, "es")
        assert await page.locator(
            f'[data-testid="supervisor-waiting"] tr[data-key="{spanish}"] [data-col="language"]'
        ).inner_text() == "Español"
        # Rows console.js draws from a live frame: labelled and marked the same way.
        french = await new_ticket(f"cust-fr-{lang}", "fr", "Retrait en attente")
        german = await new_ticket(f"cust-de-{lang}", "de", "Auszahlung fehlt")
        await escalate(german)
        await page.locator(f'[data-testid="supervisor-escalated"] tr[data-key="{german}"]'
                           ).wait_for(timeout=15_000)
        await page.locator(f'[data-testid="supervisor-waiting"] tr[data-key="{french}"]'
                           ).wait_for(timeout=15_000)
        await check(page, french, "fr")
        await page.context.close()
    # On a wide screen they stay tables, with their column heads.
    page = await console_page(browser, live, "sup@kefu.test", "/agent/supervisor")
    for testid in ("supervisor-escalated", "supervisor-waiting"):
        assert await page.locator(f'[data-testid="{testid}"] thead').is_visible()
    await page.context.close()


# ---------------------------------------------------------------- the unread total on every
# console page, not only the inbox


async def test_a_ticket_and_the_supervisor_view_title_the_unread_total_of_every_ticket(
        dev_live: LiveServer, browser: Any):
    """The ticket page and the supervisor view counted only the tickets they had seen live:
    an agent with unread messages on other tickets saw no number there. They start from the
    server's counts, as the inbox does; the ticket a page opens counts 0 on it."""
    live = dev_live
    first = await open_ticket(live)  # one unread message

    async def customer_ticket(customer: str, subject: str, more: int) -> str:
        headers = bearer(customer_token(live.settings, customer, name="Bo", lang="en"))
        async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
            created = await client.post("/api/v1/tickets", headers=headers, json={
                "subject": subject, "body": subject, "language": "en"})
            assert created.status_code == 201, created.text
            number = str(created.json()["number"])
            for n in range(more):
                added = await client.post(f"/api/v1/tickets/{number}/replies", headers=headers,
                                          json={"body": f"Any news? ({n + 1})"})
                assert added.status_code == 201, added.text
        return number

    await customer_ticket("cust-b", "Withdrawal pending", 1)  # two unread
    opened = await customer_ticket("cust-c", "Fee question", 2)  # three unread
    page = await agent_page(browser, live, opened)
    assert (await page.title()).startswith("(3) ")
    # A message on another ticket counts live, on top of the server's counts.
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        added = await client.post(
            f"/api/v1/tickets/{first}/replies", json={"body": "Still nothing."},
            headers=bearer(customer_token(live.settings, "cust-a", name="Alice", lang="en")))
        assert added.status_code == 201, added.text
    await page.wait_for_function("() => document.title.startsWith('(4) ')", timeout=15_000)
    await page.context.close()
    # A supervisor (every ticket, none read yet): the supervisor view, then the ticket.
    async with factory_app(live) as app:
        await make_agent(app, "sup@kefu.test", role="supervisor")
    page = await console_page(browser, live, "sup@kefu.test", "/agent/supervisor")
    assert (await page.title()).startswith("(7) ")
    await page.goto(f"{live.base}/agent/tickets/{opened}")
    await page.wait_for_selector(LIVE, timeout=15_000)
    assert (await page.title()).startswith(f"(4) {opened}")
    await page.context.close()


async def test_a_txid_in_the_customer_panel_is_short_and_its_button_copies_it_whole(
    dev_live: LiveServer, browser: Any
):
    """The panel showed each 64-character txid in full, with nothing to copy it by: it now
    shows it shortened and its button puts the whole txid on the clipboard."""
    live = dev_live
    number = await open_ticket(live)
    context = await browser.new_context(viewport={"width": 1280, "height": 900},
                                        permissions=["clipboard-read", "clipboard-write"])
    page = await context.new_page()
    await open_signed_in(page, live, number, "zh-CN")
    await page.wait_for_selector(LIVE, timeout=15_000)
    copy = page.locator('[data-testid="txid-copy"]').first
    txid = await copy.get_attribute("data-copy")
    assert txid is not None
    assert len(txid) > 20
    shown = page.locator('[data-testid="txid-short"]').first
    assert await shown.inner_text() == f"{txid[:8]}…{txid[-6:]}"
    await copy.click()
    await page.locator('[data-testid="toast"]', has_text="已复制").wait_for(timeout=5_000)
    assert await page.evaluate("navigator.clipboard.readText()") == txid


async def test_a_chinese_macro_found_by_its_chinese_title_greets_a_nameless_customer(
    dev_live: LiveServer, browser: Any
):
    """A Chinese ticket opens the picker on Chinese macros; a Chinese title is found, the
    keyboard picks it, a customer without a name is greeted politely, and HTML in a macro goes
    into the reply as typed text, never markup."""
    live = dev_live
    async with factory_app(live) as app:
        team = await make_team(app, "中文", "zh")
        await make_agent(app, "agent@kefu.test", teams=[team])
        token = await api_token(app, await make_agent(app, "boss@kefu.test", role="admin"))
    headers = bearer(customer_token(live.settings, "cust-zh", lang="zh-CN"))
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        created = await client.post("/api/v1/tickets", headers=headers, json={
            "subject": "充值未到账", "body": "我的USDT充值还没到账", "language": "zh"})
        assert created.status_code == 201, created.text
        number = created.json()["number"]
        for title, language, body in (
                ("充值延迟", "zh", "{customer.name}，您好！工单 {ticket.number} <b>已受理</b>"),
                ("Deposit delay", "en", "Hi {customer.name}, ticket {ticket.number}."),
                ("提现审核", "zh", "{customer.name}，您好！提现审核中。")):
            made = await client.post("/api/v1/macros", headers=bearer(token), json={
                "title": title, "language": language, "body": body})
            assert made.status_code == 201, made.text
    page = await agent_page(browser, live, number, "zh-CN")
    await page.locator('[data-testid="macro-picker"]').click()
    assert await page.locator('[data-testid="macro-language"]').input_value() == "zh"
    await page.locator('[data-testid="macro-item"]').first.wait_for()
    assert await page.locator('[data-testid="macro-item"]').count() == 2
    search = page.locator('[data-testid="macro-search"]')
    await search.fill("充值")
    await page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"macro-item\"]').length === 1")
    await search.press("ArrowDown")
    await page.keyboard.press("Enter")
    box = page.locator('[data-testid="reply-box"]')
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=\"reply-box\"]').value.includes('工单')",
        timeout=15_000)
    assert await box.input_value() == f"尊敬的用户，您好！工单 {number} <b>已受理</b>"
    assert await page.locator('[data-testid="macro-panel"]').is_hidden()
