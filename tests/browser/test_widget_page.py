"""The chat widget on the demo exchange in headless Chromium: the assistant's name and upload
refusals in the customer's language, and the page and the open panel on a phone's screen."""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from kefu.assistant.service import ASSISTANT
from kefu.config import Settings
from kefu.tickets.messages import add_message
from kefu.tickets.models import Message, Ticket
from tests.browser.console_support import SOCKETS
from tests.factories import api_token, bearer, make_agent
from tests.realtime.live import Client, LiveServer, factory_app, live_server
from tests.web.browser import png_bytes

# One Chromium per test process, driven from the session's event loop (see conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

# The start of an x86-64 ELF executable: the server sniffs "application/x-executable".
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x02\x00\x3e\x00" + b"\x00" * 200


async def open_widget(browser: Any, url: str, errors: list[str], **context: Any) -> tuple[Any, Any]:
    """A new page at ``url`` with the widget's panel open (the page and the widget); page
    errors go to ``errors``."""
    page = await (await browser.new_context(**context)).new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(url)
    widget = page.locator("#kefu-widget")
    await widget.locator('[data-testid="kefu-launcher"]').click()
    await widget.locator('[data-testid="kefu-panel"]').wait_for()
    return page, widget


async def first_message(widget: Any, text: str) -> str:
    """Send the conversation's first message from the open panel; its ticket number once the
    server has acknowledged it."""
    await widget.locator('[data-testid="kefu-input"]').fill(text)
    await widget.locator('[data-testid="kefu-send"]').click()
    await widget.locator('[data-author="customer"][data-state="sent"]').wait_for(timeout=15_000)
    return (await widget.locator('[data-testid="kefu-ticket-number"]').inner_text()).strip()


async def test_the_assistant_is_named_in_the_widget_language(dev_live: LiveServer, browser: Any):
    """The server names the assistant by its kind ("assistant"); the zh-CN widget says 智能助手."""
    live = dev_live
    errors: list[str] = []
    page, widget = await open_widget(
        browser, f"{live.base}/demo/exchange?customer=e2e-named&lang=zh-CN", errors)
    number = await first_message(widget, "充值未到账")
    async with factory_app(live) as app, app.state.db.transaction() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        await add_message(session, ticket, ASSISTANT, body="充值通常需要 20 个区块确认。")

    await page.reload()  # the widget rejoins and gets the conversation again
    answer = widget.locator('[data-testid="kefu-message"][data-author="assistant"]')
    await answer.wait_for(timeout=15_000)
    assert await answer.locator(".msg-name").inner_text() == "智能助手"
    assert errors == []


async def test_links_in_answers_open_and_a_long_answer_is_shown_from_its_start(
        dev_live: LiveServer, browser: Any):
    """Answers name help articles and identity checks by their path on the Kefu server (the
    assistant's do): in the widget they are links to that server (the widget sits on the
    exchange's own pages). A long answer arriving while the customer is at the end of the
    conversation is scrolled to, from its first line. The customer's own text stays text."""
    live = dev_live
    errors: list[str] = []
    page, widget = await open_widget(
        browser, f"{live.base}/demo/exchange?customer=e2e-links&lang=en", errors,
        viewport={"width": 375, "height": 700})
    number = await first_message(widget, "see /help/en/articles/mine please")
    long_answer = ("Reset two-factor authentication: /verify/identity/AbC_123-xyz. More: "
                   "/help/en/articles/reset-two-factor-authentication.\n"
                   + "\n".join(f"Step {i}: follow the instructions." for i in range(40)))
    async with factory_app(live) as app:  # a supervisor answers through the live server
        token = await api_token(app, await make_agent(app, "sup@kefu.test", role="supervisor"))
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        sent = await client.post(f"/api/v1/tickets/{number}/replies", headers=bearer(token),
                                 json={"body": long_answer})
        assert sent.status_code == 201, sent.text

    answer = widget.locator('[data-testid="kefu-message"][data-author="agent"]')
    await answer.wait_for(timeout=15_000)
    links = answer.locator('[data-testid="kefu-link"]')
    assert await links.evaluate_all("(nodes) => nodes.map((a) => a.href)") == [
        f"{live.base}/verify/identity/AbC_123-xyz",
        f"{live.base}/help/en/articles/reset-two-factor-authentication"]
    assert await links.first.get_attribute("target") == "_blank"
    assert "noopener" in (await links.first.get_attribute("rel") or "")
    mine = widget.locator('[data-testid="kefu-message"][data-author="customer"]')
    assert await mine.locator("a").count() == 0
    # The answer's first line is in view.
    await page.wait_for_timeout(300)
    box = await widget.locator(".scroll").bounding_box()
    top = await answer.locator(".msg-body").bounding_box()
    assert box is not None
    assert top is not None
    assert box["y"] <= top["y"] < box["y"] + box["height"], (box, top)
    assert errors == []


async def test_an_upload_the_server_refuses_is_explained_in_the_widget_language(
    dev_settings: Settings, browser: Any
):
    """The server's refusals are English ("files of type … are not accepted"): the zh-CN
    widget says why in Chinese, by the refusal's code."""
    settings = dev_settings.model_copy(update={"max_attachment_bytes": 512})
    with live_server(settings) as live:
        errors: list[str] = []
        page, widget = await open_widget(
            browser, f"{live.base}/demo/exchange?customer=e2e-upload&lang=zh-CN", errors)
        files = widget.locator('[data-testid="kefu-file-input"]')
        notice = widget.locator('[data-testid="kefu-notice"]')

        # A program named like a screenshot: the server sniffs the bytes and refuses the type.
        await files.set_input_files({"name": "screenshot.png", "mimeType": "image/png",
                                     "buffer": ELF})
        await notice.get_by_text(
            "无法发送“screenshot.png”：请上传以下类型的文件：PNG、JPG、GIF、WEBP、MP4、WEBM、MOV、"
            "PDF、TXT。").wait_for(timeout=15_000)
        assert "accepted" not in await notice.inner_text()

        # Larger than the server takes (the widget knows the server's limit and says it).
        await files.set_input_files({"name": "big.png", "mimeType": "image/png",
                                     "buffer": png_bytes(320, 200)})
        await notice.get_by_text("“big.png”超过 512 B").wait_for(timeout=15_000)
        assert "bytes" not in await notice.inner_text()

        # Anything else: a plain "upload failed", not the server's English.
        await page.route("**/attachments", lambda route: route.fulfill(
            status=503, content_type="application/json",
            body='{"error": {"code": "unavailable", "message": "storage is unavailable"}}'))
        await files.set_input_files({"name": "small.png", "mimeType": "image/png",
                                     "buffer": png_bytes(4, 3)})
        await notice.get_by_text("文件上传失败，请重试。").wait_for(timeout=15_000)
        assert "unavailable" not in await notice.inner_text()
        assert errors == []


async def test_the_widget_holds_files_to_the_servers_limits(dev_settings: Settings,
                                                             browser: Any):
    """An operator's limits (a 2 KB cap, PNG and PDF only) reach the widget: the file picker
    offers exactly those types, and a file over the cap or of another type (a HEIC photo) is
    refused in the widget with the server's figures, before anything is uploaded."""
    settings = dev_settings.model_copy(update={
        "max_attachment_bytes": 2048, "allowed_attachment_types": ("image/png", "application/pdf")})
    with live_server(settings) as live:
        errors: list[str] = []
        page, widget = await open_widget(
            browser, f"{live.base}/demo/exchange?customer=e2e-limits&lang=en", errors)
        uploads: list[str] = []
        page.on("request", lambda request: uploads.append(request.url)
                if request.url.endswith("/attachments") else None)
        files = widget.locator('[data-testid="kefu-file-input"]')
        notice = widget.locator('[data-testid="kefu-notice"]')
        assert await files.get_attribute("accept") == "image/png,.png,application/pdf,.pdf"

        await files.set_input_files({"name": "big.png", "mimeType": "image/png",
                                     "buffer": png_bytes(4, 3) + bytes(3000)})
        await notice.get_by_text("“big.png” is larger than 2 KB.").wait_for(timeout=15_000)
        await files.set_input_files({"name": "photo.heic", "mimeType": "image/heic",
                                     "buffer": b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64})
        await notice.get_by_text(
            "“photo.heic” cannot be sent: use a file of one of these types: PNG, PDF."
        ).wait_for(timeout=15_000)
        assert uploads == []
        assert errors == []


async def test_the_widget_holds_a_message_to_the_servers_files_limit(
        dev_settings: Settings, browser: Any, monkeypatch: pytest.MonkeyPatch):
    """QA: the widget counted files against a 10 of its own. With the server's
    ``MAX_FILES_PER_MESSAGE`` at 2, three files are refused in the widget with that figure,
    before anything is uploaded."""
    from kefu.web import uploads as form_uploads

    monkeypatch.setattr(form_uploads, "MAX_FILES_PER_MESSAGE", 2)
    with live_server(dev_settings) as live:
        errors: list[str] = []
        page, widget = await open_widget(
            browser, f"{live.base}/demo/exchange?customer=e2e-files&lang=en", errors)
        uploads: list[str] = []
        page.on("request", lambda request: uploads.append(request.url)
                if request.url.endswith("/attachments") else None)
        await widget.locator('[data-testid="kefu-file-input"]').set_input_files([
            {"name": f"shot-{n}.png", "mimeType": "image/png", "buffer": png_bytes(4, 3)}
            for n in range(3)])
        notice = widget.locator('[data-testid="kefu-notice"]')
        await notice.get_by_text("Attach at most 2 files at a time.").wait_for(timeout=15_000)
        assert uploads == []
        assert errors == []


async def test_the_transcript_is_in_the_browsers_time_zone(dev_live: LiveServer, browser: Any):
    """QA: the widget shows local times, its transcript download printed UTC. The widget
    sends the browser's time zone; the file's times are in it and its header names it."""
    errors: list[str] = []
    page, widget = await open_widget(
        browser, f"{dev_live.base}/demo/exchange?customer=e2e-zone&lang=en", errors,
        timezone_id="Asia/Shanghai", accept_downloads=True)
    await first_message(widget, "Where is my withdrawal?")
    async with page.expect_download() as waiting:
        await widget.locator('[data-testid="kefu-transcript-txt"]').click()
    download = await waiting.value
    text = Path(await download.path()).read_text(encoding="utf-8")
    assert "Time zone: Asia/Shanghai (UTC+08:00)" in text
    # The message's time as the widget showed it (its <time>, in the browser's zone).
    stamp = await widget.locator('[data-author="customer"] time').first.get_attribute("datetime")
    assert stamp
    sent = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    local = sent.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    assert f"[{local}] " in text
    assert errors == []


PHONE = {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}


@pytest.mark.parametrize("query", ["customer=e2e-phone-customer-0001&lang=zh-CN",
                                   "customer=e2e-0001&lang=en", "as=visitor&lang=en"])
async def test_the_demo_exchange_and_the_open_panel_fit_a_phone(
    dev_live: LiveServer, browser: Any, query: str
):
    """Nothing on the page is wider than a 375 px phone, so the phone keeps its 375 px layout
    and the widget's full-screen panel is on the screen, not cut off at its right."""
    errors: list[str] = []
    page = await (await browser.new_context(**PHONE)).new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{dev_live.base}/demo/exchange?{query}")
    widget = page.locator("#kefu-widget")
    launcher = widget.locator('[data-testid="kefu-launcher"]')
    await launcher.wait_for()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    assert await page.evaluate("window.innerWidth") == 375
    await launcher.click()
    panel = widget.locator('[data-testid="kefu-panel"]')
    await panel.wait_for()
    box = await panel.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["y"] >= 0
    assert box["x"] + box["width"] <= 375
    assert box["y"] + box["height"] <= 667
    assert await widget.locator('[data-testid="kefu-input"]').is_visible()
    send = await widget.locator('[data-testid="kefu-send"]').bounding_box()
    assert send is not None
    assert send["x"] + send["width"] <= 375
    assert errors == []


WORDS = ("deposit", "withdrawal", "network", "address", "memo", "confirmations", "futures",
         "margin", "funding", "staking", "voucher", "referral", "passport", "selfie", "limit")


async def test_a_burst_of_messages_is_stored_in_the_order_typed(
        dev_live: LiveServer, browser: Any):
    """More sends than the connection's rate allows at once: the server refuses some for a
    moment, and the widget sends them again without letting later ones overtake them."""
    errors: list[str] = []
    refused: list[str] = []
    page = await (await browser.new_context()).new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: refused.append(frame)
                                          if "rate_limited" in str(frame) else None))
    await page.goto(f"{dev_live.base}/demo/exchange?customer=e2e-burst&lang=en")
    widget = page.locator("#kefu-widget")
    await widget.locator('[data-testid="kefu-launcher"]').click()
    await widget.locator('[data-testid="kefu-panel"]').wait_for()
    bodies = [f"{i:02d} {WORDS[i % 15]} {WORDS[(i * 7) % 15]} {i * 37 % 101}" for i in range(45)]
    await page.evaluate("""(bodies) => {
        const root = document.querySelector('#kefu-widget').shadowRoot;
        const input = root.querySelector('[data-testid="kefu-input"]');
        const send = root.querySelector('[data-testid="kefu-send"]');
        bodies.forEach((body, i) => setTimeout(() => {  // typed fast, not all at once
            input.value = body;
            input.dispatchEvent(new Event('input', {bubbles: true}));  // "typing…" frames
            send.click();
        }, i * 25));
    }""", bodies)
    await widget.get_by_text("You are sending quickly").wait_for(timeout=15_000)
    await page.wait_for_function("""n => document.querySelector('#kefu-widget').shadowRoot
        .querySelectorAll('[data-author="customer"]:is([data-state="sent"], [data-state="read"])')
        .length >= n""", arg=len(bodies), timeout=60_000)
    number = (await widget.locator('[data-testid="kefu-ticket-number"]').inner_text()).strip()
    async with factory_app(dev_live) as app, app.state.db.transaction() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        stored = list(await session.scalars(
            select(Message.body).where(Message.ticket_id == ticket.id,
                                       Message.author_kind == "customer").order_by(Message.seq)))
    assert stored == bodies
    # Refused sends wait out the pause: a handful, not a retry storm (it was 59-563 here).
    assert 0 < sum('"ref"' in str(frame) for frame in refused) <= 10
    assert errors == []


async def test_unsent_messages_and_the_draft_survive_a_reload(dev_live: LiveServer, browser: Any):
    """A message written while the socket is down, and a half-typed one, are still there after
    the customer reloads the page: the first goes out (once), the second is in the box."""
    errors: list[str] = []
    context = await browser.new_context()
    await context.add_init_script(SOCKETS)
    page = await context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{dev_live.base}/demo/exchange?customer=e2e-reload&lang=en")
    widget = page.locator("#kefu-widget")
    await widget.locator('[data-testid="kefu-launcher"]').click()
    box = widget.locator('[data-testid="kefu-input"]')
    await box.fill("My USDT deposit has not arrived")
    await widget.locator('[data-testid="kefu-send"]').click()
    await widget.locator('[data-author="customer"][data-state="sent"]').wait_for(timeout=15_000)

    await page.evaluate("window.__sockets.drop()")
    await widget.locator('[data-testid="kefu-status"]:not([data-state="online"])').wait_for()
    await box.fill("The TxID is 0xabc123, sent two hours ago")
    await widget.locator('[data-testid="kefu-send"]').click()
    await widget.locator('[data-author="customer"][data-state="sending"]').wait_for()
    await box.fill("Also, which network should")

    # Reloaded while the connection still cannot be made: both are there at once.
    await page.evaluate("window.__sockets.refuseAfterReload()")
    await page.reload()
    await widget.locator('[data-testid="kefu-panel"]').wait_for(timeout=15_000)
    await widget.locator('[data-author="customer"]', has_text="The TxID is 0xabc123").wait_for(
        timeout=5_000)
    assert await box.input_value() == "Also, which network should"
    await page.evaluate("window.__sockets.allow()")
    away = widget.locator('[data-author="customer"]', has_text="The TxID is 0xabc123")
    await away.and_(widget.locator('[data-state="sent"], [data-state="read"]')).wait_for(
        timeout=20_000)
    assert await away.count() == 1
    assert await box.input_value() == "Also, which network should"
    number = (await widget.locator('[data-testid="kefu-ticket-number"]').inner_text()).strip()
    async with factory_app(dev_live) as app, app.state.db.transaction() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        bodies = list(await session.scalars(select(Message.body).where(
            Message.ticket_id == ticket.id, Message.author_kind == "customer")))
    assert bodies.count("The TxID is 0xabc123, sent two hours ago") == 1
    assert errors == []


async def test_read_receipts_are_still_there_after_a_reload(dev_live: LiveServer, browser: Any):
    """Support's read point is stored: the customer's messages an agent read show "Read"
    again when the page is reloaded, not "Sent"."""
    live = dev_live
    errors: list[str] = []
    page, widget = await open_widget(
        browser, f"{live.base}/demo/exchange?customer=e2e-read&lang=en", errors)
    await widget.locator('[data-testid="kefu-input"]').fill("My withdrawal is still pending")
    await widget.locator('[data-testid="kefu-send"]').click()
    mine = widget.locator('[data-author="customer"]', has_text="My withdrawal is still pending")
    await mine.and_(widget.locator('[data-state="sent"]')).wait_for(timeout=15_000)
    number = (await widget.locator('[data-testid="kefu-ticket-number"]').inner_text()).strip()
    async with factory_app(live) as app:
        token = await api_token(app, await make_agent(app, "sup@kefu.test", role="supervisor"))
    agent = await Client.connect(f"{live.ws_base}/ws/agent", {"token": token})
    await agent.wait_type("welcome")
    await agent.send({"type": "subscribe", "ticket": number, "since": 0})
    message = await agent.wait_type("message", body="My withdrawal is still pending")
    await agent.send({"type": "read", "ticket": number, "seq": message["seq"]})
    await mine.and_(widget.locator('[data-state="read"]')).wait_for(timeout=15_000)
    await agent.close()

    await page.reload()  # the panel stays open across the reload
    await widget.locator('[data-testid="kefu-panel"]').wait_for(timeout=15_000)
    await mine.and_(widget.locator('[data-state="read"]')).wait_for(timeout=15_000)
    assert errors == []


async def test_a_reply_seen_while_offline_is_marked_read_when_the_connection_is_back(
        dev_live: LiveServer, browser: Any):
    """The panel was opened while the network was down: the read could not go then, and goes
    as soon as the widget has rejoined."""
    live = dev_live
    errors: list[str] = []
    page, widget = await open_widget(
        browser, f"{live.base}/demo/exchange?customer=e2e-offline-read&lang=en", errors)
    number = await first_message(widget, "My withdrawal is still pending")
    await widget.locator('[data-testid="kefu-launcher"]').click()  # closed: nothing is seen
    await widget.locator('[data-testid="kefu-panel"]').wait_for(state="hidden")
    async with factory_app(live) as app:
        token = await api_token(app, await make_agent(app, "sup@kefu.test", role="supervisor"))
    agent = await Client.connect(f"{live.ws_base}/ws/agent", {"token": token})
    await agent.wait_type("welcome")
    await agent.send({"type": "subscribe", "ticket": number, "since": 0})
    await agent.wait_type("subscribed")
    await agent.send({"type": "send", "ticket": number, "client_msg_id": "r1",
                      "body": "Which network did you use?"})
    reply = await agent.wait_type("ack", client_msg_id="r1")
    await widget.locator('[data-testid="kefu-unread"]').wait_for(timeout=15_000)
    await page.context.set_offline(True)
    await widget.locator('[data-testid="kefu-status"]:not([data-state="online"])').wait_for(
        state="attached")
    await widget.locator('[data-testid="kefu-launcher"]').click()
    await widget.get_by_text("Which network did you use?").wait_for()
    await page.wait_for_timeout(500)
    assert not [f for f in agent.frames if f.get("type") == "read"]
    await page.context.set_offline(False)
    read = await agent.wait_type("read", timeout=20)
    assert read["seq"] >= reply["seq"]
    assert read["by"]["kind"] == "customer"
    await agent.close()
    assert errors == []


SEED = ("abandon ability able about above absent absorb abstract absurd abuse access "
        "accident")


async def test_what_the_guard_hid_is_named_in_the_customers_language(
        dev_live: LiveServer, browser: Any):
    """The stored marker ([REDACTED seed_phrase]) is the guard's; the customer reads what was
    hidden in their own words."""
    errors: list[str] = []
    page, widget = await open_widget(
        browser, f"{dev_live.base}/demo/exchange?customer=e2e-seed&lang=zh-CN", errors)
    await widget.locator('[data-testid="kefu-input"]').fill(f"我的助记词是 {SEED} 帮我找回钱包")
    await widget.locator('[data-testid="kefu-send"]').click()
    mine = widget.locator('[data-author="customer"]', has_text="帮我找回钱包")
    await mine.get_by_text("[已隐藏：助记词]").wait_for(timeout=15_000)
    assert "REDACTED" not in await mine.inner_text()
    assert "abandon" not in await mine.inner_text()
    assert errors == []


async def test_a_network_notice_says_which_network_it_is_about(
        dev_live: LiveServer, browser: Any):
    """QA: the status banner showed a network entry by its title only ("Ethereum upgrade"):
    it now names the coin, network and direction and their state, in the widget's language.
    A title that names its network already is left as it is."""
    async with factory_app(dev_live) as app:
        token = await api_token(app, await make_agent(app, "ops@kefu.test"))
    async with httpx.AsyncClient(base_url=dev_live.base, timeout=30) as client:
        for entry in ({"kind": "network", "state": "suspended", "coin": "ETH",
                       "network": "ERC20", "direction": "withdrawal",
                       "titles": {"en": "Ethereum upgrade", "zh-CN": "以太坊升级"}},
                      {"kind": "network", "state": "delayed", "coin": "USDT",
                       "network": "TRC20", "direction": "deposit",
                       "titles": {"en": "TRC20 deposits slow"}}):
            posted = await client.post("/api/v1/status", headers=bearer(token), json=entry)
            assert posted.status_code == 201, posted.text
    errors: list[str] = []
    for lang, expected in (("en", ["Ethereum upgrade (ETH ERC20 withdrawals: suspended)",
                                   "TRC20 deposits slow"]),
                           ("zh-CN", ["以太坊升级（ETH ERC20 提币：暂停）"])):
        _page, widget = await open_widget(
            browser, f"{dev_live.base}/demo/exchange?customer=e2e-status&lang={lang}", errors)
        banner = widget.locator('[data-testid="kefu-service-status"]')
        await banner.wait_for(timeout=10_000)
        text = await banner.inner_text()
        for line in expected:
            assert line in text, text
    assert errors == []


# QA pass on the widget's accessibility and its status banner: focus, announcements, the
# rating stars' contrast, whole-word network names and the launcher's name.

SHADOW = "document.querySelector('#kefu-widget').shadowRoot"
FOCUSED = f"""() => {{
    const active = {SHADOW}.activeElement;
    return {{page: document.activeElement && document.activeElement.id,
             widget: active && (active.dataset.testid || active.tagName)}};
}}"""


async def set_ticket_status(live: LiveServer, token: str, number: str, status: str) -> None:
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        changed = await client.post(f"/api/v1/tickets/{number}/status", headers=bearer(token),
                                    json={"status": status})
        assert changed.status_code == 200, changed.text


async def supervisor_token(live: LiveServer) -> str:
    async with factory_app(live) as app:
        return await api_token(app, await make_agent(app, "sup@kefu.test", role="supervisor"))


async def test_focus_stays_on_attach_while_a_file_uploads(dev_live: LiveServer, browser: Any):
    """QA: Attach was disabled while it uploaded, which sent keyboard focus to the page's
    <body> for good. It is only aria-disabled now: focus stays, a press does nothing."""
    errors: list[str] = []
    page, widget = await open_widget(
        browser, f"{dev_live.base}/demo/exchange?customer=e2e-attach-focus&lang=en", errors)

    async def slow(route: Any) -> None:
        await page.wait_for_timeout(1500)
        await route.continue_()

    await page.route("**/attachments", slow)
    choosers: list[Any] = []
    page.on("filechooser", lambda chooser: choosers.append(chooser))
    attach = widget.locator('[data-testid="kefu-attach"]')
    await attach.focus()
    await widget.locator('[data-testid="kefu-file-input"]').set_input_files(
        {"name": "deposit.png", "mimeType": "image/png", "buffer": png_bytes(4, 3)})
    await widget.locator('[data-testid="kefu-upload"]').wait_for(timeout=15_000)
    assert await page.evaluate(FOCUSED) == {"page": "kefu-widget", "widget": "kefu-attach"}
    assert await attach.get_attribute("aria-disabled") == "true"
    await page.keyboard.press("Enter")  # busy: no second file dialog
    sent = widget.locator('[data-author="customer"][data-state="sent"]')
    await sent.locator('[data-testid="kefu-attachment"]').wait_for(timeout=15_000)
    await widget.locator('[data-testid="kefu-upload"]').wait_for(state="hidden")
    assert choosers == []
    assert await attach.get_attribute("aria-disabled") is None
    assert await page.evaluate(FOCUSED) == {"page": "kefu-widget", "widget": "kefu-attach"}
    assert errors == []


async def test_closing_the_ticket_moves_focus_out_of_the_composer(
        dev_live: LiveServer, browser: Any):
    """QA: the agent closed the ticket while the customer was typing; the disabled message box
    dropped focus to <body>. Focus goes to the rating form, or once rated to "start a new
    conversation"."""
    errors: list[str] = []
    page, widget = await open_widget(
        browser, f"{dev_live.base}/demo/exchange?customer=e2e-close-focus&lang=en", errors)
    token = await supervisor_token(dev_live)
    box = widget.locator('[data-testid="kefu-input"]')

    # Not rated yet: to the rating's star.
    number = await first_message(widget, "My deposit has not arrived")
    await set_ticket_status(dev_live, token, number, "resolved")
    await widget.locator('[data-testid="kefu-rating"]').wait_for(timeout=15_000)
    await box.fill("One more thing")
    await set_ticket_status(dev_live, token, number, "closed")
    await widget.locator('[data-testid="kefu-input"]:disabled').wait_for(timeout=15_000)
    await page.wait_for_timeout(200)
    assert await page.evaluate(FOCUSED) == {"page": "kefu-widget",
                                            "widget": "kefu-rating-star"}

    # Rated: to "start a new conversation"; from there a new conversation begins.
    await page.keyboard.press("ArrowRight")  # chooses a star
    await widget.locator('[data-testid="kefu-rating-submit"]').click()
    await widget.locator('[data-testid="kefu-rating-thanks"]').wait_for(timeout=15_000)
    await widget.locator('[data-testid="kefu-new-conversation"]').click()
    await box.wait_for()
    await widget.locator('[data-testid="kefu-input"]:enabled').wait_for(timeout=15_000)
    second = await first_message(widget, "And my withdrawal too")
    assert second != number
    await set_ticket_status(dev_live, token, second, "resolved")
    await widget.locator('[data-testid="kefu-rating"]').wait_for(timeout=15_000)
    await widget.locator('[data-testid="kefu-rating-star"][data-score="4"]').click()
    await widget.locator('[data-testid="kefu-rating-submit"]').click()
    await widget.locator('[data-testid="kefu-rating-thanks"]').wait_for(timeout=15_000)
    await box.focus()
    await set_ticket_status(dev_live, token, second, "closed")
    await widget.locator('[data-testid="kefu-input"]:disabled').wait_for(timeout=15_000)
    await page.wait_for_timeout(200)
    assert await page.evaluate(FOCUSED) == {"page": "kefu-widget",
                                            "widget": "kefu-new-conversation"}
    assert errors == []


LIVE_REGIONS = "[aria-live], [role=status], [role=log], [role=alert]"


async def test_the_end_of_a_conversation_is_announced_once(dev_live: LiveServer, browser: Any):
    """QA: the "marked as resolved" note appeared outside any live region, so a screen reader
    said nothing. It is in a polite live region that was already on the page (one that
    appears already filled is not read), set once: the rating lookup's re-render does not
    say it again, and the status badge is not a second region saying the same."""
    errors: list[str] = []
    page, widget = await open_widget(
        browser, f"{dev_live.base}/demo/exchange?customer=e2e-ended-live&lang=en", errors)
    number = await first_message(widget, "My deposit has not arrived")
    await page.evaluate(f"""() => {{
        window.__changes = [];
        {SHADOW}.querySelectorAll('{LIVE_REGIONS}').forEach((region) => {{
            if (!region.checkVisibility()) return;
            const index = window.__changes.push(0) - 1;
            region.dataset.liveIndex = String(index);
            new MutationObserver((records) => {{ window.__changes[index] += records.length; }})
                .observe(region, {{childList: true, characterData: true, subtree: true}});
        }});
    }}""")
    await set_ticket_status(dev_live, await supervisor_token(dev_live), number, "resolved")
    await widget.locator('[data-testid="kefu-rating"]').wait_for(timeout=15_000)
    await page.wait_for_timeout(500)  # after the rating lookup's re-render
    note = "This conversation was marked as resolved. Write again if you still need help."
    regions = await page.evaluate(f"""(note) => [...{SHADOW}.querySelectorAll('{LIVE_REGIONS}')]
        .filter((region) => region.getAttribute('aria-live') !== 'off'
                && region.checkVisibility() && region.textContent.includes(note))
        .map((region) => ({{live: region.getAttribute('aria-live')
                                  || region.getAttribute('role'),
                            before: region.dataset.liveIndex !== undefined,
                            changes: window.__changes[Number(region.dataset.liveIndex)]}}))""",
                                  note)
    assert regions == [{"live": "polite", "before": True, "changes": 1}]
    badge = widget.locator('[data-testid="kefu-ticket-status"]')
    assert await badge.inner_text() == "Resolved"
    assert await badge.evaluate(f"(node) => node.closest('{LIVE_REGIONS}')") is None
    assert errors == []


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two computed colours ("rgb(r, g, b)")."""

    def luminance(colour: str) -> float:
        channels = [int(part) / 255 for part in colour[colour.index("(") + 1:-1].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


async def test_rating_stars_have_non_text_contrast(dev_live: LiveServer, browser: Any):
    """QA (WCAG 1.4.11): an empty star's outline was 2.56:1 on white and a chosen star
    2.03:1, 1.27:1 against an empty one. Outlines are 3:1 against the form, and a chosen star
    differs from an empty one at 3:1 by its fill and by its outline."""
    errors: list[str] = []
    page, widget = await open_widget(
        browser, f"{dev_live.base}/demo/exchange?customer=e2e-stars&lang=en", errors)
    number = await first_message(widget, "My deposit has not arrived")
    await set_ticket_status(dev_live, await supervisor_token(dev_live), number, "resolved")
    await widget.locator('[data-testid="kefu-rating"]').wait_for(timeout=15_000)
    await widget.locator('[data-testid="kefu-rating-star"][data-score="3"]').click()
    await page.mouse.move(0, 0)  # no hover
    stars = await widget.locator('[data-testid="kefu-rating-star"]').evaluate_all("""
        (stars) => stars.map((star) => {
            const svg = getComputedStyle(star.querySelector('svg'));
            let node = star, background = 'rgba(0, 0, 0, 0)';
            while (node && /rgba\\(.*, 0\\)|transparent/.test(background)) {
                background = getComputedStyle(node).backgroundColor;
                node = node.parentElement;
            }
            return {on: star.classList.contains('on'), stroke: svg.stroke, fill: svg.fill,
                    background};
        })""")
    assert [star["on"] for star in stars] == [True, True, True, False, False]
    chosen, empty = stars[0], stars[4]
    assert empty["fill"] == "none"
    background = empty["background"]
    assert contrast(empty["stroke"], background) >= 3, stars
    assert contrast(chosen["stroke"], background) >= 3, stars
    assert contrast(chosen["fill"], background) >= 3, stars  # filled against hollow
    assert contrast(chosen["stroke"], empty["stroke"]) >= 3, stars
    assert errors == []


async def test_a_network_named_inside_another_word_is_still_named(
        dev_live: LiveServer, browser: Any):
    """QA: "Withdrawals stopped during an upgrade" contains "op" and "Deposits will be
    credited tonight" contains "ton", so the banner took the networks OP and TON as named and
    left out which coin, network and direction. Only a whole word, in any case, counts."""
    async with factory_app(dev_live) as app:
        token = await api_token(app, await make_agent(app, "ops@kefu.test"))
    async with httpx.AsyncClient(base_url=dev_live.base, timeout=30) as client:
        for coin, network, direction, title in (
                ("ETH", "OP", "withdrawal", "Withdrawals stopped during an upgrade"),
                ("TON", "TON", "deposit", "Deposits will be credited tonight"),
                ("USDT", "OP", "deposit", "Slow deposits on op mainnet")):
            posted = await client.post("/api/v1/status", headers=bearer(token), json={
                "kind": "network", "state": "delayed", "coin": coin, "network": network,
                "direction": direction, "titles": {"en": title}})
            assert posted.status_code == 201, posted.text
    errors: list[str] = []
    _page, widget = await open_widget(
        browser, f"{dev_live.base}/demo/exchange?customer=e2e-words&lang=en", errors)
    banner = widget.locator('[data-testid="kefu-service-status"]')
    await banner.wait_for(timeout=10_000)
    text = await banner.inner_text()
    assert "Withdrawals stopped during an upgrade (ETH OP withdrawals: delayed)" in text, text
    assert "Deposits will be credited tonight (TON TON deposits: delayed)" in text, text
    assert "Slow deposits on op mainnet" in text, text
    assert "Slow deposits on op mainnet (" not in text, text
    assert errors == []


async def test_the_banner_names_the_three_most_serious_notices_and_counts_the_rest(
        dev_live: LiveServer, browser: Any):
    """QA: a dozen current notices made one status line longer than the chat panel."""
    async with factory_app(dev_live) as app:
        token = await api_token(app, await make_agent(app, "ops-many@kefu.test"))
    created: list[str] = []
    async with httpx.AsyncClient(base_url=dev_live.base, timeout=30) as client:
        try:
            for n in range(6):
                posted = await client.post("/api/v1/status", headers=bearer(token), json={
                    "kind": "network", "state": "delayed", "coin": "USDT",
                    "network": f"NET{n}", "direction": "withdrawal",
                    "titles": {"en": f"Queue number {n} is slow"}})
                assert posted.status_code == 201, posted.text
                created.append(posted.json()["id"])
            current = (await client.get("/api/v1/status", params={
                "scope": "current", "lang": "en"})).json()["items"]
            errors: list[str] = []
            _page, widget = await open_widget(
                browser, f"{dev_live.base}/demo/exchange?customer=e2e-many&lang=en", errors)
            banner = widget.locator('[data-testid="kefu-service-status"]')
            await banner.wait_for(timeout=10_000)
            text = await banner.inner_text()
            assert text.count(" is slow") == 3, text  # only three of the six are named
            assert f"and {len(current) - 3} more on the status page" in text, text
            assert errors == []
        finally:  # the module's server is shared: leave its status page as it was
            for entry in created:
                await client.delete(f"/api/v1/status/{entry}", headers=bearer(token))


async def test_the_launcher_is_named_for_what_it_does(dev_live: LiveServer, browser: Any):
    """QA: the launcher of the open panel was still "Open support chat", though pressing it
    closes the panel."""
    errors: list[str] = []
    page, widget = await open_widget(
        browser, f"{dev_live.base}/demo/exchange?customer=e2e-launcher&lang=en", errors)
    launcher = widget.locator('[data-testid="kefu-launcher"]')
    assert await launcher.get_attribute("aria-label") == "Close chat"
    assert await launcher.get_attribute("aria-expanded") == "true"
    await launcher.click()
    await widget.locator('[data-testid="kefu-panel"]').wait_for(state="hidden")
    assert await launcher.get_attribute("aria-label") == "Open support chat"
    await launcher.click()
    await widget.locator('[data-testid="kefu-close"]').click()
    assert await launcher.get_attribute("aria-label") == "Open support chat"
    assert errors == []


# QA: a rating that could not be sent lost the keyboard focus; status changes other than
# resolved/closed were neither shown nor announced to the customer.


async def test_a_rating_that_fails_keeps_the_focus_and_says_so(dev_live: LiveServer, browser: Any):
    """QA: Send was disabled while the rating went out; refused or lost, focus fell to <body>
    and the error appeared outside any rendered live region. Send is only aria-disabled now:
    focus stays on it, and an alert that was already there says the rating was not sent."""
    errors: list[str] = []
    page, widget = await open_widget(
        browser, f"{dev_live.base}/demo/exchange?customer=e2e-rating-fails&lang=en", errors)
    number = await first_message(widget, "My deposit has not arrived")
    await set_ticket_status(dev_live, await supervisor_token(dev_live), number, "resolved")
    await widget.locator('[data-testid="kefu-rating"]').wait_for(timeout=15_000)
    await page.wait_for_timeout(500)  # after the rating lookup's re-render
    submit = widget.locator('[data-testid="kefu-rating-submit"]')
    alert = widget.locator('[data-testid="kefu-rating-error"]')
    assert await alert.get_attribute("role") == "alert"
    assert await alert.evaluate("(node) => node.checkVisibility()")  # rendered, empty
    assert await alert.inner_text() == ""

    async def refuse(route: Any) -> None:
        await page.wait_for_timeout(300)
        await route.fulfill(status=503, content_type="application/json",
                            body='{"error": {"code": "unavailable", "message": "try later"}}')

    async def drop(route: Any) -> None:
        await page.wait_for_timeout(300)
        await route.abort("internetdisconnected")

    await widget.locator('[data-testid="kefu-rating-star"][data-score="4"]').click()
    for failure in (refuse, drop):  # the server refuses; the network drops
        await page.route("**/rating", failure)
        await submit.focus()
        await page.keyboard.press("Enter")
        assert await submit.get_attribute("aria-disabled") == "true"
        assert await alert.inner_text() == ""  # said again, not left from the last try
        await widget.locator('[data-testid="kefu-rating-error"]',
                             has_text="Your rating was not sent. Please try again."
                             ).wait_for(timeout=15_000)
        assert await page.evaluate(FOCUSED) == {"page": "kefu-widget",
                                                "widget": "kefu-rating-submit"}
        assert await submit.get_attribute("aria-disabled") is None
        await page.unroute("**/rating")
    await page.keyboard.press("Enter")  # from where the keyboard user still is
    await widget.locator('[data-testid="kefu-rating-thanks"]').wait_for(timeout=15_000)
    assert errors == []


async def change_status(live: LiveServer, token: str, number: str, **change: str) -> None:
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        changed = await client.post(f"/api/v1/tickets/{number}/status", headers=bearer(token),
                                    json=change)
        assert changed.status_code == 200, changed.text


async def test_status_changes_that_concern_the_customer_are_shown_and_announced(
        dev_live: LiveServer, browser: Any):
    """QA: an agent set the conversation pending, waiting for the customer, or reopened it,
    and the widget said nothing. A line under the conversation, a polite live region already
    on the page, says so in the customer's language. Support's own states are not told:
    waiting on support's side reads "In progress" and leaves the line empty."""
    token = await supervisor_token(dev_live)
    for lang, waiting, reopened, in_progress in (
            ("en", "Support is waiting for your reply.", "This conversation was reopened.",
             "In progress"),
            ("zh-CN", "客服正在等待您的回复。", "此会话已重新打开。", "处理中")):
        errors: list[str] = []
        page, widget = await open_widget(
            browser, f"{dev_live.base}/demo/exchange?customer=e2e-status-note-{lang}&lang={lang}",
            errors)
        number = await first_message(widget, "My deposit has not arrived")
        note = widget.locator('[data-testid="kefu-status-note"]')
        badge = widget.locator('[data-testid="kefu-ticket-status"]')
        assert await note.get_attribute("aria-live") == "polite"
        assert await note.evaluate("(node) => node.checkVisibility()")  # rendered, empty
        assert await note.inner_text() == ""

        await change_status(dev_live, token, number, status="pending", pending_reason="customer")
        await widget.locator('[data-testid="kefu-status-note"]', has_text=waiting).wait_for(
            timeout=15_000)

        await change_status(dev_live, token, number, status="pending", pending_reason="internal")
        await widget.locator('[data-testid="kefu-ticket-status"]', has_text=in_progress
                             ).wait_for(timeout=15_000)
        assert await note.inner_text() == ""

        await change_status(dev_live, token, number, status="resolved")
        await widget.locator('[data-testid="kefu-rating"]').wait_for(timeout=15_000)
        assert await note.inner_text() == ""
        await change_status(dev_live, token, number, status="open")
        await widget.locator('[data-testid="kefu-status-note"]', has_text=reopened).wait_for(
            timeout=15_000)
        assert await badge.inner_text() == in_progress
        assert await widget.locator('[data-testid="kefu-rating"]').is_hidden()
        assert errors == []
        await page.context.close()


@pytest.mark.parametrize(("lang", "context", "cancel", "cancelled"), [
    ("en", {}, "Cancel", "Upload cancelled: nothing was sent."),
    ("zh-CN", PHONE, "取消", "已取消上传，文件未发送。"),
])
async def test_an_upload_can_be_cancelled_and_nothing_of_it_is_sent(
        dev_live: LiveServer, browser: Any, lang: str, context: dict[str, Any], cancel: str,
        cancelled: str):
    """QA: a slow screen recording could not be stopped once chosen. The upload row has a
    Cancel button (reachable by keyboard, on a phone's screen): it aborts the request, drops
    the files not sent yet, sends nothing and gives the caption back; Attach works again."""
    errors: list[str] = []
    page, widget = await open_widget(
        browser, f"{dev_live.base}/demo/exchange?customer=e2e-cancel-{lang}&lang={lang}",
        errors, **context)
    number = await first_message(widget, "My withdrawal is stuck")
    uploads: list[str] = []

    async def slow(route: Any) -> None:
        uploads.append(route.request.url)
        await page.wait_for_timeout(2000)
        with contextlib.suppress(Exception):  # the widget aborted it meanwhile
            await route.continue_()

    await page.route("**/attachments", slow)
    await widget.locator('[data-testid="kefu-input"]').fill("the recording")
    await widget.locator('[data-testid="kefu-file-input"]').set_input_files(
        [{"name": f"rec{i}.png", "mimeType": "image/png", "buffer": png_bytes(4, 3)}
         for i in range(2)])
    row = widget.locator('[data-testid="kefu-upload"]')
    await row.wait_for(timeout=15_000)
    button = widget.locator('[data-testid="kefu-upload-cancel"]')
    assert (await button.inner_text()).strip() == cancel
    box = await button.bounding_box()
    width = (context.get("viewport") or {"width": 1280})["width"]
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= width
    await button.focus()
    await page.keyboard.press("Enter")
    await row.wait_for(state="hidden", timeout=5_000)
    await widget.locator('[data-testid="kefu-notice"]', has_text=cancelled).wait_for()
    assert await widget.locator('[data-testid="kefu-input"]').input_value() == "the recording"
    assert await page.evaluate(FOCUSED) == {"page": "kefu-widget", "widget": "kefu-attach"}
    assert await widget.locator('[data-testid="kefu-attach"]').get_attribute(
        "aria-disabled") is None
    await page.wait_for_timeout(3000)  # the first request would have finished by now
    assert len(uploads) == 1  # the second file was never sent
    token = await supervisor_token(dev_live)
    async with httpx.AsyncClient(base_url=dev_live.base, timeout=30) as client:
        got = await client.get(f"/api/v1/tickets/{number}", headers=bearer(token))
    assert got.status_code == 200, got.text
    assert [m["body"] for m in got.json()["messages"] if m["author_kind"] == "customer"] == [
        "My withdrawal is stuck"]
    assert await widget.locator('[data-testid="kefu-attachment"]').count() == 0

    await page.unroute("**/attachments")  # Attach works again, with the caption
    await widget.locator('[data-testid="kefu-file-input"]').set_input_files(
        {"name": "rec.png", "mimeType": "image/png", "buffer": png_bytes(4, 3)})
    sent = widget.locator('[data-author="customer"][data-state="sent"]').last
    await sent.locator('[data-testid="kefu-attachment"]').wait_for(timeout=15_000)
    assert "the recording" in await sent.inner_text()
    assert errors == []
