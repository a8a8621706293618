"""The chat widget's message box and its notices in headless Chromium, on a phone and on a
desktop, in English and Chinese: a refusal does not outstay the upload that then went
through, and a message cut at the box's limit says so."""

from __future__ import annotations

import time
from typing import Any

import pytest

from kefu.config import Settings
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
