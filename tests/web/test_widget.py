"""The chat widget's script, the CORS it needs on other origins, and the demo exchange page."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import select

import kefu.app
from kefu import __version__
from kefu.accounts.models import Customer
from kefu.app import create_app
from kefu.config import Settings
from kefu.db import Database
from kefu.trust.review import start_cooldown
from kefu.web import i18n, widget
from tests.assistant.test_feedback import QUESTION, assistant_jobs
from tests.realtime.live import live_server

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")
DATA_TOKEN = re.compile(r'data-token="([^"]+)"')
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S)
TESTID = re.compile(r'"data-testid": "(kefu-[a-z-]+)"')
ORIGIN = "https://www.exchange.example"


@pytest.fixture
async def dev_app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings.model_copy(update={"env": "development"}))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def dev_client(dev_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=dev_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://kefu.test") as c:
        yield c


def decode(settings: Settings, token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(
        token, settings.customer_jwt_secret.get_secret_value(), algorithms=["HS256"])
    return claims


# ---------------------------------------------------------------- /widget.js


async def test_widget_js_is_javascript_with_the_version_and_revalidation(
    client: httpx.AsyncClient,
):
    response = await client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "max-age=300" in response.headers["cache-control"]
    assert response.headers["access-control-allow-origin"] == "*"
    assert widget.VERSION_PLACEHOLDER not in response.text
    assert f'var VERSION = "{__version__}";' in response.text
    assert "/ws/chat" in response.text
    etag = response.headers["etag"]
    again = await client.get("/widget.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    head = await client.head("/widget.js")
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(response.content))


async def test_widget_js_carries_the_servers_upload_limits(settings: Settings):
    """The widget checks files against what this server's upload endpoint takes (its
    settings), not figures of its own: a change of the settings changes the script and its
    ETag."""
    assert json.loads(widget.widget_uploads(settings)) == {
        "max_bytes": 25 * 1024 * 1024, "max_files": 10,
        "types": {"image/png": [".png"], "image/jpeg": [".jpg", ".jpeg", ".jpe", ".jfif"],
                  "image/gif": [".gif"], "image/webp": [".webp"],
                  "video/mp4": [".mp4", ".m4v"], "video/webm": [".webm"],
                  "video/quicktime": [".mov", ".qt"], "application/pdf": [".pdf"],
                  "text/plain": [".txt", ".log", ".text"]}}
    reduced = settings.model_copy(update={"max_attachment_bytes": 2048,
                                          "allowed_attachment_types": ("image/png",
                                                                       "application/pdf")})
    shipped_etag = None
    for current, expected in ((settings, 25 * 1024 * 1024), (reduced, 2048)):
        application = create_app(current)
        transport = httpx.ASGITransport(app=application)
        async with application.router.lifespan_context(application), httpx.AsyncClient(
                transport=transport, base_url="http://kefu.test") as c:
            response = await c.get("/widget.js")
        assert response.status_code == 200
        assert widget.UPLOADS_PLACEHOLDER not in response.text
        start = response.text.index("var UPLOADS = ") + len("var UPLOADS = ")
        served = json.loads(response.text[start:response.text.index(";\n", start)])
        assert served == json.loads(widget.widget_uploads(current))
        assert served["max_bytes"] == expected
        if shipped_etag is None:
            shipped_etag = response.headers["etag"]
        else:
            assert served["types"] == {"image/png": [".png"], "application/pdf": [".pdf"]}
            assert response.headers["etag"] != shipped_etag


async def test_widget_js_carries_the_servers_files_per_message_limit(
        settings: Settings, monkeypatch: pytest.MonkeyPatch):
    """QA: the widget refused an 11th file by a 10 of its own, the server by
    ``MAX_FILES_PER_MESSAGE``; the script now gets the server's figure, and says it."""
    from kefu.web import uploads

    for limit in (uploads.MAX_FILES_PER_MESSAGE, 3):
        monkeypatch.setattr(uploads, "MAX_FILES_PER_MESSAGE", limit)
        application = create_app(settings)
        async with application.router.lifespan_context(application), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=application),
                base_url="http://kefu.test") as c:
            script = (await c.get("/widget.js")).text
        start = script.index("var UPLOADS = ") + len("var UPLOADS = ")
        assert json.loads(script[start:script.index(";\n", start)])["max_files"] == limit
    source = widget.WIDGET_SCRIPT.read_text(encoding="utf-8")
    assert re.search(r"MAX_FILES\s*=\s*\d", source) is None  # no figure of its own
    assert 'MAX_FILES = typeof UPLOADS.max_files === "number"' in source
    for language in i18n.SUPPORTED:
        assert "{count}" in i18n.catalogue()[language]["widget.tooManyFiles"]


@needs_node
async def test_widget_js_has_no_syntax_error(client: httpx.AsyncClient, tmp_path: Path):
    served = tmp_path / "widget.js"
    served.write_bytes((await client.get("/widget.js")).content)
    for script in (served, widget.WIDGET_DIR / "demo-exchange.js"):
        result = subprocess.run([str(NODE), "--check", str(script)], capture_output=True,
                                text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr


@needs_node
async def test_widget_strings_exist_in_both_languages(client: httpx.AsyncClient, tmp_path: Path):
    """The served widget's dictionary (zh-CN and en, from the catalogs) has the same keys and
    placeholders."""
    served = tmp_path / "widget.js"
    served.write_bytes((await client.get("/widget.js")).content)
    program = r"""
        const fs = require("fs");
        const source = fs.readFileSync(process.argv[1], "utf8");
        const start = source.indexOf("var STRINGS = ") + "var STRINGS = ".length;
        const end = source.indexOf(";\n", start);
        const strings = eval("(" + source.slice(start, end) + ")");
        process.stdout.write(JSON.stringify(strings));
    """
    result = subprocess.run([str(NODE), "-e", program, str(served)],
                            capture_output=True, text=True, timeout=60, check=True)
    strings = json.loads(result.stdout)
    assert set(strings) == {"en", "zh-CN"}
    assert set(strings["en"]) == set(strings["zh-CN"])
    for key, english in strings["en"].items():
        chinese = strings["zh-CN"][key]
        assert chinese, key
        if isinstance(english, str):
            assert set(re.findall(r"\{\w+\}", english)) == set(re.findall(r"\{\w+\}", chinese)), key


def test_every_test_id_is_documented_at_the_top():
    """Browser tests rely on the data-testid list in the header comment: keep it complete."""
    source = widget.WIDGET_SCRIPT.read_text(encoding="utf-8")
    header = source[:source.index("*/")]
    used = set(TESTID.findall(source))
    assert {"kefu-launcher", "kefu-panel", "kefu-input", "kefu-send", "kefu-messages",
            "kefu-message", "kefu-ticket-number", "kefu-queue", "kefu-file-input",
            "kefu-progress", "kefu-rating-star", "kefu-rating-comment", "kefu-rating-submit",
            "kefu-transcript-txt", "kefu-transcript-html", "kefu-status"} <= used
    assert sorted(i for i in used if i not in header) == []
    # Text goes in with textContent, never as HTML.
    html_sinks = re.compile(r"\.(?:inner|outer)HTML\s*=|insertAdjacentHTML|document\.write")
    assert html_sinks.search(source) is None


async def test_widget_stylesheet_is_served(client: httpx.AsyncClient):
    response = await client.get(f"/static/widget/widget.css?v={__version__}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")


# ---------------------------------------------------------------- CORS for other origins


async def test_widget_endpoints_allow_other_origins_without_credentials(
    client: httpx.AsyncClient,
):
    preflight = await client.options("/api/v1/tickets/KF-ABC123/attachments", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "X-Kefu-Visitor" in preflight.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in preflight.headers

    visitor = await client.post("/api/v1/visitors", headers={"Origin": ORIGIN})
    assert visitor.status_code == 201
    assert visitor.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in visitor.headers
    # Errors are readable too (the widget shows their message).
    missing = await client.get("/api/v1/tickets/KF-NOPE00/transcript",
                               headers={"Origin": ORIGIN,
                                        "X-Kefu-Visitor": visitor.json()["token"]})
    assert missing.status_code == 404
    assert missing.headers["access-control-allow-origin"] == "*"


async def test_other_endpoints_get_no_cors(client: httpx.AsyncClient):
    response = await client.options("/api/v1/agents", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in response.headers
    page = await client.get("/help", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in page.headers


# ---------------------------------------------------------------- /demo/exchange


async def test_demo_exchange_embeds_the_widget_with_a_customer_token(
    dev_client: httpx.AsyncClient, dev_app: FastAPI,
):
    response = await dev_client.get("/demo/exchange")
    assert response.status_code == 200
    page = response.text
    assert "DemoEx" in page
    for pair in ("BTC/USDT", "ETH/USDT", "ETH/BTC"):
        assert pair in page
    # One script tag embeds the widget; the page has no inline script (the CSP forbids it).
    scripts = SCRIPT_TAG.findall(page)
    assert all('src="' in attributes and not body.strip() for attributes, body in scripts)
    widget_tags = [a for a, _ in scripts if 'src="/widget.js"' in a]
    assert len(widget_tags) == 1
    assert 'data-lang="en"' in widget_tags[0]
    assert 'data-token-url="/demo/exchange/token?customer=demoex-0001' in widget_tags[0]
    quick = re.search(r"data-quick-questions='([^']*)'", widget_tags[0])
    assert quick is not None
    assert json.loads(quick.group(1))[0] == "My deposit has not arrived"
    match = DATA_TOKEN.search(page)
    assert match is not None
    claims = decode(dev_app.state.settings, match.group(1))
    assert claims["sub"] == widget.DEMO_CUSTOMER_ID
    assert isinstance(claims["exp"], int)
    assert isinstance(claims["iat"], int)
    assert 0 < claims["exp"] - claims["iat"] <= widget.DEMO_TOKEN_LIFETIME_S
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


async def test_demo_exchange_as_another_customer_in_chinese_or_as_a_visitor(
    dev_client: httpx.AsyncClient, dev_app: FastAPI,
):
    chinese = await dev_client.get("/demo/exchange",
                                   params={"customer": "demo-0001", "lang": "zh-CN"})
    assert chinese.status_code == 200
    assert 'data-lang="zh-CN"' in chinese.text
    assert "充值" in chinese.text
    match = DATA_TOKEN.search(chinese.text)
    assert match is not None
    claims = decode(dev_app.state.settings, match.group(1))
    assert (claims["sub"], claims["lang"]) == ("demo-0001", "zh-CN")
    assert 'href="?as=visitor' in chinese.text

    visitor = await dev_client.get("/demo/exchange", params={"as": "visitor"})
    assert visitor.status_code == 200
    assert 'src="/widget.js"' in visitor.text
    assert "data-token" not in visitor.text

    bad = await dev_client.get("/demo/exchange", params={"customer": "<script>"})
    assert bad.status_code == 422


async def test_demo_token_url_renews_the_token(dev_client: httpx.AsyncClient, dev_app: FastAPI):
    response = await dev_client.get("/demo/exchange/token", params={"customer": "demo-0002"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert decode(dev_app.state.settings, response.json()["token"])["sub"] == "demo-0002"


async def test_demo_exchange_is_development_only(client: httpx.AsyncClient, app: FastAPI):
    assert app.state.settings.env == "test"
    page = await client.get("/demo/exchange")
    assert page.status_code == 404
    assert "data-token" not in page.text
    token = await client.get("/demo/exchange/token")
    assert token.status_code == 404
    assert "token" not in token.json().get("error", {}).get("message", "").lower()


# ---------------------------------------------------------------- catalogues


def test_demo_keys_are_in_every_catalogue():
    catalogue = i18n.catalogue()
    english = catalogue["en"]
    demo_keys = {key for key in english if key.startswith("demo.")}
    assert {f"demo.quick.{n}" for n in range(1, 5)} <= demo_keys
    for language in i18n.SUPPORTED:
        assert demo_keys <= set(catalogue[language]), language
        assert set(catalogue[language]) == set(english), language


# ---------------------------------------------------------------- in a real browser

CHROMIUM = Path("/usr/bin/chromium")


def browser_settings(migrated_templates: dict[str, str], tmp_path: Path) -> Settings:
    """A fresh SQLite database for a live server, after checking Chromium is there (skipped
    locally without it; CI must have it)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    shutil.copyfile(migrated_templates["sqlite"], tmp_path / "kefu.db")
    return Settings(env="development", data_dir=tmp_path / "data", log_level="WARNING",
                    database_url=f"sqlite+aiosqlite:///{tmp_path / 'kefu.db'}",
                    jobs_enabled=False, chat_analysis_worker=False)


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """Headless Debian Chromium, closed afterwards."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            yield browser
        finally:
            await browser.close()


async def open_widget(browser: Any, url: str, errors: list[str]) -> tuple[Any, Any]:
    """A new page at ``url`` with the widget's panel open (the page and the widget); page
    errors go to ``errors``."""
    page = await browser.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(url)
    chat = page.locator("#kefu-widget")
    await chat.locator('[data-testid="kefu-launcher"]').click()
    return page, chat


@pytest.mark.browser
async def test_thumbs_down_on_an_assistant_answer_brings_the_next_turn(
    migrated_templates: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
):
    """Headless Chromium on the demo exchange: the assistant answers, the customer clicks 👎,
    the buttons keep the choice and the assistant's next turn arrives live; the hand-off
    message that a second 👎 brings offers no vote, live or after a reload."""
    settings = browser_settings(migrated_templates, tmp_path).model_copy(update={
        "jobs_enabled": True, "jobs_poll_interval_s": 0.1})
    monkeypatch.setattr(kefu.app, "register_assistant_jobs", assistant_jobs)
    with live_server(settings) as live:
        async with chromium() as browser:
            errors: list[str] = []
            page, chat = await open_widget(
                browser, f"{live.base}/demo/exchange?customer=e2e-vote&lang=en", errors)
            await chat.locator('[data-testid="kefu-input"]').fill(QUESTION)
            await chat.locator('[data-testid="kefu-send"]').click()
            answers = chat.locator('[data-testid="kefu-message"][data-author="assistant"]')
            await answers.first.wait_for(timeout=30_000)
            first = answers.first
            # No buttons under the customer's own message.
            assert await chat.locator('[data-author="customer"] [data-testid="kefu-feedback"]'
                                      ).count() == 0
            down = first.locator('[data-testid="kefu-not-helpful"]')
            up = first.locator('[data-testid="kefu-helpful"]')
            assert await down.get_attribute("aria-label") == "This answer did not help"
            assert await up.get_attribute("aria-label") == "This answer helped"
            await down.click()

            await answers.nth(1).wait_for(timeout=30_000)
            assert "closer to your question" in await answers.nth(1).inner_text()
            await first.locator('[data-testid="kefu-feedback-thanks"]').wait_for()
            feedback = first.locator('[data-testid="kefu-feedback"]')
            assert await feedback.get_attribute("data-vote") == "not-helpful"
            assert await down.get_attribute("aria-pressed") == "true"
            assert await up.get_attribute("aria-pressed") == "false"
            assert await down.is_disabled()
            assert await up.is_disabled()
            # The new answer can be rated in its turn.
            assert await answers.nth(1).locator('[data-testid="kefu-helpful"]').is_enabled()

            # Its 👎 hands off: no buttons under the hand-off message, live or replayed.
            await answers.nth(1).locator('[data-testid="kefu-not-helpful"]').click()
            await answers.nth(2).wait_for(timeout=30_000)
            assert "support team" in await answers.nth(2).inner_text()
            votes = chat.locator('[data-author="assistant"] [data-testid="kefu-feedback"]')
            assert await votes.count() == 2
            await page.reload()  # the widget rejoins the conversation from seq 0
            await answers.nth(2).wait_for(state="attached", timeout=30_000)
            assert await answers.count() == 3
            assert await votes.count() == 2
            assert await answers.nth(2).locator('[data-testid="kefu-feedback"]').count() == 0
            assert errors == []


@pytest.mark.browser
async def test_a_customer_in_a_cool_down_is_told_when_they_may_write_again(
    migrated_templates: dict[str, str], tmp_path: Path,
):
    """The server refuses a send with ``cooling_down``: the widget says in how many minutes
    the customer may write again, in their language, and marks the message not sent."""
    settings = browser_settings(migrated_templates, tmp_path)
    with live_server(settings) as live:
        async with chromium() as browser:
            errors: list[str] = []
            _, chat = await open_widget(
                browser, f"{live.base}/demo/exchange?customer=e2e-cool&lang=en", errors)
            await chat.locator('[data-testid="kefu-input"]').fill("My deposit is late")
            await chat.locator('[data-testid="kefu-send"]').click()
            await chat.locator('[data-author="customer"][data-state="sent"]').wait_for()

            db = Database(settings.resolved_database_url)
            try:
                async with db.transaction() as session:
                    customer = await session.scalar(
                        select(Customer).where(Customer.external_id == "e2e-cool"))
                    assert customer is not None
                    await start_cooldown(session, None, customer_id=customer.id,
                                         duration=timedelta(minutes=15), reason="test")
            finally:
                await db.dispose()

            await chat.locator('[data-testid="kefu-input"]').fill("hello?")
            await chat.locator('[data-testid="kefu-send"]').click()
            notice = chat.locator('[data-testid="kefu-notice"]')
            await notice.get_by_text("You can send messages again in 15 minutes.").wait_for()
            failed = chat.locator('[data-author="customer"][data-state="failed"]')
            await failed.wait_for()
            assert "hello?" in await failed.inner_text()

            _, chat_zh = await open_widget(
                browser, f"{live.base}/demo/exchange?customer=e2e-cool&lang=zh-CN", errors)
            await chat_zh.locator('[data-testid="kefu-message"]').first.wait_for()
            await chat_zh.locator('[data-testid="kefu-input"]').fill("你好？")
            await chat_zh.locator('[data-testid="kefu-send"]').click()
            await chat_zh.locator('[data-testid="kefu-notice"]').get_by_text(
                "您可以在 15 分钟后再次发送消息。").wait_for()
            assert errors == []
