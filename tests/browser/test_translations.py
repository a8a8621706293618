"""Every server-rendered page in zh-CN and in en, read in headless Chromium: no interface text
of the other language, ``<html lang>`` right, the tab title translated, no catalog key shown
instead of words.

One test per language visits the help center, the portal, the trust pages, the agent console
(inbox, ticket, supervisor, macros, knowledge base with gaps and feedback, status editor,
trust admin, notifications), the sign-in pages, the 403/404/422 pages and the demo exchange
with the widget open. Its data is written in the page's language (what customers and agents
write is not interface text), so the checks need only a small allowlist:

- text under an element whose ``lang`` names another language is content in that language
  (the pages mark what a customer wrote, language autonyms and translations so);
- on a zh-CN page, Latin script is allowed for codes (KF-XXXXXX, tickers and acronyms such as
  USDT, TRC20, 2FA), addresses (URLs, e-mail addresses, domains), numbers, the values this
  test created (slugs, customer ids) and the product and technical names the Chinese
  interface keeps in Latin script (``ZH_KEPT_LATIN``);
- on an en page, Chinese is allowed only in the product's name, ``Kefu 客服``, and in the values
  this test and development's demo people bring;
- on both, a UI language's own name (English, 简体中文), as menus of languages write them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from kefu.accounts.service import create_agent
from kefu.web.i18n import LANGUAGE_NAMES, catalogue
from kefu.web.portal import DEMO_CUSTOMERS
from kefu.web.widget import DEMO_CUSTOMER_ID, DEMO_DEPOSIT_ADDRESS
from tests.factories import PASSWORD, api_token, bearer, customer_token, make_team
from tests.realtime.live import LiveServer, factory_app

# One Chromium per test process, driven from the session's event loop (see conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

LIVE = '[data-testid="connection-state"][data-state="live"]'

# Names the Chinese interface writes in Latin script, as Chinese exchanges' sites do: the
# product, apps and services, file formats, keys on the keyboard, and terms of the trade.
# Networks are named as the exchange names them (Bitcoin, XRP Ledger).
ZH_KEPT_LATIN = {
    "Kefu", "DemoEx", "App", "Google", "Authenticator", "Telegram", "Markdown", "YouTube",
    "Vimeo", "WebP", "WebM", "Memo", "Tag", "TxID", "Enter", "Shift", "slug", "txt", "html",
    "Bitcoin", "Solana", "Ledger",
}
ADDRESSES = re.compile(r"https?://\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|@\w+|\b[\w-]+(?:\.[a-z]{2,})+\b")
CODES = re.compile(
    r"\bKF-[A-Z0-9]{6}\b|\b[A-Z0-9][A-Z0-9+/-]*[A-Z0-9]\b"  # ticket numbers, tickers, acronyms
    r"|\b(?=[A-Za-z]*\d)[A-Za-z0-9]+\b"  # numbers, hashes, addresses: no word has a digit
    r"|\b[a-z]{2}(?:-[A-Z]{2})?\b")  # language tags (en, zh-CN)
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
KEY = re.compile(r"\b[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+\b")

# What a page shows, read in the browser: each visible text (and each attribute a person
# meets: placeholder, title, aria-label, alt, a button's value, a table cell's data-label),
# with the language of its nearest element carrying ``lang``; in shadow roots too (the widget).
READ_PAGE = r"""
() => {
  const found = [];
  const langOf = (el) => (el.closest('[lang]') || document.documentElement).getAttribute('lang');
  const shown = (el) => el.closest('select') ? el.closest('select').checkVisibility()
                                              : el.checkVisibility({checkVisibilityCSS: true});
  const roots = [document.body];
  for (const el of document.querySelectorAll('*')) if (el.shadowRoot) roots.push(el.shadowRoot);
  for (const root of roots) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement, text = node.nodeValue.trim();
      if (!text || !el || ['SCRIPT', 'STYLE', 'TEMPLATE'].includes(el.tagName)) continue;
      if (shown(el)) found.push([text, langOf(el), el.tagName]);
    }
    const named = '[placeholder],[title],[aria-label],[alt],[data-label],'
                  + 'input[type=submit],input[type=button]';
    for (const el of root.querySelectorAll(named)) {
      if (!shown(el)) continue;
      for (const name of ['placeholder', 'title', 'aria-label', 'alt', 'data-label', 'value']) {
        if (name === 'value' && !['submit', 'button'].includes(el.type)) continue;
        const value = (el.getAttribute(name) || '').trim();
        if (value) found.push([value, langOf(el), el.tagName + '@' + name]);
      }
    }
  }
  return {lang: document.documentElement.lang, title: document.title, texts: found};
}
"""

WORDS = {
    "zh-CN": {
        "team": "中文组", "admin": "陈静", "colleague": "李娜", "customer": "王芳",
        "subject": "充值三小时未到账", "body": "我的充值三个小时了还没有到账，请帮忙查一下。",
        "reply": "您好，我们正在核查您的充值。", "second": "提现一直显示审核中",
        "category": "充值问题", "title": "充值未到账怎么办", "summary": "检查网络与确认数。",
        "article": "## 检查网络\n\n请确认转出时选择的网络与充值地址一致。",
        "macro": "问候", "macro_body": "{customer.name}，您好！我们已收到您的工单。",
        "status": "网络拥堵，充值延迟", "channel": "官方网站", "search": "量子钱包",
        "vote": "没有说明需要等多久", "note": "已联系钱包团队核查。",
    },
    "en": {
        "team": "English desk", "admin": "Olivia Bennett", "colleague": "James Miller",
        "customer": "Alice Martin", "subject": "Deposit missing for three hours",
        "body": "My deposit has not arrived after three hours, please check.",
        "reply": "Hello, we are checking your deposit.", "second": "Withdrawal still under review",
        "category": "Deposit questions", "title": "What to do when a deposit is missing",
        "summary": "Check the network and the confirmations.",
        "article": "## Check the network\n\nMake sure you sent on the deposit address's network.",
        "macro": "Greeting", "macro_body": "Hello {customer.name}, we have your ticket.",
        "status": "Network congestion, deposits delayed", "channel": "Official website",
        "search": "quantum wallet", "vote": "It does not say how long to wait",
        "note": "Asked the wallet team to check.",
    },
}


@dataclass
class Shop:
    """What the pages under test show: made through the API, in one language."""

    number: str
    resolved: str
    slug: str
    customer_id: str
    customer_token: str
    identity_path: str
    data: set[str]


async def furnish(live: LiveServer, lang: str) -> Shop:
    words = WORDS[lang]
    short = "zh" if lang == "zh-CN" else "en"
    async with factory_app(live) as app:
        team = await make_team(app, words["team"], short)
        async with app.state.db.transaction() as session:
            admin = await create_agent(session, None, email="admin@kefu.test", password=PASSWORD,
                                       display_name=words["admin"], role="admin",
                                       languages=[short], team_ids=[team.id])
            colleague = await create_agent(session, None, email="colleague@kefu.test",
                                           password=PASSWORD, display_name=words["colleague"],
                                           languages=[short], team_ids=[team.id])
        staff = bearer(await api_token(app, admin))
        other = bearer(await api_token(app, colleague))
    customer_id = f"cust-{short}"
    token = customer_token(live.settings, customer_id, name=words["customer"], lang=short,
                           lifetime_s=3600)
    customer = bearer(token)
    slug = f"deposit-missing-{short}"
    async with httpx.AsyncClient(base_url=f"{live.base}/api/v1") as api:
        async def call(method: str, path: str, headers: dict[str, str], **body: Any) -> Any:
            response = await api.request(method, path, headers=headers, **body)
            assert response.status_code < 300, (path, response.text)
            return response.json() if response.content else None

        numbers = []
        for subject in (words["subject"], words["second"]):
            created = await call("POST", "/tickets", customer, json={
                "subject": subject, "body": words["body"] if subject == words["subject"]
                else subject, "language": short, "channel": "portal"})
            numbers.append(created["number"])
        number, resolved = numbers
        await call("POST", f"/tickets/{number}/notes", staff, json={"body": words["note"]})
        await call("POST", f"/tickets/{number}/assign", other,
                   json={"agent_id": str(admin.id)})  # a notification for the admin
        await call("POST", f"/tickets/{resolved}/replies", staff, json={"body": words["reply"]})
        await call("POST", f"/tickets/{resolved}/status", staff, json={"status": "resolved"})
        step_up = await call("POST", f"/tickets/{number}/step-up", staff,
                             json={"purpose": "2fa_reset"})
        await call("PUT", "/kb/categories/deposits", staff, json={
            "names": {"en": WORDS["en"]["category"], "zh-CN": WORDS["zh-CN"]["category"]},
            "sections": []})
        await call("POST", "/kb/articles", staff, json={
            "slug": slug, "category": "deposits", "lang": lang, "title": words["title"],
            "summary": words["summary"], "body_md": words["article"]})
        await call("POST", f"/kb/articles/{slug}/publish", staff, json={"lang": lang})
        await call("POST", f"/kb/articles/{slug}/votes", {}, json={
            "lang": lang, "helpful": False, "comment": words["vote"]})
        await call("POST", "/macros", staff, json={
            "title": words["macro"], "body": words["macro_body"], "language": short})
        await call("POST", "/status", staff, json={
            "kind": "incident", "state": "degraded",
            "titles": {"en": WORDS["en"]["status"], "zh-CN": WORDS["zh-CN"]["status"]}})
        await call("PUT", "/trust/channels", staff, json={
            "kind": "domain", "value": "exchange.example", "label": words["channel"]})
        await call("GET", "/kb/search", {}, params={"q": words["search"], "lang": lang})
    sign_in = customer_token(live.settings, customer_id, name=words["customer"], lang=short,
                             jti=f"sign-in-{short}")  # the exchange's single-use link
    # Development's demo people: the portal's sign-in list, the demo exchange's customer.
    demo = {text for entry in DEMO_CUSTOMERS for text in entry[:2]}
    demo |= {DEMO_CUSTOMER_ID, DEMO_DEPOSIT_ADDRESS, "Demo", "Ex"}
    return Shop(number, resolved, slug, customer_id, sign_in, urlsplit(step_up["url"]).path,
                {slug, customer_id, "deposits", "exchange", *demo})


def untranslated(lang: str, text: str, text_lang: str, data: set[str]) -> bool:
    """Whether ``text`` (under an element of language ``text_lang``) is interface text in the
    wrong language for a page in ``lang``."""
    if text_lang.split("-")[0].lower() != lang.split("-")[0].lower():
        return False  # content marked as another language's
    rest = ADDRESSES.sub(" ", text)
    for value in sorted({*data, *LANGUAGE_NAMES.values(), "Kefu 客服"}, key=len, reverse=True):
        rest = rest.replace(value, " ")
    if lang == "en":
        return bool(CJK.search(rest))
    rest = CODES.sub(" ", rest)
    return any(word not in ZH_KEPT_LATIN for word in re.findall(r"[A-Za-z]{2,}", rest))


async def read(page: Any, lang: str, shop: Shop, problems: list[str], *, live: bool = False,
               status: int | None = None) -> None:
    """Check the page now open; what is wrong goes to ``problems``."""
    if live:
        await page.wait_for_selector(LIVE, timeout=15_000)
    found = await page.evaluate(READ_PAGE)
    where = urlsplit(page.url).path
    keys = catalogue()["en"].keys()
    if found["lang"] != lang:
        problems.append(f"{where}: <html lang={found['lang']}>")
    title = found["title"]
    if untranslated(lang, title, lang, shop.data) or (lang == "zh-CN" and not CJK.search(title)):
        problems.append(f"{where}: <title> {title!r}")
    for text, text_lang, tag in found["texts"]:
        if untranslated(lang, text, text_lang, shop.data):
            problems.append(f"{where}: {tag} {text[:120]!r}")
        shown_keys = [k for k in KEY.findall(re.sub(r"\{[^}]*\}", "", text)) if k in keys]
        if shown_keys:
            problems.append(f"{where}: {tag} shows the key {shown_keys[0]}")


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
async def test_every_page_speaks_the_readers_language(dev_live: LiveServer, browser: Any,
                                                      lang: str):
    """QA: every page was audited in both languages; this keeps them so (one regressed
    template, a Python error text shown as is, or a key left out of a catalog fails it)."""
    shop = await furnish(dev_live, lang)
    base = dev_live.base
    other = "en" if lang == "zh-CN" else "zh-CN"
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    problems: list[str] = []

    async def visit(path: str, status: int = 200, *, live: bool = False) -> None:
        response = await page.goto(base + path)
        assert response is not None
        assert response.status == status, path
        await read(page, lang, shop, problems, live=live)

    # The help center (its language is in the path), the trust pages, the error pages.
    await visit(f"/help/{lang}?lang={lang}")
    await visit(f"/help/{lang}/categories/deposits")
    await visit(f"/help/{lang}/articles/{shop.slug}")
    await visit(f"/help/{lang}/search?q={WORDS[lang]['title'][:4]}")
    await visit(f"/help/{lang}/search?q={WORDS[lang]['search']}")
    await visit(f"/help/{lang}/status")
    await visit(f"/help/{lang}/articles/no-such-article", 404)
    await visit("/verify")
    await visit("/verify?kind=domain&value=exchange.example")
    await visit("/verify?kind=domain&value=exchange-login.example")
    await visit(shop.identity_path)
    async with page.expect_navigation():  # read the sign-in, not the page it leaves
        await page.click("form button[type=submit]")  # on to the (demo) exchange's sign-in
    await read(page, lang, shop, problems)
    await visit("/demo/exchange?customer=no%20such", 422)
    await visit("/portal")
    # The portal, as the customer.
    await visit(f"/portal/sso?token={shop.customer_token}")
    await visit("/portal/tickets/new")
    await visit(f"/portal/tickets/{shop.number}")
    # What people wrote carries its language (a zh ticket read in the en portal is marked so).
    short = "zh" if lang == "zh-CN" else "en"
    assert await page.locator(f'h1[lang="{short}"]').count() == 1
    assert await page.locator(f'.msg-body[lang="{short}"]').count() == 1
    await visit(f"/portal/tickets/{shop.resolved}")
    assert await page.locator('[data-testid="rating-form"]').count() == 1
    await visit("/portal/security")
    await visit("/portal/tickets/KF-ZZZZZZ", 404)
    # The demo exchange with the widget open.
    await visit("/demo/exchange")
    widget = page.locator("#kefu-widget")
    await widget.locator('[data-testid="kefu-launcher"]').click()
    await widget.locator('[data-testid="kefu-panel"]').wait_for()
    await read(page, lang, shop, problems)
    # The console, as the admin; then a plain agent's 403.
    await visit("/agent/login")
    await page.fill("#email", "admin@kefu.test")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/agent")
    await read(page, lang, shop, problems, live=True)
    await page.locator('[data-testid="notifications-button"]').click()
    await page.locator('[data-testid="notifications-list"] li').first.wait_for()
    await read(page, lang, shop, problems)
    for path in (f"/agent/tickets/{shop.number}", f"/agent/tickets/{shop.resolved}",
                 f"/agent/tickets/{shop.number}/trust", "/agent/supervisor", "/agent/macros",
                 "/agent/kb", "/agent/kb/new", f"/agent/kb/articles/{shop.slug}",
                 f"/agent/kb/articles/{shop.slug}/translate?target={other}",
                 f"/agent/kb/articles/{shop.slug}/versions?translation={lang}", "/agent/kb/media",
                 "/agent/kb/feedback", "/agent/kb/gaps", "/agent/status",
                 "/agent/trust/channels", "/agent/review"):
        await visit(path, live=True)
    await visit("/agent/tickets/KF-ZZZZZZ", 404)
    await visit(f"/agent/kb/articles/{shop.slug}/translate", 422)  # no language to write in
    await context.clear_cookies()
    await visit(f"/agent/login?lang={lang}")
    await page.fill("#email", "colleague@kefu.test")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/agent")
    await visit("/agent/supervisor", 403)
    await context.close()

    assert problems == [], "\n".join(problems)
    assert errors == []
