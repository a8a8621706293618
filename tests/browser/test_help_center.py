"""The help center's search box in headless Chromium: what the keyboard does to it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import make_agent
from tests.kb.support import make_article, make_category, use_fast_search
from tests.realtime.live import LiveServer, factory_app

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
    assert await page.locator("#instant-results").is_hidden()
    assert await box.input_value() == "withdrawl pendng"
    await box.press("Escape")  # with nothing open, Escape clears the box as usual
    assert await box.input_value() == ""
    assert errors == []


async def test_arrow_down_opens_the_closed_instant_results_again(
        monkeypatch: pytest.MonkeyPatch, dev_live: LiveServer, browser: Any):
    """QA: after Escape closed the instant results, ArrowDown did nothing until the reader
    typed again. As in a combobox, ArrowDown in the box opens them again, on the first result;
    typing shows the new results."""
    use_fast_search(monkeypatch)
    async with factory_app(dev_live) as app:
        editor = await make_agent(app, "editor@kefu.test", role="supervisor")
        await make_category(app, editor)
        await make_article(app, editor)
    page = await (await browser.new_context()).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{dev_live.base}/help/en")
    box = page.locator("#help-q")
    results = page.locator("#instant-results")
    first = results.locator("a").first
    await box.press_sequentially("deposit has not arrived")
    await first.wait_for(timeout=10_000)
    assert "My deposit has not arrived" in await first.inner_text()

    await box.press("Escape")
    assert await results.is_hidden()
    assert await box.evaluate("(el) => el === document.activeElement")
    await box.press("ArrowDown")
    assert await results.is_visible()
    assert await first.evaluate("(el) => el === document.activeElement")
    await page.keyboard.press("ArrowUp")  # back in the box, the results still open
    assert await box.evaluate("(el) => el === document.activeElement")
    assert await results.is_visible()

    await box.press("Escape")
    await box.press_sequentially(" yet")  # new words: new results, shown
    await results.locator(".instant-list, .instant-empty").first.wait_for(timeout=10_000)
    await results.wait_for(state="visible", timeout=10_000)
    assert await box.input_value() == "deposit has not arrived yet"
    assert errors == []
