"""The customer portal in headless Chromium: what its pages' script does for the reader."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.factories import bearer, customer_token
from tests.realtime.live import LiveServer

# One Chromium per test process, driven from the session's event loop (see conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def ticket_and_sign_in(live: LiveServer, external_id: str) -> tuple[str, str]:
    """A ticket of the customer ``external_id`` (Lin) opened through the API, and a one-time
    sign-in token for the portal."""
    api_token = customer_token(live.settings, external_id, name="Lin", lang="en")
    async with httpx.AsyncClient(base_url=f"{live.base}/api/v1") as api:
        created = await api.post("/tickets", headers=bearer(api_token), json={
            "subject": "Withdrawal pending", "body": "Where is my withdrawal?",
            "language": "en", "channel": "portal"})
        assert created.status_code == 201, created.text
    sign_in = customer_token(live.settings, external_id, name="Lin", lang="en", jti=external_id)
    return created.json()["number"], sign_in


async def test_the_transcript_links_carry_the_browsers_time_zone(dev_live: LiveServer,
                                                                 browser: Any):
    """QA: the portal shows local times, but its transcript links downloaded the file in UTC
    (the widget sends the browser's zone). kefu.js adds it to the links; the file's times are
    the page's."""
    number, sign_in = await ticket_and_sign_in(dev_live, "portal-zone")

    context = await browser.new_context(timezone_id="Asia/Shanghai", accept_downloads=True)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    response = await page.goto(f"{dev_live.base}/portal/sso?token={sign_in}")
    assert response is not None
    assert response.status == 200
    response = await page.goto(f"{dev_live.base}/portal/tickets/{number}")
    assert response is not None
    assert response.status == 200

    # The page's message time, localized by kefu.js: 8 h ahead of the UTC the server wrote.
    when = page.locator(".msg-time time").first
    stamp = await when.get_attribute("datetime")
    assert stamp
    local = datetime.fromisoformat(stamp).astimezone(ZoneInfo("Asia/Shanghai"))
    # an English page: en-US's 12-hour clock ("13:14" only matched before 13:00 in Shanghai)
    assert await when.text_content() == local.strftime("%m/%d/%Y, %I:%M %p")
    assert await when.get_attribute("title") == \
        datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M UTC")

    async with page.expect_download() as waiting:
        await page.locator('[data-testid="transcript-txt"]').click()
    download = await waiting.value
    text = Path(await download.path()).read_text(encoding="utf-8")
    assert "Time zone: Asia/Shanghai (UTC+08:00)" in text
    assert f"[{local.strftime('%Y-%m-%d %H:%M:%S')}] " in text
    html_link = page.locator('[data-testid="transcript-html"]')
    assert "tz=Asia%2FShanghai" in (await html_link.get_attribute("href") or "")
    assert errors == []


async def test_a_zone_the_server_does_not_know_still_downloads_the_transcript(
        dev_live: LiveServer, browser: Any):
    """QA: a browser zone the server's time zone database lacks made the transcript link
    answer 422, and the browser saved the JSON error as the file. The link asks for UTC in that
    case; the file is the transcript, its header saying why it is in UTC."""
    number, sign_in = await ticket_and_sign_in(dev_live, "portal-mars")

    context = await browser.new_context(accept_downloads=True)
    # A zone newer than the server's tzdata, as a browser with a fresher ICU may name it.
    await context.add_init_script("""(() => {
      const resolved = Intl.DateTimeFormat.prototype.resolvedOptions;
      Intl.DateTimeFormat.prototype.resolvedOptions = function () {
        return Object.assign(resolved.call(this), {timeZone: "Mars/Olympus_Mons"});
      };
    })();""")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    response = await page.goto(f"{dev_live.base}/portal/sso?token={sign_in}")
    assert response is not None
    assert response.status == 200
    await page.goto(f"{dev_live.base}/portal/tickets/{number}")
    assert "tz=Mars%2FOlympus_Mons" in (
        await page.locator('[data-testid="transcript-txt"]').get_attribute("href") or "")

    async with page.expect_download() as waiting:
        await page.locator('[data-testid="transcript-txt"]').click()
    download = await waiting.value
    text = Path(await download.path()).read_text(encoding="utf-8")
    assert text.startswith(f"{number}: Withdrawal pending\n"), text
    assert ("Time zone: UTC (your browser's time zone Mars/Olympus_Mons is not known to this "
            "server)") in text
    assert "Where is my withdrawal?" in text
    assert errors == []
