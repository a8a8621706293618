"""A ticket's page in the agent console, in headless Chromium: the time on a message sent
live, the assistant named in the agent's language, the ticket's history naming every event and
field, a refused upload explained, the customer told their messages were read and the agent
shown what the customer has seen, changes by someone else (an assignment, a move to another
team, a language changed live), the customer panel's txid, and the assignee list's warnings
before saving."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kefu.accounts.actor import ANONYMOUS
from kefu.accounts.models import Agent
from kefu.assistant.handoff import HandoffSummary
from kefu.assistant.service import ASSISTANT
from kefu.tickets import schemas as ticket_schemas
from kefu.tickets.events import record_event
from kefu.tickets.messages import add_message
from kefu.tickets.models import Ticket
from kefu.tickets.workflow import update_fields
from tests.browser.console_support import (
    LIVE,
    OFFLINE,
    agent_page,
    agent_token,
    console_page,
    move_to_another_team,
    open_signed_in,
    open_ticket,
)
from tests.factories import api_token, bearer, customer_token, make_agent, make_team
from tests.realtime.live import Client, LiveServer, factory_app

# One Chromium per test process, driven from the session's event loop (see conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


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


async def test_a_ticket_moved_to_another_team_leaves_the_inbox_and_its_page_says_so(
        dev_live: LiveServer, browser: Any):
    live = dev_live
    number = await open_ticket(live)
    inbox = await agent_page(browser, live, number)
    await inbox.goto(f"{live.base}/agent")
    row = inbox.locator(f'[data-testid="inbox-row-{number}"]')
    await row.wait_for(timeout=15_000)
    ticket_page = await inbox.context.new_page()
    await ticket_page.goto(f"{live.base}/agent/tickets/{number}")
    await ticket_page.wait_for_selector(LIVE, timeout=15_000)
    await move_to_another_team(live, number)
    await row.wait_for(state="detached", timeout=10_000)
    notice = ticket_page.locator('[data-testid="ticket-changed"]')
    await notice.get_by_text("you can no longer answer it here").wait_for(timeout=10_000)


async def test_the_ticket_heading_follows_a_language_changed_live(
        dev_live: LiveServer, browser: Any):
    live = dev_live
    number = await open_ticket(live)
    async with factory_app(live) as app:
        token = await agent_token(app)
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
