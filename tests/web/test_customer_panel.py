"""The ticket page's customer panel against a real ``HttpExchangeAdapter`` whose back office
misbehaves (slow, down, garbage, customer unknown, hostile values), a visitor's ticket, and how
txids are shown: shortened, copyable, with an explorer link only for a known network.

The ticket page never waits for the back office: it comes with the panel's local part and a
placeholder, and the exchange part is the fragment ``/agent/tickets/{number}/customer-panel``
(loaded by htmx, or opened as a page by its link), readable by exactly who reads the ticket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from markupsafe import escape
from sqlalchemy import func, select

from kefu.accounts.models import AuditEntry
from kefu.exchange.explorers import explorer_url, short_txid
from kefu.exchange.http import HttpExchangeAdapter
from tests.factories import make_agent
from tests.web.browser import agent_sign_in, customer_headers, make_desk, portal_sign_in

BTC_TXID = "3f5a9c0e" + "ab" * 25 + "4b7d21"
EVIL = '<img src=x onerror="alert(1)">'


def _context(external_id: str, **changes: Any) -> dict[str, Any]:
    at = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    deposit = {"id": "d1", "coin": "BTC", "network": "Bitcoin", "amount": "0.5",
               "address": "bc1qexample", "txid": BTC_TXID, "status": "confirming",
               "confirmations": 1, "required_confirmations": 2, "created_at": at}
    withdrawal = {"id": "w1", "coin": "USDT", "network": "Avalanche C-Chain", "amount": "120",
                  "fee": "1", "address": "0xabc", "txid": "0x" + "cd" * 32,
                  "status": "completed", "created_at": at}
    body = {"external_id": external_id, "vip_tier": 3, "kyc_level": 2,
            "account_created_at": (datetime.now(UTC) - timedelta(days=400)).isoformat(),
            "thirty_day_volume_usdt": "125000.5", "deposits": [deposit],
            "withdrawals": [withdrawal], "flags": []}
    body.update(changes)
    return body


Handler = Callable[[httpx.Request], Any]


async def _ticket(app: FastAPI, client: httpx.AsyncClient) -> str:
    """A ticket of customer ``cust-panel``, the agent signed in."""
    number = (await client.post("/api/v1/tickets", headers=customer_headers(
        app.state.settings, "cust-panel", name="Ann", lang="en"), json={
        "subject": "BTC deposit missing", "body": "Where is it?", "language": "en"})
    ).json()["number"]
    client.cookies.clear()
    await agent_sign_in(client, "agent@kefu.test")
    return str(number)


async def _page(app: FastAPI, client: httpx.AsyncClient, handler: Handler, *,
                timeout_s: float = 5.0, lang: str = "en", fragment: bool = True
                ) -> httpx.Response:
    """The customer panel of a ticket of customer ``cust-panel`` as the ticket page loads it
    (``fragment``), else the ticket page itself; the back office is ``handler``."""
    adapter = HttpExchangeAdapter("https://bo.test", "key", timeout_s,
                                  transport=httpx.MockTransport(handler))
    before = app.state.exchange
    app.state.exchange = adapter
    try:
        number = await _ticket(app, client)
        if not fragment:
            return await client.get(f"/agent/tickets/{number}", params={"lang": lang})
        return await client.get(f"/agent/tickets/{number}/customer-panel",
                                params={"lang": lang}, headers={"HX-Request": "true"})
    finally:
        app.state.exchange = before
        await adapter.aclose()


def _panel(page: httpx.Response) -> str:
    return page.text.split('class="panel customer-panel"', 1)[1].split("</section>", 1)[0]


async def test_txids_are_short_copyable_and_linked_only_on_known_networks(
    app: FastAPI, client: httpx.AsyncClient
):
    await make_desk(app)
    page = await _page(app, client, lambda r: httpx.Response(200, json=_context("cust-panel")))
    assert page.status_code == 200
    panel = _panel(page)
    assert "Level 2 · Advanced (address)" in panel
    assert f'data-copy="{BTC_TXID}"' in panel
    assert f'title="{BTC_TXID}"' in panel
    assert f">{BTC_TXID[:8]}…{BTC_TXID[-6:]}<" in panel
    assert f'href="https://mempool.space/tx/{BTC_TXID}"' in panel
    # An EVM txid on a network Kefu has no explorer for: copyable, not linked.
    assert 'data-copy="0x' + "cd" * 32 + '"' in panel
    assert panel.count('data-testid="txid-explorer"') == 1
    assert 'rel="noopener noreferrer"' in panel

    zh = _panel(await _page(app, client,
                            lambda r: httpx.Response(200, json=_context("cust-panel")),
                            lang="zh-CN"))
    assert "等级 2 · 高级（地址）" in zh
    assert "区块浏览器" in zh


async def test_values_from_the_back_office_are_escaped_and_never_linked(
    app: FastAPI, client: httpx.AsyncClient
):
    await make_desk(app)
    hostile = _context("cust-panel", flags=[EVIL])
    hostile["deposits"][0].update(txid="javascript:alert(1)//" + EVIL, coin=EVIL, memo=EVIL)
    hostile["withdrawals"][0].update(address=EVIL, network="TRC20", txid=EVIL)
    hostile["kyc_review"] = {"status": "rejected", "level_requested": 1,
                             "submitted_at": "2025-01-01T00:00:00Z", "reasons": [EVIL]}
    page = await _page(app, client, lambda r: httpx.Response(200, json=hostile))
    assert page.status_code == 200
    assert EVIL not in page.text
    assert str(escape(EVIL)) in _panel(page)
    assert 'href="javascript' not in page.text
    assert 'data-testid="txid-explorer"' not in page.text


@pytest.mark.parametrize(("handler", "said"), [
    (lambda r: httpx.Response(503, text="<html>bad gateway</html>"),
     "The exchange back office is not answering right now."),
    (lambda r: httpx.Response(200, text="{not json"),
     "The exchange back office is not answering right now."),
    (lambda r: httpx.Response(200, json={"external_id": "cust-panel", "vip_tier": "gold"}),
     "The exchange back office is not answering right now."),
    (lambda r: httpx.Response(404, json={"error": {"code": "customer_not_found",
                                                   "message": "no such customer"}}),
     "The exchange does not know this customer id."),
], ids=["down", "not-json", "wrong-shape", "unknown-customer"])
async def test_the_panel_says_what_went_wrong_and_the_ticket_still_works(
    app: FastAPI, client: httpx.AsyncClient, handler: Handler, said: str
):
    await make_desk(app)
    fragment = await _page(app, client, handler)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    panel = _panel(fragment)
    assert "Exchange context unavailable." in panel
    assert said in panel
    assert 'data-state="loaded"' in fragment.text
    assert "hx-get" not in fragment.text  # the swapped-in panel does not load itself again
    page = await _page(app, client, handler, fragment=False)
    assert page.status_code == 200
    assert 'data-testid="reply-box"' in page.text
    assert "Where is it?" in page.text


async def test_a_slow_back_office_costs_the_panel_its_timeout_only(
    app: FastAPI, client: httpx.AsyncClient
):
    await make_desk(app)

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200, json=_context("cust-panel"))

    started = asyncio.get_running_loop().time()
    fragment = await _page(app, client, slow, timeout_s=0.5)
    assert asyncio.get_running_loop().time() - started < 10
    assert fragment.status_code == 200
    assert "The exchange back office is not answering right now." in _panel(fragment)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
async def test_the_ticket_page_never_waits_for_the_back_office(
    app: FastAPI, client: httpx.AsyncClient, lang: str
):
    """The page used to ask the back office before it was sent: a hung one held every ticket
    page for the whole timeout. Now the page asks nothing and leaves a placeholder."""
    await make_desk(app)
    asked: list[str] = []

    async def hung(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        await asyncio.sleep(30)
        return httpx.Response(200, json=_context("cust-panel"))

    started = asyncio.get_running_loop().time()
    page = await _page(app, client, hung, timeout_s=5.0, lang=lang, fragment=False)
    assert asyncio.get_running_loop().time() - started < 4
    assert page.status_code == 200
    assert asked == []
    panel = _panel(page)
    assert "Ann" in panel
    assert "cust-panel" in panel
    assert 'hx-get="/agent/tickets/' in panel
    assert 'hx-trigger="load"' in panel
    assert 'data-testid="customer-panel-link"' in panel  # without JavaScript: a link to it
    loading = {"en": "Loading account context…", "zh-CN": "正在加载账户信息…"}
    assert loading[lang] in panel
    assert loading["zh-CN" if lang == "en" else "en"] not in panel
    assert "Exchange context unavailable." not in panel
    async with app.state.db.transaction() as session:
        viewed = await session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "customer_context.viewed"))
    assert viewed == 0  # nothing was read from the exchange: nothing to audit yet


async def test_without_javascript_the_panel_opens_as_a_page(
    app: FastAPI, client: httpx.AsyncClient
):
    await make_desk(app)
    page = await _page(app, client, lambda r: httpx.Response(200, json=_context("cust-panel")),
                       fragment=False)
    link = page.text.split('data-testid="customer-panel-link"', 1)[0].rsplit('href="', 1)[1]
    url = link.split('"', 1)[0]
    adapter = HttpExchangeAdapter("https://bo.test", "key", 5.0, transport=httpx.MockTransport(
        lambda r: httpx.Response(200, json=_context("cust-panel"))))
    before, app.state.exchange = app.state.exchange, adapter
    try:
        opened = await client.get(url)
    finally:
        app.state.exchange = before
        await adapter.aclose()
    assert opened.status_code == 200
    assert "<html" in opened.text
    assert "Level 2 · Advanced (address)" in _panel(opened)
    assert f'href="/agent/tickets/{url.split("/")[3]}"' in opened.text  # back to the ticket
    async with app.state.db.transaction() as session:
        viewed = await session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "customer_context.viewed"))
    assert viewed == 1


async def test_the_panel_is_readable_by_exactly_who_reads_the_ticket(
    app: FastAPI, client: httpx.AsyncClient
):
    """Each role gets from the fragment what it gets from the ticket page (its status and,
    for a redirect, where to), and only a reader's answer shows the customer."""
    desk = await make_desk(app)
    await make_agent(app, "other@kefu.test", teams=[desk.zh_team])
    await make_agent(app, "boss@kefu.test", role="supervisor")
    await make_agent(app, "admin@kefu.test", role="admin")
    number = await _ticket(app, client)

    async def both() -> tuple[httpx.Response, httpx.Response]:
        page = await client.get(f"/agent/tickets/{number}")
        fragment = await client.get(f"/agent/tickets/{number}/customer-panel",
                                    headers={"HX-Request": "true"})
        return page, fragment

    seen: dict[str, int] = {}
    for who in ("agent@kefu.test", "other@kefu.test", "boss@kefu.test", "admin@kefu.test",
                "customer", "nobody"):
        client.cookies.clear()
        if who == "customer":
            await portal_sign_in(client, app.state.settings, "cust-panel")
        elif who != "nobody":
            await agent_sign_in(client, who)
        page, fragment = await both()
        assert fragment.status_code == page.status_code, who
        seen[who] = fragment.status_code
        if page.status_code == 303:
            assert page.headers["location"].startswith("/agent/login"), who
            assert fragment.headers["location"].startswith("/agent/login"), who
        if fragment.status_code != 200:
            assert "cust-panel" not in fragment.text, who
    assert seen == {"agent@kefu.test": 200, "other@kefu.test": 404, "boss@kefu.test": 200,
                    "admin@kefu.test": 200, "customer": 303, "nobody": 303}


async def test_a_visitors_ticket_says_there_is_no_exchange_account(
    app: FastAPI, client: httpx.AsyncClient
):
    await make_desk(app)
    visitor = (await client.post("/api/v1/visitors")).json()
    created = await client.post("/api/v1/tickets", headers={"X-Kefu-Visitor": visitor["token"]},
                                json={"subject": "How do I deposit?", "body": "Hello",
                                      "language": "en"})
    assert created.status_code == 201, created.text
    await agent_sign_in(client, "agent@kefu.test")
    number = created.json()["number"]
    page = await client.get(f"/agent/tickets/{number}")
    assert page.status_code == 200
    panel = _panel(page)
    assert "This is an anonymous visitor without an exchange account." in panel
    assert "VIP 0" not in panel
    assert "hx-get" not in panel  # nothing to ask the back office: complete at once
    fragment = await client.get(f"/agent/tickets/{number}/customer-panel",
                                headers={"HX-Request": "true"})
    assert "This is an anonymous visitor without an exchange account." in _panel(fragment)


@pytest.mark.parametrize(("lang", "said"), [
    ("en", ["KYC application", "Rejected", "for Level 2", "Submitted", "reviewed",
            "Document photo unclear or with glare", "Name does not match the document",
            "watermark_detected"]),
    ("zh-CN", ["认证申请", "已拒绝", "申请等级 2", "提交于", "审核于", "证件照片模糊或反光",
               "姓名与证件不一致", "watermark_detected"]),
])
async def test_the_panel_shows_the_latest_kyc_application_and_its_reasons(
    app: FastAPI, client: httpx.AsyncClient, lang: str, said: list[str]
):
    """Reasons Kefu knows are named in the agent's language; another code is shown as it is."""
    await make_desk(app)
    review = {"status": "rejected", "level_requested": 2,
              "submitted_at": (datetime.now(UTC) - timedelta(days=3)).isoformat(),
              "reviewed_at": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
              "reasons": ["document_blurry", "name_mismatch", "watermark_detected"]}
    body = _context("cust-panel", kyc_level=1, kyc_review=review)
    panel = _panel(await _page(app, client, lambda r: httpx.Response(200, json=body), lang=lang))
    block = panel.split('data-testid="kyc-review"', 1)[1].split("</dd>", 1)[0]
    for text in said:
        assert text in block, text
    assert 'data-status="rejected"' in panel
    assert "document_blurry" not in block  # a known code is shown in words, not as the code


@pytest.mark.parametrize(("lang", "hours", "said", "overdue"), [
    ("en", 5, "waiting 5 h", False), ("zh-CN", 5, "已等待 5 小时", False),
    ("en", 75, "waiting 3 days, over the 48 h limit", True),
    ("zh-CN", 75, "已等待 3 天，超过 48 小时时限", True),
])
async def test_the_panel_says_how_long_a_kyc_application_has_been_pending(
    app: FastAPI, client: httpx.AsyncClient, lang: str, hours: int, said: str, overdue: bool
):
    await make_desk(app)
    review = {"status": "pending", "level_requested": 1,
              "submitted_at": (datetime.now(UTC) - timedelta(hours=hours, minutes=10)).isoformat()}
    body = _context("cust-panel", kyc_level=0, kyc_review=review)
    panel = _panel(await _page(app, client, lambda r: httpx.Response(200, json=body), lang=lang))
    waiting = panel.split('data-testid="kyc-waiting"', 1)[1].split("</span>", 1)[0]
    assert said in waiting
    assert ('class="overdue"' in waiting) == overdue
    assert {"en": "Under review", "zh-CN": "审核中"}[lang] in panel
    assert 'data-testid="kyc-reasons"' not in panel


async def test_a_back_office_without_kyc_review_shows_the_panel_as_before(
    app: FastAPI, client: httpx.AsyncClient
):
    await make_desk(app)
    body = _context("cust-panel")
    assert "kyc_review" not in body
    panel = _panel(await _page(app, client, lambda r: httpx.Response(200, json=body)))
    assert "Level 2 · Advanced (address)" in panel
    assert 'data-testid="kyc-review"' not in panel
    assert "KYC application" not in panel


def test_explorer_links_need_a_known_network_and_a_txid_in_its_format():
    evm = "0x" + "ab" * 32
    assert explorer_url("ERC20", evm) == f"https://etherscan.io/tx/{evm}"
    assert explorer_url("bep-20", evm) == f"https://bscscan.com/tx/{evm}"
    assert explorer_url("XRP Ledger", "AB" * 32) == \
        f"https://livenet.xrpl.org/transactions/{'AB' * 32}"
    assert explorer_url("TRC20", "ab" * 32) == f"https://tronscan.org/#/transaction/{'ab' * 32}"
    assert explorer_url("ERC20", "ab" * 32) is None  # no 0x: not an Ethereum hash
    assert explorer_url("Bitcoin", "../../evil") is None
    assert explorer_url("Avalanche C-Chain", evm) is None
    assert explorer_url(None, evm) is None
    assert short_txid("short") == "short"
    assert short_txid(BTC_TXID) == f"{BTC_TXID[:8]}…{BTC_TXID[-6:]}"
    assert json.dumps(short_txid("x" * 15)) == '"' + "x" * 15 + '"'
