"""The public help center: stable URLs per language, articles with SEO basics and a fallback
language, search (page and instant fragment), votes without JavaScript, drafts hidden from the
public, the sitemap, and the headers every page carries."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from kefu.kb.models import Article, ArticleVote, SearchLog
from tests.factories import World, make_world
from tests.kb.support import (
    DEPOSIT_ZH,
    make_article,
    make_category,
    use_fast_search,
)
from tests.web.browser import agent_sign_in, portal_sign_in

SLUG = "deposit-not-credited"


@pytest.fixture(autouse=True)
def fast_search(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_search(monkeypatch)


async def _help_center(app: FastAPI) -> World:
    """Deposits with two published articles (one in en and zh-CN, one in en only) and a
    draft."""
    world = await make_world(app)
    await make_category(app, world.admin)
    await make_article(app, world.admin, translations={"zh-CN": ("充值未到账", DEPOSIT_ZH)})
    await make_article(app, world.admin, slug="deposit-wrong-network",
                       title="I sent a deposit on the wrong network",
                       summary="Recovering a deposit sent on another network.",
                       body="Deposits on an unsupported network are not credited.\n\n"
                            "## Can it be recovered?\nSometimes, for a fee.")
    await make_article(app, world.admin, slug="draft-article", title="Unfinished draft",
                       publish=False)
    return world


@pytest.mark.parametrize(("request_kwargs", "location"), [
    ({}, "/help/en"),
    ({"headers": {"Accept-Language": "zh"}}, "/help/zh-CN"),
    ({"headers": {"Accept-Language": "fr-FR, zh-TW;q=0.8, en;q=0.5"}}, "/help/zh-CN"),
    ({"params": {"q": "USDT deposit"}}, "/help/en/search?q=USDT+deposit"),
    ({"params": {"topic": "futures"}}, "/help/en/categories/trading"),
])
async def test_entry_points_redirect(
    client: httpx.AsyncClient, request_kwargs: dict[str, object], location: str
) -> None:
    path = "/help/search" if "params" in request_kwargs else "/help"
    response = await client.get(path, **request_kwargs)  # type: ignore[arg-type]
    assert response.status_code == 303
    assert response.headers["location"] == location
    assert (await client.get("/")).headers["location"] == "/help"


async def test_a_signed_in_customer_is_sent_to_their_own_language(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    await portal_sign_in(client, app.state.settings, "cust-zh", lang="zh-CN")
    client.cookies.delete("kefu_lang")
    headers = {"Accept-Language": "en"}
    assert (await client.get("/help", headers=headers)).headers["location"] == "/help/zh-CN"
    searched = await client.get("/help/search", params={"q": "提币"}, headers=headers)
    assert searched.headers["location"].startswith("/help/zh-CN/search")


async def test_home_in_both_languages(app: FastAPI, client: httpx.AsyncClient) -> None:
    await _help_center(app)
    english = await client.get("/help/en")
    assert english.status_code == 200
    page = english.text
    assert '<html lang="en">' in page
    assert "How can we help?" in page
    assert 'href="/help/en/categories/deposits">Deposits</a>' in page
    assert f'href="/help/en/articles/{SLUG}">My deposit has not arrived</a>' in page
    assert "Unfinished draft" not in page
    assert 'hx-get="/help/en/search/instant"' in page
    assert 'aria-live="polite"' in page
    assert 'href="/portal/tickets/new" data-open-chat' in page
    assert '<link rel="alternate" hreflang="zh-CN" href="http://kefu.test/help/zh-CN">' in page

    chinese = await client.get("/help/zh-CN")
    assert '<html lang="zh-CN">' in chinese.text
    assert "有什么可以帮您" in chinese.text
    assert ">充值</a>" in chinese.text
    assert f'href="/help/zh-CN/articles/{SLUG}">充值未到账</a>' in chinese.text
    # An article without Chinese is listed with its language.
    assert 'lang-badge">英语</span>' in chinese.text  # named in the page's words, not "en"
    # Reading in Chinese makes Chinese the interface language elsewhere too.
    assert "kefu_lang=zh-CN" in chinese.headers["set-cookie"]
    assert (await client.get("/help")).headers["location"] == "/help/zh-CN"


async def test_language_urls(app: FastAPI, client: httpx.AsyncClient) -> None:
    await _help_center(app)
    assert (await client.get("/help/fr")).status_code == 404
    assert (await client.get("/help/not_a-tag")).status_code == 404
    moved = await client.get("/help/zh-cn/articles/" + SLUG, params={"x": "1"})
    assert moved.status_code == 301
    assert moved.headers["location"] == f"/help/zh-CN/articles/{SLUG}?x=1"
    assert (await client.get("/help/zh")).headers["location"] == "/help/zh-CN"
    # Apps spell locales with an underscore.
    assert (await client.get("/help/zh_CN")).headers["location"] == "/help/zh-CN"
    assert (await client.get("/help/zh_cn/status")).headers["location"] == "/help/zh-CN/status"
    assert (await client.get("/help/en_US")).status_code == 404  # as en-US
    # Another region or script is not another spelling: no Simplified Chinese at zh-TW.
    for other in ("zh-TW", "zh-Hant", "zh-hant-tw"):
        assert (await client.get(f"/help/{other}")).status_code == 404, other
        assert (await client.get(f"/help/{other}/articles/{SLUG}")).status_code == 404, other


async def test_language_urls_of_a_bare_content_language(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A language served without a region: its other spellings redirect, a region is a 404."""
    world = await _help_center(app)
    await make_article(app, world.admin, slug="ja-deposits", lang="ja",
                       title="入金が反映されない", body="入金は数分で反映されます。")
    assert (await client.get("/help/ja")).status_code == 200
    assert (await client.get("/help/JA")).headers["location"] == "/help/ja"
    assert (await client.get("/help/ja-JP")).status_code == 404
    assert (await client.get("/help/ja-JP/articles/ja-deposits")).status_code == 404


async def test_article_page(app: FastAPI, client: httpx.AsyncClient) -> None:
    await _help_center(app)
    response = await client.get(f"/help/en/articles/{SLUG}")
    assert response.status_code == 200
    page = response.text
    assert "<title>My deposit has not arrived · " in page
    assert '<meta name="description" content="Why a deposit can take longer.">' in page
    assert f'<link rel="canonical" href="http://kefu.test/help/en/articles/{SLUG}">' in page
    for code in ("en", "zh-CN"):
        assert (f'<link rel="alternate" hreflang="{code}" '
                f'href="http://kefu.test/help/{code}/articles/{SLUG}">') in page
    assert (f'<link rel="alternate" hreflang="x-default" '
            f'href="http://kefu.test/help/en/articles/{SLUG}">') in page
    crumbs = re.search(r'<nav class="breadcrumbs".*?</nav>', page, re.DOTALL)
    assert crumbs is not None
    assert 'href="/help/en">Help Center</a>' in crumbs.group(0)
    assert 'href="/help/en/categories/deposits">Deposits</a>' in crumbs.group(0)
    assert "Troubleshooting" in crumbs.group(0)
    assert '<h2 id="check-the-confirmations">Check the confirmations</h2>' in page
    related = re.search(r'<section class="panel" aria-labelledby="related-title">.*?</section>',
                        page, re.DOTALL)
    assert related is not None
    assert 'href="/help/en/articles/deposit-wrong-network"' in related.group(0)
    assert re.findall(r'href="[^"]*#', related.group(0)) == []  # to the top, not a section
    assert f'action="/help/en/articles/{SLUG}/vote"' in page
    assert 'name="helpful" value="yes"' in page
    assert 'name="helpful" value="no"' in page
    assert "fallback-notice" not in page
    csp = response.headers["content-security-policy"]
    assert "frame-src https://www.youtube-nocookie.com" in csp
    assert "unsafe-inline" not in csp

    chinese = await client.get(f"/help/zh-CN/articles/{SLUG}")
    assert "<h1 id=\"article-title\">充值未到账</h1>" in chinese.text
    assert '<h2 id="检查确认数">检查确认数</h2>' in chinese.text


async def test_missing_translation_falls_back_with_a_notice(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _help_center(app)
    response = await client.get("/help/zh-CN/articles/deposit-wrong-network")
    assert response.status_code == 200
    page = response.text
    assert '<html lang="zh-CN">' in page
    assert 'data-testid="fallback-notice"' in page
    assert "本文暂无简体中文版本，以下为英语版本。" in page  # languages named in Chinese
    assert '<article class="panel article" lang="en"' in page
    assert ('<link rel="canonical" href="http://kefu.test/help/en/articles/'
            'deposit-wrong-network">') in page
    # The switch on the English page leads here, not to the Chinese home page; hreflang
    # names only the version there is.
    english = (await client.get("/help/en/articles/deposit-wrong-network")).text
    assert 'href="/help/zh-CN/articles/deposit-wrong-network" hreflang="zh-CN"' in english
    assert 'rel="alternate" hreflang="zh-CN"' not in english


async def test_fallback_notice_names_languages_in_the_page_language(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    world = await _help_center(app)
    await make_article(app, world.admin, slug="ja-deposits", lang="ja",
                       title="入金が反映されない", body="入金は数分で反映されます。")
    english = (await client.get("/help/en/articles/ja-deposits")).text
    assert ("This article is not available in English yet, so it is shown in Japanese."
            in english)
    japanese = (await client.get(f"/help/ja/articles/{SLUG}")).text  # an English interface
    assert "This article is not available in Japanese yet, so it is shown in English." in \
        japanese


async def test_error_pages_speak_the_help_page_language(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """An error on a help page is in that page's language, whatever the reader's cookie or
    browser says."""
    await _help_center(app)
    english_reader = {"Accept-Language": "en"}
    too_long = await client.get("/help/zh-CN/search", params={"q": "充" * 201},
                                headers=english_reader)
    assert too_long.status_code == 422
    assert '<html lang="zh-CN">' in too_long.text
    assert "操作未完成" in too_long.text
    assert "表单或链接中有无效的内容，请检查后重试。" in too_long.text
    assert "invalid value" not in too_long.text
    assert "Go back" not in too_long.text
    missing = await client.get("/help/zh-CN/articles/no-such-article", headers=english_reader)
    assert missing.status_code == 404
    assert '<html lang="zh-CN">' in missing.text
    chinese_reader = {"Accept-Language": "zh-CN"}
    english = await client.get("/help/en/search", params={"q": "x" * 201},
                               headers=chinese_reader)
    assert english.status_code == 422
    assert '<html lang="en">' in english.text
    assert "Something in the form or the link is not valid." in english.text


async def test_drafts_are_hidden_from_the_public_not_from_agents(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    world = await _help_center(app)
    hidden = await client.get("/help/en/articles/draft-article")
    assert hidden.status_code == 404
    assert "text/html" in hidden.headers["content-type"]
    assert (await client.get("/help/en/articles/no-such-article")).status_code == 404
    await agent_sign_in(client, world.agent.email)
    preview = await client.get("/help/en/articles/draft-article")
    assert preview.status_code == 200
    assert 'data-testid="draft-preview"' in preview.text
    assert '<meta name="robots" content="noindex">' in preview.text
    assert "/vote" not in preview.text


async def test_views_are_counted_for_readers(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Once per reader and article per half hour; not crawlers, scripts or agents."""
    world = await _help_center(app)
    url = f"/help/en/articles/{SLUG}"
    for browser in ("Mozilla/5.0 (iPhone) Safari/604.1", "Mozilla/5.0 (X11) Firefox/128.0"):
        for _ in range(3):  # reloading counts once
            assert (await client.get(url, headers={"User-Agent": browser})).status_code == 200
    for robot in ("Googlebot/2.1", "curl/8.5.0", "python-requests/2.32"):
        assert (await client.get(url, headers={"User-Agent": robot})).status_code == 200
    await agent_sign_in(client, world.agent.email)
    await client.get(url, headers={"User-Agent": "Mozilla/5.0 (Mac) Chrome/131"})  # an agent
    async with app.state.db.transaction() as session:
        views = await session.scalar(select(Article.views).where(Article.slug == SLUG))
    assert views == 2


async def test_vote_without_javascript(app: FastAPI, client: httpx.AsyncClient) -> None:
    await _help_center(app)
    url = f"/help/zh-CN/articles/{SLUG}/vote"
    voted = await client.post(url, data={"helpful": "no", "comment": "没找到我的网络",
                                         "article_lang": "zh-CN"})
    assert voted.status_code == 303
    assert voted.headers["location"] == f"/help/zh-CN/articles/{SLUG}?voted=no#feedback"
    thanks = await client.get(voted.headers["location"])
    assert 'data-testid="vote-thanks"' in thanks.text
    # The answer given is shown, and answering again starts from its comment.
    assert "您的回答：没有帮助" in thanks.text
    assert ">没找到我的网络</textarea>" in thanks.text
    assert 'value="no" aria-pressed="true"' in thanks.text
    again = await client.post(url, data={"helpful": "yes", "article_lang": "zh-CN"})
    assert again.status_code == 303
    async with app.state.db.transaction() as session:
        votes = list(await session.scalars(select(ArticleVote)))
        counts = (await session.execute(select(Article.helpful_count, Article.unhelpful_count)
                                        .where(Article.slug == SLUG))).one()
    # The second vote replaces the first, comment included: it had none.
    assert [(v.helpful, v.comment, v.lang) for v in votes] == [(True, "", "zh-CN")]
    assert tuple(counts) == (1, 0)
    await client.post(url, data={"helpful": "no", "comment": "网络不对", "article_lang": "en"})
    async with app.state.db.transaction() as session:
        votes = list(await session.scalars(select(ArticleVote)))
    assert [(v.helpful, v.comment, v.lang) for v in votes] == [(False, "网络不对", "en")]
    assert (await client.post("/help/en/articles/draft-article/vote",
                              data={"helpful": "yes"})).status_code == 404


async def test_a_query_is_searched_and_shown_without_bidi_overrides(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    await _help_center(app)
    reversed_query = await client.get("/help/en/search", params={"q": "\u202eusdt deposit"})
    assert "\u202e" not in reversed_query.text
    assert "“usdt deposit”" in reversed_query.text


async def test_search_page_and_instant_search(app: FastAPI, client: httpx.AsyncClient) -> None:
    await _help_center(app)
    results = await client.get("/help/en/search", params={"q": "confirmations"})
    assert results.status_code == 200
    assert '<meta name="robots" content="noindex">' in results.text
    # Not indexed, but described like every help page (in the page's language).
    assert '<meta name="description" content="Answers about deposits' in results.text
    assert 'href="/help/zh-CN/search?q=confirmations"' in results.text  # the switch keeps it
    chinese = await client.get("/help/zh-CN/search")  # no query: nothing logged
    assert '<meta name="robots" content="noindex">' in chinese.text
    assert '<meta name="description" content="充值、提现、账户安全' in chinese.text
    link = re.search(rf'href="(/help/en/articles/{SLUG}\?sid=[^"#]+#check-the-confirmations)"',
                     results.text)
    assert link is not None
    none = await client.get("/help/en/search", params={"q": "<b>zzqx</b>"})
    assert "No articles for “&lt;b&gt;zzqx&lt;/b&gt;”" in none.text
    assert "<b>zzqx</b>" not in none.text

    # Typing: one fragment per pause, one log row per search box.
    page = await client.get("/help/en")
    sid = re.search(r'name="sid" value="([^"]+)"', page.text)
    assert sid is not None
    for typed in ("conf", "confirmations"):
        fragment = await client.get("/help/en/search/instant",
                                    params={"q": typed, "sid": sid.group(1)},
                                    headers={"HX-Request": "true"})
        assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert f'href="/help/en/articles/{SLUG}?sid={sid.group(1)}#check-the-confirmations"' in \
        fragment.text
    assert "/help/en/search?q=confirmations" in fragment.text
    empty = await client.get("/help/en/search/instant", params={"q": ""})
    assert empty.text.strip() == ""
    clicked = await client.get(f"/help/en/articles/{SLUG}", params={"sid": sid.group(1)})
    assert clicked.status_code == 200
    async with app.state.db.transaction() as session:
        rows = {r.id.hex: r for r in await session.scalars(select(SearchLog))}
    instant = rows[sid.group(1).replace("-", "")]
    assert (instant.query, instant.source, instant.clicked_slug) == (
        "confirmations", "instant", SLUG)
    assert len(rows) == 3  # the two search pages and the one search box
    first_sid = parse_qs(urlsplit(link.group(1)).query)["sid"][0]
    assert rows[first_sid.replace("-", "")].results == 1


async def test_every_search_box_searches_and_no_search_overwrites_another(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """QA: the category page's box sent ``sid=`` (empty) and got a 422 page, instant results
    too; a search from a results page replaced the search before it in the log (and in the
    gaps report), as did a shared results link."""
    await _help_center(app)
    category = await client.get("/help/en/categories/deposits")
    sid = re.search(r'name="sid" value="([^"]*)"', category.text)
    assert sid is not None
    assert sid.group(1)
    for params in ({"q": "confirmations", "sid": sid.group(1)}, {"q": "confirmations", "sid": ""},
                   {"q": "confirmations", "sid": "not-a-uuid"}):
        assert (await client.get("/help/en/search/instant", params=params)).status_code == 200
        page = await client.get("/help/en/search", params=params)
        assert page.status_code == 200
        assert f"/help/en/articles/{SLUG}" in page.text

    gap = await client.get("/help/en/search", params={"q": "qwzxfailone"})
    gap_sid = re.search(r'name="sid" value="([^"]+)"', gap.text)
    assert gap_sid is not None
    # the results page's box, and a shared link to the first results page
    await client.get("/help/en/search", params={"q": "confirmations", "sid": gap_sid.group(1)})
    async with app.state.db.transaction() as session:
        first = await session.scalar(select(SearchLog).where(SearchLog.query == "qwzxfailone"))
    assert first is not None
    await client.get("/help/en/search", params={"q": "deposit", "sid": str(first.id)})
    async with app.state.db.transaction() as session:
        queries = [r.query for r in await session.scalars(select(SearchLog))]
    assert queries.count("qwzxfailone") == 1
    assert "deposit" in queries


async def test_sitemap_and_robots(app: FastAPI, client: httpx.AsyncClient) -> None:
    await _help_center(app)
    sitemap = await client.get("/sitemap.xml")
    assert sitemap.status_code == 200
    assert sitemap.headers["content-type"].startswith("application/xml")
    body = sitemap.text
    assert 'xmlns:xhtml="http://www.w3.org/1999/xhtml"' in body
    entry = re.search(rf"<url><loc>http://kefu.test/help/zh-CN/articles/{SLUG}</loc>.*?</url>",
                      body)
    assert entry is not None
    assert (f'<xhtml:link rel="alternate" hreflang="en" '
            f'href="http://kefu.test/help/en/articles/{SLUG}"/>') in entry.group(0)
    assert "<loc>http://kefu.test/help/en/articles/deposit-wrong-network</loc>" in body
    assert "zh-CN/articles/deposit-wrong-network" not in body
    assert "draft-article" not in body
    assert "<loc>http://kefu.test/help/zh-CN/categories/deposits</loc>" in body
    robots = await client.get("/robots.txt")
    assert "Sitemap: http://kefu.test/sitemap.xml" in robots.text
    assert "Disallow: /agent" in robots.text


async def test_pages_carry_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/help/en")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in response.text  # no inline scripts: CSP would block them
    assert "No articles yet" in response.text


async def test_static_assets_are_served(client: httpx.AsyncClient) -> None:
    htmx = await client.get("/static/htmx.min.js")
    assert htmx.status_code == 200
    assert htmx.text.startswith("/*! htmx 2.")
    css = await client.get("/static/kefu.css")
    assert css.status_code == 200
    assert "white-space: pre-wrap" in css.text
    help_css = await client.get("/help/assets/help.css", params={"v": "1"})
    assert help_css.headers["content-type"].startswith("text/css")
    assert ".article-body" in help_css.text
    assert (await client.get("/help/assets/other.css")).status_code == 404


async def test_signed_out_portal_pages(client: httpx.AsyncClient) -> None:
    landing = await client.get("/portal")
    assert landing.status_code == 200
    assert "Sign in through the exchange" in landing.text
    ticket = await client.get("/portal/tickets/KF-2345AB")
    assert ticket.status_code == 303
    assert ticket.headers["location"] == "/portal?next=%2Fportal%2Ftickets%2FKF-2345AB"
    assert ticket.headers["cache-control"] == "no-store"


async def test_a_missing_help_page_keeps_its_language(client: httpx.AsyncClient) -> None:
    missing = await client.get("/help/zh-CN/articles/old-removed-article",
                               headers={"Accept-Language": "en"})
    assert missing.status_code == 404
    assert "<h1 id=\"error-title\">找不到该页面</h1>" in missing.text
    assert "<title>找不到该页面" in missing.text
    assert 'href="/help/en/articles/old-removed-article"' in missing.text  # the switch
    assert 'href="/help/zh-CN">帮助中心</a>' in missing.text
    assert "在帮助中心找不到该页面。" in missing.text  # no "or ticket" on a help page
    assert "或工单" not in missing.text
    english = await client.get("/help/en/articles/old-removed-article")
    assert "Page not found" in english.text
    assert "We could not find that page in the help center." in english.text
    underscore = await client.get("/help/zh_TW/articles/old-removed-article")
    assert underscore.status_code == 404
    assert "<title>找不到该页面" in underscore.text  # in the language the URL names


def test_every_demo_category_has_its_own_icon() -> None:
    """QA: Earn and Contacting support showed the Fees card's percent sign (the icon macro's
    fallback); any category without an icon gets a plain page, never another topic's."""
    from pathlib import Path

    import kefu.demo
    from kefu.kb.loader import CATEGORIES_FILE, read_categories
    from kefu.web.help_center import ICONS
    from kefu.web.render import build_environment

    slugs = [slug for slug, _ in read_categories(
        Path(kefu.demo.__file__).parent / "kb" / CATEGORIES_FILE)]
    macros = build_environment().get_template("_macros.html").make_module({"viewer": None})
    drawn = {slug: str(macros.topic_icon(ICONS.get(slug, "other")))  # type: ignore[attr-defined]
             for slug in slugs}
    assert len(set(drawn.values())) == len(slugs)  # ten categories, ten pictures
    assert str(macros.topic_icon("other")) not in drawn.values()  # type: ignore[attr-defined]


async def test_results_in_another_language_open_in_the_readers_help_center(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    """QA: from the Chinese help center, an English-only article found by search (page, as you
    type) or listed as related linked to /help/en/…: the reader landed in the English help
    center, and reading there turned their interface (portal included) to English. The
    category pages already link to /help/zh-CN/…, which shows it with a notice."""
    await _help_center(app)
    for path in ("/help/zh-CN/search", "/help/zh-CN/search/instant"):
        found = (await client.get(path, params={"q": "wrong network"})).text
        assert re.search(r'href="/help/zh-CN/articles/deposit-wrong-network\?sid=', found)
        assert "/help/en/articles/" not in found
        # Marked with its language, as in listings.
        assert re.search(r'class="badge lang-badge"[^>]*>英语</span>', found)
    related = re.search(r'aria-labelledby="related-title">.*?</section>',
                        (await client.get(f"/help/zh-CN/articles/{SLUG}")).text, re.DOTALL)
    assert related is not None
    assert 'href="/help/zh-CN/articles/deposit-wrong-network"' in related.group(0)
    # The reader's own language keeps the link to the section found.
    english = (await client.get("/help/en/search/instant", params={"q": "confirmations"})).text
    assert re.search(rf'href="/help/en/articles/{SLUG}\?sid=[^"#]+#check-the-confirmations"',
                     english)
    assert "lang-badge" not in english
