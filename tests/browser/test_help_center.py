"""The help center's search box in headless Chromium: what the keyboard does to it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.realtime.live import LiveServer

# One Chromium per test process, driven from the session's event loop (see conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_escape_closes_the_instant_results_and_keeps_the_words(
        dev_live: LiveServer, browser: Any):
    """QA: Escape closed the results and also emptied the box (a search box clears itself on
    Escape); and the home page's box, white on teal, showed no focus ring."""
    page = await (await browser.new_context()).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{dev_live.base}/help/en")
    box = page.locator("#help-q")
    await box.focus()
    ring = await box.evaluate("(el) => [getComputedStyle(el).outlineStyle, "
                              "getComputedStyle(el).outlineColor]")
    assert ring == ["solid", "rgb(255, 255, 255)"]
    await box.press_sequentially("withdrawl pendng")
    results = page.locator("#instant-results .instant-empty")
    await results.wait_for(timeout=10_000)  # this help center has no articles yet
    await box.press("Escape")
    assert await page.locator("#instant-results").inner_html() == ""
    assert await box.input_value() == "withdrawl pendng"
    await box.press("Escape")  # with nothing open, Escape clears the box as usual
    assert await box.input_value() == ""
    assert errors == []
