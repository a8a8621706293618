"""The ticket page in headless Chromium while the exchange back office is slow: the page is
there and usable at once, the customer panel says it is loading, then fills in by itself and
its txid Copy buttons work (they arrive with the panel, after the page's script ran)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from kefu.config import Settings
from kefu.core import clock
from tests.browser.console_support import LIVE, open_signed_in, open_ticket
from tests.exchange.fake_backoffice import FakeBackoffice, running_fake_backoffice
from tests.realtime.live import LiveServer, live_server

# One Chromium per test process, driven from the session's event loop (see conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

API_KEY = "browser-test-backoffice-key-5d1e"
SLOW_S = 6.0
PANEL = '[data-testid="customer-panel"]'


@pytest.fixture
def slow_backoffice() -> Iterator[FakeBackoffice]:
    with running_fake_backoffice(api_key=API_KEY, clock=clock.now) as backoffice:
        backoffice.fault, backoffice.slow_s = "slow", SLOW_S
        yield backoffice


@pytest.fixture
def slow_live(dev_settings: Settings, slow_backoffice: FakeBackoffice) -> Iterator[LiveServer]:
    """A development server whose exchange adapter is the http one, on the slow back office."""
    settings = dev_settings.model_copy(update={
        "exchange_adapter": "http", "exchange_base_url": slow_backoffice.base_url,
        "exchange_api_key": SecretStr(API_KEY), "exchange_timeout_s": SLOW_S * 3})
    with live_server(settings) as server:
        yield server


async def test_the_ticket_page_is_usable_while_the_back_office_is_slow(
    slow_live: LiveServer, slow_backoffice: FakeBackoffice, browser: Any
):
    """The page used to be sent only once the back office had answered (up to
    KEFU_EXCHANGE_TIMEOUT_S): now the agent reads and writes at once and the panel follows."""
    live = slow_live
    number = await open_ticket(live)
    context = await browser.new_context(viewport={"width": 1280, "height": 900},
                                        permissions=["clipboard-read", "clipboard-write"])
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await open_signed_in(page, live, number)
    panel = page.locator(PANEL)
    # Loaded, and the back office has not answered yet: the panel waits, the page does not.
    assert await panel.get_attribute("data-state") == "loading"
    assert "Loading account context…" in await panel.inner_text()
    assert "Alice" in await panel.inner_text()  # the local part is there already
    await page.wait_for_selector(LIVE, timeout=15_000)
    box = page.locator('[data-testid="reply-box"]')
    await box.fill("Checking your deposit now.")
    assert await box.input_value() == "Checking your deposit now."
    assert await panel.get_attribute("data-state") == "loading"
    assert any(path.endswith("/cust-a/context") for path in slow_backoffice.seen_paths)

    await page.wait_for_selector(f'{PANEL}[data-state="loaded"]', timeout=SLOW_S * 3000)
    text = await panel.inner_text()
    assert "Loading account context…" not in text
    assert "KYC" in text
    assert await panel.get_attribute("aria-busy") is None
    when = panel.locator("time[data-local]").first  # shown in the agent's time zone, as
    assert "UTC" not in await when.inner_text()       # on a page that came with it
    copy = panel.locator('[data-testid="txid-copy"]').first
    txid = await copy.get_attribute("data-copy")
    assert txid is not None
    assert len(txid) > 20
    await copy.click()  # shown and wired although it came after the page's script ran
    await page.locator('[data-testid="toast"]', has_text="Copied").wait_for(timeout=5_000)
    assert await page.evaluate("navigator.clipboard.readText()") == txid
    assert await box.input_value() == "Checking your deposit now."
    assert errors == []
    await context.close()


async def test_a_panel_that_cannot_be_loaded_says_so_and_keeps_its_link(
    dev_live: LiveServer, browser: Any
):
    """The network drops the panel's request: the placeholder does not say "Loading…" for
    ever, and its link still opens the panel."""
    live = dev_live
    number = await open_ticket(live)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.route("**/customer-panel", lambda route: route.abort("connectionreset"))
    await open_signed_in(page, live, number, "zh-CN")
    await page.wait_for_selector(f'{PANEL}[data-state="failed"]', timeout=15_000)
    panel = page.locator(PANEL)
    assert "账户信息加载失败。" in await panel.inner_text()
    assert "正在加载" not in await panel.inner_text()
    assert await panel.get_attribute("aria-busy") is None
    link = panel.locator('[data-testid="customer-panel-link"]')
    assert await link.get_attribute("href") == f"/agent/tickets/{number}/customer-panel"
    await context.close()
