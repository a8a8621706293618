"""The public help center, its languages and the headers every page carries."""

from __future__ import annotations

import httpx
import pytest


async def test_help_home_in_english_by_default(client: httpx.AsyncClient):
    response = await client.get("/help")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<html lang="en">' in page
    assert "How can we help?" in page
    for topic in ("Deposits", "Withdrawals", "Account security &amp; 2FA", "KYC verification",
                  "Futures &amp; liquidation", "P2P trading", "API", "Fees"):
        assert topic in page
    assert 'action="/help/search"' in page
    assert 'href="/portal"' in page


@pytest.mark.parametrize(("request_kwargs", "expected"), [
    ({"params": {"lang": "zh-CN"}}, "有什么可以帮您"),
    ({"headers": {"Accept-Language": "zh"}}, "有什么可以帮您"),
    ({"headers": {"Accept-Language": "fr-FR, zh-TW;q=0.8, en;q=0.5"}}, "有什么可以帮您"),
    ({"headers": {"Accept-Language": "de, en;q=0.9, zh;q=0.8"}}, "How can we help?"),
])
async def test_help_home_language_choice(
    client: httpx.AsyncClient, request_kwargs: dict[str, object], expected: str
):
    response = await client.get("/help", **request_kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200
    assert expected in response.text
    if expected.startswith("有"):
        assert '<html lang="zh-CN">' in response.text
        assert "充值" in response.text
        assert "合约与强平" in response.text


async def test_lang_switch_is_remembered_in_a_cookie(client: httpx.AsyncClient):
    first = await client.get("/help", params={"lang": "zh-CN"})
    assert "kefu_lang=zh-CN" in first.headers["set-cookie"]
    # The cookie now wins over the browser's Accept-Language.
    again = await client.get("/help/search", params={"q": "USDT"},
                             headers={"Accept-Language": "en"})
    assert '<html lang="zh-CN">' in again.text
    back = await client.get("/help", params={"lang": "en"})
    assert '<html lang="en">' in back.text


async def test_search_is_honest_about_having_no_articles(client: httpx.AsyncClient):
    response = await client.get("/help/search", params={"q": "<b>USDT</b> deposit"})
    assert response.status_code == 200
    assert "No articles for “&lt;b&gt;USDT&lt;/b&gt; deposit” yet" in response.text
    assert "<b>USDT</b>" not in response.text
    assert 'href="/portal/tickets/new"' in response.text
    topic = await client.get("/help/search", params={"topic": "withdrawals"})
    assert 'href="/portal/tickets/new?category=withdrawal"' in topic.text


async def test_pages_carry_security_headers(client: httpx.AsyncClient):
    response = await client.get("/help")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in response.text  # no inline scripts: CSP would block them
    assert (await client.get("/")).headers["location"] == "/help"


async def test_static_assets_are_served(client: httpx.AsyncClient):
    htmx = await client.get("/static/htmx.min.js")
    assert htmx.status_code == 200
    assert htmx.text.startswith("/*! htmx 2.")
    css = await client.get("/static/kefu.css")
    assert css.status_code == 200
    assert "white-space: pre-wrap" in css.text


async def test_signed_out_portal_pages(client: httpx.AsyncClient):
    landing = await client.get("/portal")
    assert landing.status_code == 200
    assert "Sign in through the exchange" in landing.text
    ticket = await client.get("/portal/tickets/KF-2345AB")
    assert ticket.status_code == 303
    assert ticket.headers["location"] == "/portal"
    assert ticket.headers["cache-control"] == "no-store"
