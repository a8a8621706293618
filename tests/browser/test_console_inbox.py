"""The agent console's inbox and unread counts, in headless Chromium: counts on a first
sign-in, across devices and for messages sent back to back; the title's unread total over every
ticket (also on a ticket's page and the supervisor view); rows added live (after an outage,
while the list changes, with their tags and languages named as a reload names them); the
keyboard focus on a row that moves; short cells kept whole and the "Low" badge's contrast; and
the notifications panel for the keyboard."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kefu.accounts.models import Agent
from kefu.tickets.models import Ticket
from tests.browser.console_support import (
    LIVE,
    OFFLINE,
    agent_page,
    console_page,
    fresh_inbox,
    open_ticket,
)
from tests.factories import api_token, bearer, customer_token, make_agent
from tests.realtime.live import Client, LiveServer, factory_app

# One Chromium per test process, driven from the session's event loop (see conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


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
