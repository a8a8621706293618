"""The chat widget's message box and its notices in headless Chromium, on a phone and on a
desktop, in English and Chinese: a refusal does not outstay the upload that then went
through, and a message cut at the box's limit says so."""

from __future__ import annotations

import time
from typing import Any

import pytest

from kefu.config import Settings
from tests.browser.console_support import SOCKETS
from tests.browser.test_widget_page import ELF, open_widget
from tests.realtime.live import live_server
from tests.web.browser import png_bytes

# One Chromium per test process, driven from the session's event loop (see conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

SCREENS = [
    pytest.param({"viewport": {"width": 390, "height": 844}, "is_mobile": True,
                  "has_touch": True}, "zh-CN", id="phone-zh-CN"),
    pytest.param({"viewport": {"width": 390, "height": 844}, "is_mobile": True,
                  "has_touch": True}, "en", id="phone-en"),
    pytest.param({"viewport": {"width": 1280, "height": 800}}, "zh-CN", id="desktop-zh-CN"),
    pytest.param({"viewport": {"width": 1280, "height": 800}}, "en", id="desktop-en"),
]
TOO_MANY = {"en": "Attach at most 2 files at a time.", "zh-CN": "每次最多上传 2 个文件。"}
REFUSED = {"en": "“screenshot.png” cannot be sent", "zh-CN": "无法发送“screenshot.png”"}
SHORTENED = {"en": "Shortened to 20,000 characters, the most one message can hold.",
             "zh-CN": "已截断为 20,000 个字符（单条消息的上限）"}
AT_LIMIT = {"en": "This message is at the limit of 20,000 characters.",
            "zh-CN": "本条消息已达到 20,000 个字符的上限"}


@pytest.mark.parametrize(("screen", "lang"), SCREENS)
async def test_a_refusal_is_taken_down_when_the_next_files_go_through(
        dev_settings: Settings, browser: Any, monkeypatch: pytest.MonkeyPatch,
        screen: dict[str, Any], lang: str):
    """QA: "Attach at most 10 files" (or a refused file type) stayed up its full 8 seconds
    while the file chosen next uploaded and was sent: the customer read that their file was
    refused under the message that carried it. Files that go through take the refusal down."""
    from kefu.web import uploads as form_uploads

    monkeypatch.setattr(form_uploads, "MAX_FILES_PER_MESSAGE", 2)
    with live_server(dev_settings) as live:
        errors: list[str] = []
        page, widget = await open_widget(
            browser, f"{live.base}/demo/exchange?customer=e2e-stale-{lang}&lang={lang}", errors,
            **screen)
        files = widget.locator('[data-testid="kefu-file-input"]')
        notice = widget.locator('[data-testid="kefu-notice"]')
        sent = widget.locator('[data-author="customer"][data-state="sent"]')
        # Connected first: the welcome takes down any notice shown before it.
        await widget.locator('[data-testid="kefu-status"][data-state="online"]').wait_for(
            timeout=15_000)

        # Too many at once (the widget's own check), then two that go through.
        await files.set_input_files([
            {"name": f"shot-{n}.png", "mimeType": "image/png", "buffer": png_bytes(4, 3)}
            for n in range(3)])
        await notice.get_by_text(TOO_MANY[lang]).wait_for(timeout=5_000)
        shown = time.monotonic()
        await files.set_input_files([
            {"name": f"shot-{n}.png", "mimeType": "image/png", "buffer": png_bytes(4, 3)}
            for n in range(2)])
        await sent.locator('[data-testid="kefu-attachment"]').first.wait_for(timeout=15_000)
        assert await notice.is_hidden()
        assert time.monotonic() - shown < 7  # well before the notice's 8 s were up

        # A program named like a screenshot (the server refuses it), then a picture.
        await files.set_input_files({"name": "screenshot.png", "mimeType": "image/png",
                                     "buffer": ELF})
        await notice.get_by_text(REFUSED[lang]).wait_for(timeout=15_000)
        shown = time.monotonic()
        await files.set_input_files({"name": "deposit.png", "mimeType": "image/png",
                                     "buffer": png_bytes(4, 3)})
        await sent.filter(has_text="deposit.png").wait_for(timeout=15_000)
        assert await notice.is_hidden()
        assert time.monotonic() - shown < 7
        assert errors == []


@pytest.mark.parametrize(("screen", "lang"), SCREENS)
async def test_a_message_cut_at_the_limit_says_so(
        dev_settings: Settings, browser: Any, screen: dict[str, Any], lang: str):
    """QA: the message box holds 20,000 characters; a paste past that was cut, and typing
    stopped, without a word: the customer sent half a log thinking it was all there. A hint
    under the box (a polite live region the box is described by) says the paste was
    shortened to the limit, or that the message is at it; what fits is kept; under the
    limit again, the hint goes."""
    with live_server(dev_settings) as live:
        errors: list[str] = []
        page, widget = await open_widget(
            browser, f"{live.base}/demo/exchange?customer=e2e-limit-{lang}&lang={lang}", errors,
            **screen)
        await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        box = widget.locator('[data-testid="kefu-input"]')
        hint = widget.locator('[data-testid="kefu-limit-hint"]')
        assert await box.get_attribute("aria-describedby") == await hint.get_attribute("id")
        assert await hint.get_attribute("aria-live") == "polite"

        await box.fill("a" * 19_990)
        assert await hint.inner_text() == ""
        await page.evaluate("text => navigator.clipboard.writeText(text)", "0123456789" * 3)
        await box.focus()
        await page.keyboard.press("End")
        await page.keyboard.press("ControlOrMeta+V")
        assert await box.input_value() == "a" * 19_990 + "0123456789"  # what fits is kept
        assert SHORTENED[lang] in await hint.inner_text()
        above, under = await box.bounding_box(), await hint.bounding_box()
        assert above is not None
        assert under is not None
        assert 0 <= under["y"] - (above["y"] + above["height"]) <= 24, (above, under)
        assert under["y"] + under["height"] <= screen["viewport"]["height"]

        await page.keyboard.press("Backspace")  # under the limit: no hint
        assert await hint.inner_text() == ""
        await page.keyboard.type("xy")  # x fits, y does not
        assert (await box.input_value()).endswith("012345678x")
        assert AT_LIMIT[lang] in await hint.inner_text()

        await page.keyboard.press("Enter")  # sent: an empty box, no hint
        await widget.locator('[data-author="customer"][data-state="sent"]').wait_for(
            timeout=15_000)
        assert await box.input_value() == ""
        assert await hint.inner_text() == ""
        assert errors == []


async def test_a_refusal_outlasts_a_reconnection(dev_settings: Settings, browser: Any):
    """Found with the test above: the connection's welcome took down every notice, so a
    refusal shown while the widget was connecting (just opened, or back from a dropped
    connection) vanished at once. The welcome takes down the connection's own notices only."""
    from kefu.web import uploads as form_uploads

    with live_server(dev_settings) as live:
        errors: list[str] = []
        context = await browser.new_context()
        await context.add_init_script(SOCKETS)
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(f"{live.base}/demo/exchange?customer=e2e-stale-welcome&lang=en")
        widget = page.locator("#kefu-widget")
        await widget.locator('[data-testid="kefu-launcher"]').click()
        online = widget.locator('[data-testid="kefu-status"][data-state="online"]')
        await online.wait_for(timeout=15_000)
        await page.evaluate("window.__sockets.drop()")
        await widget.locator('[data-testid="kefu-status"]:not([data-state="online"])').wait_for()
        count = form_uploads.MAX_FILES_PER_MESSAGE + 1
        await widget.locator('[data-testid="kefu-file-input"]').set_input_files([
            {"name": f"shot-{n}.png", "mimeType": "image/png", "buffer": png_bytes(4, 3)}
            for n in range(count)])
        notice = widget.locator('[data-testid="kefu-notice"]')
        await notice.get_by_text("Attach at most").wait_for(timeout=5_000)
        shown = time.monotonic()
        await page.evaluate("window.__sockets.allow()")
        await online.wait_for(timeout=15_000)
        assert time.monotonic() - shown < 7  # the notice's own 8 s are not up
        assert await notice.is_visible()
        assert errors == []
