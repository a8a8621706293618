"""The chat widget on a phone in headless Chromium: the conversation's end stays in view when
the keyboard takes half the screen and when the rating form appears, a phone held sideways
gets the whole screen (as a modal dialog), and right-to-left text reads right to left."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_widget_page import (
    FOCUSED,
    SHADOW,
    first_message,
    open_widget,
    set_ticket_status,
    supervisor_token,
)
from tests.realtime.live import LiveServer

# One Chromium per test process, driven from the session's event loop (see conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
# A message taller than the phone's screen: the conversation scrolls.
TALL = "\n".join(f"Line {i}: my USDT deposit on TRC20 has not arrived." for i in range(45))
# How far the conversation is from its end, in pixels (0: its last line is in view).
FROM_END = f"""() => {{
    const box = {SHADOW}.querySelector('.scroll');
    return Math.round(box.scrollHeight - box.scrollTop - box.clientHeight);
}}"""
AT_END = f"() => ({FROM_END})() <= 1"


async def test_the_latest_message_stays_in_view_when_the_keyboard_opens(
        dev_live: LiveServer, browser: Any):
    """QA: on a phone the panel is the whole screen; the keyboard shrinks it (390×844 to
    390×400) and the message list kept its scroll position, so the latest messages went under
    the message box while the customer typed an answer to them (444 px of them here). The
    same when the box grows with a third line. At the end before, at the end after."""
    errors: list[str] = []
    page, widget = await open_widget(
        browser, f"{dev_live.base}/demo/exchange?customer=e2e-keyboard&lang=en", errors, **PHONE)
    await first_message(widget, TALL)
    await page.wait_for_timeout(1000)  # the assistant's answer, if any, has come
    await page.evaluate(f"() => {{ const box = {SHADOW}.querySelector('.scroll');"
                        " box.scrollTop = box.scrollHeight; }")  # the customer reads the end
    await page.wait_for_function(AT_END)

    box = widget.locator('[data-testid="kefu-input"]')
    await box.tap()
    await page.set_viewport_size({"width": 390, "height": 400})  # the keyboard opens
    await page.wait_for_timeout(300)
    assert await page.evaluate(FROM_END) <= 1
    await box.type("Which deposit?")
    await box.press("Shift+Enter")
    await box.type("The one from")
    await box.press("Shift+Enter")
    await box.type("this morning")
    await page.wait_for_timeout(300)
    assert await page.evaluate(FROM_END) <= 1
    assert errors == []


async def test_the_rating_form_is_in_view_when_the_conversation_is_resolved(
        dev_live: LiveServer, browser: Any):
    """QA: the widget scrolled to the "resolved" note at once, but the rating form comes
    after a lookup (is it rated already?), and appeared under the fold: on a phone the
    customer saw the note, not the stars. A customer at the end of the conversation sees
    the form."""
    errors: list[str] = []
    page, widget = await open_widget(
        browser, f"{dev_live.base}/demo/exchange?customer=e2e-rate-view&lang=zh-CN", errors,
        **PHONE)
    number = await first_message(widget, TALL)
    await page.wait_for_timeout(1000)
    await page.evaluate(f"() => {{ const box = {SHADOW}.querySelector('.scroll');"
                        " box.scrollTop = box.scrollHeight; }")
    await set_ticket_status(dev_live, await supervisor_token(dev_live), number, "resolved")
    form = widget.locator('[data-testid="kefu-rating"]')
    await form.wait_for(timeout=15_000)
    await page.wait_for_timeout(300)
    shown = await form.bounding_box()
    visible = await widget.locator(".scroll").bounding_box()
    assert shown is not None
    assert visible is not None
    assert shown["y"] + shown["height"] <= visible["y"] + visible["height"] + 1, (shown, visible)
    assert errors == []


async def test_arabic_reads_right_to_left_in_the_box_and_in_the_conversation(
        dev_live: LiveServer, browser: Any):
    """QA: the widget set no direction on what people write, so Arabic with a number and a
    coin in it was laid out left to right: "500 USDT" jumped to the start of the line, the
    question mark to the wrong end, and the lines hung from the left edge. The message box,
    the message and the rating's comment take their direction from their text; English
    stays left to right."""
    errors: list[str] = []
    page, widget = await open_widget(
        browser, f"{dev_live.base}/demo/exchange?customer=e2e-rtl&lang=en", errors, **PHONE)
    arabic = "مرحبا، أرسلت 500 USDT إلى محفظتي على شبكة TRC20 منذ ساعتين ولم يصل المبلغ. ماذا أفعل؟"
    box = widget.locator('[data-testid="kefu-input"]')
    await box.fill(arabic)
    assert await box.evaluate("(node) => getComputedStyle(node).direction") == "rtl"
    await widget.locator('[data-testid="kefu-send"]').click()
    mine = widget.locator('[data-testid="kefu-message"][data-author="customer"] .msg-body')
    await mine.wait_for(timeout=15_000)
    # The first word is at the right edge of the first line.
    first_word, body = await mine.evaluate("""(node) => {
        const range = document.createRange();
        range.setStart(node.firstChild, 0);
        range.setEnd(node.firstChild, 5);
        const word = range.getBoundingClientRect();
        const box = node.getBoundingClientRect();
        return [[word.left, word.right], [box.left, box.right]];
    }""")
    assert abs(first_word[1] - body[1]) <= 2, (first_word, body)
    await box.fill("Hello")
    assert await box.evaluate("(node) => getComputedStyle(node).direction") == "ltr"
    comment = widget.locator('[data-testid="kefu-rating-comment"]')
    assert await comment.get_attribute("dir") == "auto"
    assert errors == []


async def test_a_phone_held_sideways_gets_the_whole_screen(dev_live: LiveServer, browser: Any):
    """QA: a phone held sideways (844×390) is wider than a phone's portrait screen, so the
    panel floated as on a desktop: 282 px tall, of which the conversation got a 22 px strip
    and the footer (the safety line) ran out of the panel, cut off. A short screen gets the
    whole screen as a narrow one does, the launcher out of the way of Send."""
    errors: list[str] = []
    page, widget = await open_widget(
        browser, f"{dev_live.base}/demo/exchange?customer=e2e-sideways&lang=zh-CN", errors,
        viewport={"width": 844, "height": 390}, is_mobile=True, has_touch=True)
    await first_message(widget, "我要人工客服")
    panel = await widget.locator('[data-testid="kefu-panel"]').bounding_box()
    conversation = await widget.locator(".scroll").bounding_box()
    footer = await widget.locator(".foot").bounding_box()
    assert panel is not None
    assert conversation is not None
    assert footer is not None
    assert (panel["y"], panel["height"]) == (0, 390)
    assert conversation["height"] >= 100, conversation
    assert footer["y"] + footer["height"] <= panel["y"] + panel["height"]
    assert not await widget.locator('[data-testid="kefu-launcher"]').is_visible()
    assert errors == []


@pytest.mark.parametrize(("screen", "lang"), [
    ({"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}, "zh-CN"),
    ({"viewport": {"width": 1280, "height": 800}}, "en")], ids=["phone", "desktop"])
async def test_the_full_screen_panel_is_a_modal_dialog(
        dev_live: LiveServer, browser: Any, screen: dict[str, Any], lang: str):
    """QA: on a phone the panel covers the page, but Tab went on from its last control to the
    launcher and the page behind, which the customer cannot see (nor a screen reader tell).
    Full screen, the panel is a modal dialog: aria-modal, Tab from the last control to the
    first, Shift+Tab from the first to the last, Escape closes it and focus is back on the
    launcher. Floating beside the page on a desktop it is not modal: Tab leaves it."""
    errors: list[str] = []
    page, widget = await open_widget(
        browser, f"{dev_live.base}/demo/exchange?customer=e2e-modal-{lang}&lang={lang}", errors,
        **screen)
    panel = widget.locator('[data-testid="kefu-panel"]')
    await first_message(widget, "提现还没到账" if lang == "zh-CN" else "Withdrawal pending")
    await widget.locator('[data-testid="kefu-input"]').focus()
    assert await panel.get_attribute("role") == "dialog"
    seen = []
    for _ in range(40):
        await page.keyboard.press("Tab")
        seen.append(await page.evaluate(FOCUSED))
    if screen["viewport"]["width"] > 520:
        assert await panel.get_attribute("aria-modal") is None
        assert any(where["page"] != "kefu-widget" for where in seen), seen
        assert errors == []
        return

    assert await panel.get_attribute("aria-modal") == "true"
    assert all(where["page"] == "kefu-widget" for where in seen), seen
    assert {"page": "kefu-widget", "widget": "kefu-launcher"} not in seen
    stops = [where["widget"] for where in seen]
    assert stops.count("kefu-close") >= 2, stops  # round and round
    await widget.locator('[data-testid="kefu-close"]').focus()  # the first control
    await page.keyboard.press("Shift+Tab")
    last = await page.evaluate(FOCUSED)
    assert last["page"] == "kefu-widget"
    assert last["widget"] != "kefu-close"
    await page.keyboard.press("Tab")
    assert await page.evaluate(FOCUSED) == {"page": "kefu-widget", "widget": "kefu-close"}
    # Turned or resized to a desktop's window, it floats again and is not modal.
    await page.set_viewport_size({"width": 1280, "height": 800})
    await widget.locator('[data-testid="kefu-panel"]:not([aria-modal])').wait_for()
    await page.set_viewport_size({"width": 390, "height": 844})
    await widget.locator('[data-testid="kefu-panel"][aria-modal="true"]').wait_for()
    await page.keyboard.press("Escape")
    await panel.wait_for(state="hidden")
    assert await page.evaluate(FOCUSED) == {"page": "kefu-widget", "widget": "kefu-launcher"}
    assert errors == []
