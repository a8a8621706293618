"""The agent console in headless Chromium while its connection is down: a reply, a note and a
status chosen offline go out when the socket is back, a page that never got a socket posts its
forms, both the console and the widget say at once that the network went, and drafts (a reply,
a note, a reply queued offline) survive a reload.

The socket is dropped from the page with ``console_support.SOCKETS``: an init script keeps every
WebSocket the console opens and, while told to, sends its reconnects to a path the server
refuses (so the console stays offline until the test lets it back)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser.console_support import (
    LIVE,
    OFFLINE,
    SOCKETS,
    agent_page,
    open_signed_in,
    open_ticket,
)
from tests.factories import bearer, customer_token
from tests.realtime.live import LiveServer

# One Chromium per test process, driven from the session's event loop (see conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


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
