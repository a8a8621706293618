"""The reply box of the agent console, in headless Chromium: the macro picker (Enter in its
search, personal macros, Chinese macros found by a Chinese title), a reply the guard refuses
given back to edit, and the @mention picker (a Chinese name, combobox semantics for a screen
reader, and a note saying which colleagues it mentions were not told)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kefu.accounts.models import Agent
from kefu.tickets.models import Ticket
from tests.browser.console_support import (
    agent_page,
    agent_token,
    open_ticket,
    team_of,
)
from tests.factories import api_token, bearer, customer_token, make_agent, make_team
from tests.realtime.live import LiveServer, factory_app

# One Chromium per test process, driven from the session's event loop (see conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


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
        mine = await agent_token(app)
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
