"""End to end in headless Chromium: widget on the demo exchange → agent console → rating →
supervisor view. Screenshots go to ``artifacts/browser/`` (CI keeps them).

Runs on SQLite only: the database behaviour is covered on both backends by the protocol tests;
this test is about the pages and their scripts."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from kefu.config import Settings
from kefu.db import Database
from tests.factories import PASSWORD, make_world
from tests.realtime.live import LiveServer, local_app

ARTIFACTS = Path(__file__).parents[2] / "artifacts" / "browser"
# One Chromium per test process, driven from the session's event loop (see conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


def png(width: int = 320, height: int = 200) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    row = b"\x00" + b"\x20\x60\xc0" * width
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


@pytest.fixture
def dev_settings(dev_settings: Settings) -> Settings:
    """The conversation between people: the assistant stays out (with it, a new chat is the
    assistant's until a hand-off, and waits in no agent's queue; the tests' server runs no
    jobs, so it would never hand off)."""
    return dev_settings.model_copy(update={"assistant_enabled": False})


async def test_customer_agent_supervisor_end_to_end(
    dev_live: LiveServer, browser: object, tmp_path: Path
):
    live = dev_live
    db = Database(live.settings.resolved_database_url)
    try:
        world = await make_world(local_app(live.settings, db))
    finally:
        await db.dispose()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = tmp_path / "withdrawal.png"
    screenshot.write_bytes(png())

    agent_ctx = await browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    sup_ctx = await browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    customer_ctx = await browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    errors: list[str] = []
    for ctx in (agent_ctx, sup_ctx, customer_ctx):
        ctx.on("weberror", lambda e: errors.append(str(e.error)))

    async def sign_in(ctx: object, email: str) -> object:
        page = await ctx.new_page()  # type: ignore[attr-defined]
        await page.goto(f"{live.base}/agent/login")
        await page.fill("#email", email)
        await page.fill("#password", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{live.base}/agent*")
        return page

    agent = await sign_in(agent_ctx, world.agent.email)
    supervisor = await sign_in(sup_ctx, world.supervisor.email)
    await supervisor.goto(f"{live.base}/agent/supervisor")  # type: ignore[attr-defined]
    waiting = supervisor.locator('[data-total="waiting"]')  # type: ignore[attr-defined]
    assert (await waiting.inner_text()).strip() == "0"
    await agent.wait_for_selector('[data-testid="connection-state"]')  # type: ignore[attr-defined]

    # The customer opens the widget on the exchange's page and writes, with a screenshot.
    customer = await customer_ctx.new_page()
    await customer.goto(f"{live.base}/demo/exchange?customer=e2e-0001&lang=en")
    widget = customer.locator("#kefu-widget")
    await widget.locator('[data-testid="kefu-launcher"]').click()
    await widget.locator('[data-testid="kefu-input"]').fill(
        "My USDT withdrawal is pending for 3 hours, see the screenshot")
    await widget.locator('[data-testid="kefu-send"]').click()
    first = widget.locator('[data-testid="kefu-message"][data-author="customer"]').first
    await first.wait_for()
    await widget.locator('[data-testid="kefu-message"][data-state="sent"]').first.wait_for(
        timeout=15_000)
    number = (await widget.locator('[data-testid="kefu-ticket-number"]').inner_text()).strip()
    assert number.startswith("KF-")
    await widget.locator('[data-testid="kefu-file-input"]').set_input_files(str(screenshot))
    attachment = widget.locator('[data-testid="kefu-attachment"]').first
    await attachment.wait_for(timeout=15_000)
    await customer.screenshot(path=str(ARTIFACTS / "1-widget-sent.png"))

    # The agent's inbox shows it without a reload; the agent opens it and answers.
    row = agent.locator(f'[data-testid="inbox-row-{number}"]')  # type: ignore[attr-defined]
    await row.wait_for(timeout=15_000)
    # Another message moves the row: it comes as a partial row (what a message changes),
    # merged into the row the console has, whose status and the rest stay.
    updated, status = await row.get_attribute("data-updated"), await row.get_attribute(
        "data-status")
    await widget.locator('[data-testid="kefu-input"]').fill("Any news on it?")
    await widget.locator('[data-testid="kefu-send"]').click()
    await agent.wait_for_function(  # type: ignore[attr-defined]
        "([n, u]) => { const r = document.querySelector(`[data-testid=\"inbox-row-${n}\"]`);"
        " return r && r.getAttribute('data-updated') !== u; }", arg=[number, updated],
        timeout=15_000)
    assert await row.get_attribute("data-status") == status == "new"
    assert await row.get_attribute("data-channel") == "chat"
    # The supervisor's live queue counted it.
    await supervisor.wait_for_function(  # type: ignore[attr-defined]
        "() => document.querySelector('[data-total=\"waiting\"]').textContent.trim() !== '0'",
        timeout=15_000)
    await supervisor.screenshot(path=str(ARTIFACTS / "2-supervisor.png"))  # type: ignore[attr-defined]
    await agent.goto(f"{live.base}/agent/tickets/{number}")  # type: ignore[attr-defined]
    messages = agent.locator('[data-testid="message"]')  # type: ignore[attr-defined]
    await messages.first.wait_for()
    assert "pending for 3 hours" in await messages.first.inner_text()
    reply = agent.locator('[data-testid="reply-box"]')  # type: ignore[attr-defined]
    await reply.fill("Thanks! Your withdrawal is in review; it will be broadcast within 30 min.")
    await reply.press("Enter")
    await agent.wait_for_selector('[data-testid="message"]:has-text("in review")')  # type: ignore[attr-defined]
    # Acknowledged: the "sending…" mark goes away.
    await agent.wait_for_function(  # type: ignore[attr-defined]
        "() => !document.querySelector('[data-testid=\"message-list\"]')"
        ".innerText.includes('Sending')", timeout=15_000)
    # The agent's own first reply opened the ticket: no "changed by someone else" notice.
    assert await agent.locator('[data-testid="ticket-changed"]').is_hidden()  # type: ignore[attr-defined]
    await agent.screenshot(path=str(ARTIFACTS / "3-console.png"))  # type: ignore[attr-defined]

    # The customer sees the answer live.
    answer = widget.locator('[data-testid="kefu-message"][data-author="agent"]')
    await answer.first.wait_for(timeout=15_000)
    assert "in review" in await answer.first.inner_text()

    # The agent resolves; the customer rates the chat.
    await agent.select_option("#status", "resolved")  # type: ignore[attr-defined]
    await agent.click("form[data-status-form] button[type=submit]")  # type: ignore[attr-defined]
    await widget.locator('[data-testid="kefu-rating"]').wait_for(timeout=15_000)
    await widget.locator('[data-testid="kefu-rating-star"][data-score="5"]').click()
    await widget.locator('[data-testid="kefu-rating-comment"]').fill("Fast and clear, thanks")
    await widget.locator('[data-testid="kefu-rating-submit"]').click()
    await widget.locator('[data-testid="kefu-rating-thanks"]').wait_for(timeout=15_000)
    await customer.screenshot(path=str(ARTIFACTS / "4-widget-rated.png"))
    assert errors == []
    for ctx in (agent_ctx, sup_ctx, customer_ctx):
        await ctx.close()
