"""The public help center, server-rendered: ``/help/{lang}/…`` with a home page, category pages,
article pages, search (a results page and an instant-search fragment for htmx), the status
page, ``/sitemap.xml`` and ``/robots.txt``.

URLs are stable per language (``/help/zh-CN/articles/deposit-not-credited``). The language in
the URL is the content's; the interface follows it where we have a UI catalogue (zh-CN, en) and
is English otherwise. An article missing in the reader's language is shown in another one with
a notice. Drafts are 404 to the public; agents see them on the same URL as a preview. Every
page works without JavaScript: votes are a plain form, search a plain GET."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape, quoteattr

from babel import Locale, UnknownLocaleError
from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu import __version__
from kefu.accounts.actor import ANONYMOUS, Actor
from kefu.core import clock
from kefu.core.errors import NotFound
from kefu.core.http import SessionDep, SettingsDep
from kefu.core.ids import new_id
from kefu.kb import deflection, finder, service, status
from kefu.kb.api import VOTE_LIMIT
from kefu.kb.indexing import ArticleIndex, article_index
from kefu.kb.languages import canonical_language, is_language_tag, localized, preference
from kefu.kb.media import CONTENT_TYPES, MediaStore
from kefu.kb.models import ArticleVote, Category, Section
from kefu.kb.render import VIDEO_FRAME_HOSTS, plain_excerpt
from kefu.kb.voters import known_voter, voter_for
from kefu.tickets.schemas import BIDI_CONTROLS
from kefu.trust.ratelimit import client_ip
from kefu.web import i18n
from kefu.web.render import (
    CONTENT_SECURITY_POLICY,
    TEMPLATES_DIR,
    PageRoute,
    PublicActorDep,
    clean,
    current_viewer,
    redirect,
    remember_session,
    render,
    render_partial,
)

ASSETS_DIR = TEMPLATES_DIR / "help" / "assets"
ASSET_TYPES = {"help.css": "text/css; charset=utf-8",
               "help.js": "text/javascript; charset=utf-8"}
TOP_ARTICLES = 8
INSTANT_RESULTS = 6
SEARCH_RESULTS = 20
RELATED = 5
# Article pages, and the editor pages that preview them (kb_editor), may show images from
# anywhere on https and players from the video hosts.
HELP_CSP = CONTENT_SECURITY_POLICY.replace(
    "img-src 'self' data:", "img-src 'self' data: https:"
) + "; media-src 'self'; frame-src " + " ".join(VIDEO_FRAME_HOSTS)
PAGE_HEADERS = {"Content-Security-Policy": HELP_CSP}


@dataclass(frozen=True)
class Topic:
    """A topic of the first help center (before articles existed): its old links
    (``/help/search?topic=futures``) lead to the category that took it over, whose card shows
    the topic's icon."""

    slug: str
    icon: str
    category: str


TOPICS: tuple[Topic, ...] = (
    Topic("deposits", "deposit", "deposits"),
    Topic("withdrawals", "withdrawal", "withdrawals"),
    Topic("security", "shield", "security"),
    Topic("kyc", "id", "kyc"),
    Topic("futures", "chart", "trading"),
    Topic("p2p", "people", "p2p"),
    Topic("api", "code", "api"),
    Topic("fees", "percent", "fees-vip"),
)
TOPICS_BY_SLUG = {topic.slug: topic for topic in TOPICS}
# Category cards' icons: the topics', and the demo's categories that came after them (any other
# category gets a plain page icon).
ICONS = {topic.category: topic.icon for topic in TOPICS} | {"earn": "coins", "support": "chat"}

router = APIRouter(route_class=PageRoute, include_in_schema=False,
                   dependencies=[Depends(remember_session)])
IndexDep = Annotated[ArticleIndex, Depends(article_index)]
LangPath = Annotated[str, Path(max_length=40)]
SlugPath = Annotated[str, Path(max_length=120)]


# ---------------------------------------------------------------- languages and rendering


def language_name(code: str) -> str:
    """A language's own name for itself (English, 简体中文, 日本語)."""
    if code in i18n.LANGUAGE_NAMES:
        return i18n.LANGUAGE_NAMES[code]
    try:
        return str(Locale.parse(code, sep="-").get_display_name(code) or code)
    except (ValueError, UnknownLocaleError):
        return code


def language_name_in(code: str, ui: str) -> str:
    """A language's name in the interface language ``ui`` (英语 on a Chinese page, Japanese on
    an English one), for sentences about a language; ``language_name`` is for menus of
    languages. A UI language is named without its region (Chinese (Simplified) rather than
    Chinese (Simplified, China)), and by its own name in itself (简体中文)."""
    if code == ui:
        return language_name(code)
    try:
        locale = Locale.parse(code, sep="-")
        reader = Locale.parse(ui, sep="-")
    except (ValueError, UnknownLocaleError):
        return code
    if code in i18n.SUPPORTED:
        locale = Locale(locale.language, script=locale.script)
    name = str(locale.get_display_name(reader) or code)
    if reader.language in ("zh", "ja"):
        name = name.replace(" (", "（").replace(")", "）").replace(", ", "，")
    return name


async def help_languages(session: AsyncSession) -> list[str]:
    """The UI languages, then every other language that has a public article."""
    published = await service.public_languages(session)
    return [*i18n.SUPPORTED, *(code for code in published if code not in i18n.SUPPORTED)]


@dataclass(frozen=True)
class HelpPage:
    """The language of a help page and the other languages it exists in."""

    lang: str
    languages: list[str]

    @property
    def ui(self) -> str:
        return i18n.normalize_language(self.lang) or i18n.DEFAULT_LANGUAGE


async def _info(request: Request, session: AsyncSession, raw: str) -> HelpPage | Response:
    """The page's language from the URL. A known language in another spelling (``zh-cn``,
    ``zh_CN``) or
    a bare language with a variant we serve (``zh``: the first, UI languages first) is a
    redirect; anything else a 404. A region or script we do not serve (``zh-TW``, ``zh-Hant``,
    ``ja-JP`` beside ``ja``) is not another variant's page: its readers would get, say,
    Simplified Chinese at a Traditional Chinese URL."""
    languages = await help_languages(session)
    if not is_language_tag(raw.replace("_", "-")):  # zh_CN, as apps spell locales
        raise NotFound("page")
    lang = canonical_language(raw.replace("_", "-"))
    if lang not in languages:
        if "-" in lang:
            raise NotFound("page")
        lang = next((code for code in languages if code.split("-", 1)[0] == lang), "")
        if not lang:
            raise NotFound("page")
    if lang != raw:
        rest = request.url.path[len(f"/help/{raw}"):]
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/help/{lang}{rest}{query}", status_code=301)
    return HelpPage(lang, languages)


def base_url(request: Request) -> str:
    settings = request.app.state.settings
    return (settings.public_url or str(request.base_url)).rstrip("/")


def page(
    request: Request, page_info: HelpPage, template: str, context: dict[str, Any], *,
    path_in: dict[str, str] | None = None, switch_to: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a help page in its language. ``path_in`` maps each language the page exists in
    to its path (hreflang alternates, and the language switch); default: the same path in every
    help language. ``switch_to``: where the language switch leads instead, when the page is
    worth reading in a language it has no version in (an article, in the reader's interface
    language with a notice)."""
    current = request.url.path.removeprefix(f"/help/{page_info.lang}")
    alternates = path_in or {code: f"/help/{code}{current}" for code in page_info.languages}
    translate = i18n.Translator(page_info.ui)
    response = render(request, template, {
        "lang": page_info.lang,
        "ui_lang": page_info.ui,
        "t": translate,
        "languages": [(code, language_name(code),
                       (switch_to or alternates).get(code, f"/help/{code}"))
                      for code in page_info.languages],
        "alternates": alternates,
        "language_names": {code: language_name(code) for code in page_info.languages},
        # a language named in the page's words (a badge on an English-only article: 英语)
        "language_in_ui": lambda code: language_name_in(code, page_info.ui),
        "base_url": base_url(request),
        "home": f"/help/{page_info.lang}",
        "section": "help",
        "css": f"/help/assets/help.css?v={__version__}",
        "js": f"/help/assets/help.js?v={__version__}",
        "banner": context.pop("banner", []),
        **context,
    }, headers=PAGE_HEADERS)
    _remember_ui_language(request, response, page_info.lang)
    return response


def _remember_ui_language(request: Request, response: Response, lang: str) -> None:
    """Reading the help center in a UI language makes it the portal's language too; not for a
    signed-in agent, who opens articles in every language from the editor ("view on site")
    and whose console keeps its own language."""
    if current_viewer(request).is_agent:
        return
    ui = i18n.normalize_language(lang)
    if ui == lang and request.cookies.get(i18n.LANG_COOKIE) != ui:
        response.set_cookie(i18n.LANG_COOKIE, ui, max_age=i18n.LANG_COOKIE_MAX_AGE,
                            samesite="lax", httponly=True, path="/",
                            secure=request.app.state.settings.session_cookie_secure)


async def _banner(session: AsyncSession, lang: str) -> list[dict[str, str]]:
    return [{"kind": e.kind, "state": e.state, "title": localized(e.titles, lang),
             "coin": e.coin, "network": e.network, "direction": e.direction or ""}
            for e in await status.banner(session)]


# ---------------------------------------------------------------- entry points and assets


@router.get("/")
async def root() -> RedirectResponse:
    return redirect("/help")


def search_text(q: str) -> str:
    """A typed query as searched and logged: no control or bidirectional-override characters
    (a reversed query would show reversed on the page and in the editors' gap report), spaces
    collapsed."""
    return " ".join(BIDI_CONTROLS.sub("", clean(q)).split())


def _reader_language(request: Request, actor: Actor) -> str:
    customer = actor.customer if actor.agent is None else None
    return i18n.choose_language(request, customer.language if customer else None)


@router.get("/help")
async def help_root(request: Request, actor: PublicActorDep) -> RedirectResponse:
    """To the help center in the reader's interface language (a signed-in customer's own)."""
    return redirect(f"/help/{_reader_language(request, actor)}")


@router.get("/help/search")
async def legacy_search(
    request: Request,
    actor: PublicActorDep,
    q: Annotated[str, Query(max_length=200)] = "",
    topic: Annotated[str, Query(max_length=32)] = "",
) -> RedirectResponse:
    """The first help center's search and topic links keep working."""
    lang = _reader_language(request, actor)
    chosen = TOPICS_BY_SLUG.get(topic)
    if chosen is not None:
        return redirect(f"/help/{lang}/categories/{chosen.category}")
    query = search_text(q)
    return redirect(f"/help/{lang}/search" + (f"?{urlencode({'q': query})}" if query else ""))


@router.get("/help/assets/{name}")
async def asset(name: Annotated[str, Path(max_length=32)]) -> Response:
    """The help center's stylesheet and script (versioned URLs: cached for a day)."""
    if name not in ASSET_TYPES:
        raise NotFound("page")
    return Response((ASSETS_DIR / name).read_bytes(), media_type=ASSET_TYPES[name],
                    headers={"Cache-Control": "public, max-age=86400",
                             "X-Content-Type-Options": "nosniff"})


@router.get("/help/media/{name}")
async def media(name: Annotated[str, Path(max_length=64)], settings: SettingsDep) -> Response:
    """An article's image or video. Named by content hash, so cacheable for a year."""
    path = MediaStore(settings).path_for(name)
    if path is None or not path.is_file():
        raise NotFound("file")
    return FileResponse(path, media_type=CONTENT_TYPES[name.rsplit(".", 1)[1]], headers={
        "Cache-Control": "public, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox"})


# ---------------------------------------------------------------- home and categories


@router.get("/help/{lang}", response_class=HTMLResponse)
async def home(request: Request, lang: LangPath, session: SessionDep, actor: PublicActorDep
               ) -> Response:
    info = await _info(request, session, lang)
    if isinstance(info, Response):
        return info
    listing = await service.public_listing(session)
    counts: dict[uuid.UUID, int] = {}
    for item in listing:
        counts[item.article.category_id] = counts.get(item.article.category_id, 0) + 1
    categories = [{"slug": c.slug, "name": localized(c.names, info.lang) or c.slug,
                   "description": localized(c.descriptions, info.lang),
                   "icon": ICONS.get(c.slug, "other"), "count": counts.get(c.id, 0)}
                  for c, _ in await service.list_categories(session) if counts.get(c.id)]
    top = sorted(listing, key=lambda item: (-item.article.views, item.article.slug))
    return page(request, info, "help/home.html", {
        "categories": categories,
        "top": [_listed(item, info.lang) for item in top[:TOP_ARTICLES]],
        "search_id": new_id(),
        "banner": await _banner(session, info.lang),
    })


def _listed(item: service.Listed, lang: str) -> dict[str, Any]:
    best = item.best(lang)
    return {"slug": item.article.slug, "title": best.title, "summary": best.summary,
            "lang": best.lang, "fallback": best.lang != lang,
            "url": service.article_url(item.article.slug, lang)}


@router.get("/help/{lang}/categories/{slug}", response_class=HTMLResponse)
async def category_page(
    request: Request, lang: LangPath, slug: SlugPath, session: SessionDep,
    actor: PublicActorDep,
) -> Response:
    info = await _info(request, session, lang)
    if isinstance(info, Response):
        return info
    category = await service.get_category(session, slug)
    listing = await service.public_listing(session, category_id=category.id)
    if not listing:
        raise NotFound("category")
    sections = await service.sections_of(session, category.id)
    groups = [{"slug": s.slug, "name": localized(s.names, info.lang) or s.slug,
               "articles": [_listed(i, info.lang) for i in listing
                            if i.article.section_id == s.id]} for s in sections]
    loose = [_listed(i, info.lang) for i in listing
             if i.article.section_id not in {s.id for s in sections}]
    if loose:
        groups.append({"slug": "", "name": "", "articles": loose})
    return page(request, info, "help/category.html", {
        "category": {"slug": category.slug, "name": localized(category.names, info.lang)
                     or category.slug,
                     "description": localized(category.descriptions, info.lang),
                     "icon": ICONS.get(category.slug, "other"),
                     "ticket_category": category.ticket_category},
        "groups": [g for g in groups if g["articles"]],
        "banner": await _banner(session, info.lang),
        "search_id": new_id(),
    })


# The search a page was reached from (``?sid=``), for the search log. It only attributes
# clicks and keystrokes, so a malformed or empty one (a form rendered without one) is ignored
# rather than refused: the reader still gets their results.
SearchIdQuery = Annotated[str, Query(max_length=64, description="search that led here")]


def _search_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None

# ---------------------------------------------------------------- articles


@router.get("/help/{lang}/articles/{slug}", response_class=HTMLResponse)
async def article_page(
    request: Request,
    lang: LangPath,
    slug: SlugPath,
    session: SessionDep,
    actor: PublicActorDep,
    index: IndexDep,
    sid: SearchIdQuery = "",
    deflection_key: Annotated[str | None, Query(alias="deflection", max_length=64)] = None,
    voted: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    info = await _info(request, session, lang)
    if isinstance(info, Response):
        return info
    article = await service.get_article(session, slug)
    translations = {t.lang: t for t in await service.translations_of(session, article.id)}
    public = {code: t for code, t in translations.items() if service.is_public(article, t)}
    shown = translations if actor.is_agent else public
    if not shown:
        raise NotFound("article")
    translation = shown[preference(info.lang, shown)[0]]
    preview = not service.is_public(article, translation)
    if not actor.is_agent and request.app.state.article_views.counts(
            client_ip(request), request.headers.get("user-agent", ""), article.slug):
        await service.record_view(session, article)
    search_id = _search_id(sid)
    if search_id is not None:
        await finder.record_click(session, search_id, article.slug)
    key = deflection.valid_key(deflection_key)
    if key is not None:
        await deflection.mark_read(session, key, article.slug)
    category = await session.get(Category, article.category_id)
    section = await session.get(Section, article.section_id) if article.section_id else None
    assert category is not None
    related = [] if preview else await finder.related_articles(
        session, index, article, translation, lang=info.lang, k=RELATED)
    path_in = {code: service.article_url(article.slug, code) for code in public}
    return page(request, info, "help/article.html", {
        "article": {"slug": article.slug, "updated_at": translation.updated_at,
                    "status": article.status},
        "translation": translation,
        "fallback": translation.lang != info.lang,
        "fallback_names": {"page": language_name_in(info.lang, info.ui),
                           "shown": language_name_in(translation.lang, info.ui)},
        "preview": preview,
        "category": {"slug": category.slug, "name": localized(category.names, info.lang)
                     or category.slug, "ticket_category": category.ticket_category},
        "section_name": localized(section.names, info.lang) if section else "",
        "description": translation.summary or plain_excerpt(translation.body_md),
        "canonical": service.article_url(article.slug, translation.lang),
        "translated_in": sorted(public),
        "related": related,
        "voted": voted if voted in ("yes", "no") else "",
        "my_vote": await _my_vote(session, request, actor, article.id),
        "page_url": f"/help/{info.lang}/articles/{article.slug}",
        "banner": await _banner(session, info.lang),
    }, path_in=path_in, switch_to={code: service.article_url(article.slug, code)
                                   for code in info.languages})


async def _my_vote(session: AsyncSession, request: Request, actor: Actor,
                   article_id: uuid.UUID) -> ArticleVote | None:
    """The reader's own earlier answer: shown, and its comment kept when they answer again."""
    key = known_voter(request, actor)
    if key is None:
        return None
    return await session.scalar(select(ArticleVote).where(
        ArticleVote.article_id == article_id, ArticleVote.voter == key))


@router.post("/help/{lang}/articles/{slug}/vote", dependencies=[Depends(VOTE_LIMIT)])
async def vote(
    request: Request,
    lang: LangPath,
    slug: SlugPath,
    session: SessionDep,
    actor: PublicActorDep,
    helpful: Annotated[str, Form(max_length=8)] = "",
    comment: Annotated[str, Form(max_length=4000)] = "",
    article_lang: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """"Was this helpful?" as a plain form (no JavaScript needed); back to the article."""
    info = await _info(request, session, lang)
    if isinstance(info, Response):
        return info
    if helpful not in ("yes", "no"):
        return redirect(f"/help/{info.lang}/articles/{quote(slug)}#feedback")
    article = await service.readable_article(session, _public(actor), slug)
    voter = voter_for(request, actor)
    voted_lang = canonical_language(article_lang) if is_language_tag(article_lang) else info.lang
    await service.vote(session, actor, article, voter=voter.key, lang=voted_lang,
                       helpful=helpful == "yes", comment=clean(comment)[:2000])
    response = redirect(f"/help/{info.lang}/articles/{article.slug}?voted={helpful}#feedback")
    voter.remember(request, response)
    return response


def _public(actor: Actor) -> Actor:
    """Votes go to published articles only, whoever votes (an agent's preview has no form)."""
    return ANONYMOUS if actor.is_agent else actor


# ---------------------------------------------------------------- search


async def _search(
    session: AsyncSession, index: ArticleIndex, *, query: str, lang: str, k: int,
    source: str, sid: uuid.UUID | None,
) -> tuple[list[finder.Found], uuid.UUID | None]:
    if not query:
        return [], sid
    found = await finder.find(session, index, query=query, lang=lang, k=k)
    log_id = await finder.log_search(session, query=query, lang=lang, source=source,
                                     found=found, log_id=sid)
    return found, log_id


@router.get("/help/{lang}/search", response_class=HTMLResponse)
async def search_page(
    request: Request,
    lang: LangPath,
    session: SessionDep,
    actor: PublicActorDep,
    index: IndexDep,
    q: Annotated[str, Query(max_length=200)] = "",
    sid: SearchIdQuery = "",
) -> Response:
    info = await _info(request, session, lang)
    if isinstance(info, Response):
        return info
    query = search_text(q)
    found, log_id = await _search(session, index, query=query, lang=info.lang,
                                  k=SEARCH_RESULTS, source="help",
                                  sid=_search_id(sid))
    asked = f"?{urlencode({'q': query})}" if query else ""  # the language switch keeps it
    return page(request, info, "help/search.html", {
        "query": query,
        "results": _results(found, log_id, info.lang),
        "search_id": new_id(),  # the box here starts a new search
        "banner": await _banner(session, info.lang),
    }, path_in={code: f"/help/{code}/search{asked}" for code in info.languages})


@router.get("/help/{lang}/search/instant", response_class=HTMLResponse)
async def instant_search(
    request: Request,
    lang: LangPath,
    session: SessionDep,
    actor: PublicActorDep,
    index: IndexDep,
    q: Annotated[str, Query(max_length=200)] = "",
    sid: SearchIdQuery = "",
) -> Response:
    """The results under the search box as you type: an HTML fragment for htmx."""
    info = await _info(request, session, lang)
    if isinstance(info, Response):
        return info
    query = search_text(q)
    found, log_id = await _search(session, index, query=query, lang=info.lang,
                                  k=INSTANT_RESULTS, source="instant",
                                  sid=_search_id(sid))
    html = render_partial(request, "help/_instant.html", {
        "lang": info.lang, "t": i18n.Translator(info.ui), "query": query,
        "language_in_ui": lambda code: language_name_in(code, info.ui),
        "results": _results(found, log_id, info.lang), "search_id": log_id,
    })
    return HTMLResponse(html, headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex",
                                       **PAGE_HEADERS})


def _results(found: list[finder.Found], log_id: uuid.UUID | None, lang: str
             ) -> list[dict[str, Any]]:
    """The relevant hits, each linking to its section with the search's id (for clicks). The
    link stays in the reader's help center (``lang``) also for an article shown in another
    language, as listings do: opening /help/en/… would turn a Chinese reader's interface to
    English."""
    items = []
    for item in found:
        if not item.relevant:
            continue
        anchor = item.url.partition("#")[2]
        link = (service.article_url(item.slug, lang) + (f"?sid={log_id}" if log_id else "")
                + (f"#{anchor}" if anchor else ""))
        items.append({"title": item.title, "lang": item.lang, "heading": item.heading,
                      "snippet": item.snippet, "link": link})
    return items


# ---------------------------------------------------------------- status page


@router.get("/help/{lang}/status", response_class=HTMLResponse)
async def status_page(request: Request, lang: LangPath, session: SessionDep,
                      actor: PublicActorDep) -> Response:
    info = await _info(request, session, lang)
    if isinstance(info, Response):
        return info
    now = clock.now()
    rows = [status.entry_read(e, info.lang) for e in await status.entries(session)]
    return page(request, info, "help/status.html", {
        "incidents": [r for r in rows if r.current and r.kind != "network"],
        "networks": [r for r in rows if r.current and r.kind == "network"],
        "upcoming": sorted((r for r in rows if r.starts_at > now), key=lambda r: r.starts_at),
        # latest ended first, as on any status page's history
        "recent": sorted((r for r in rows if r.ends_at is not None and r.ends_at <= now),
                         key=lambda r: r.ends_at or now, reverse=True),
        "banner": await _banner(session, info.lang),
    })


# ---------------------------------------------------------------- sitemap and robots


@router.get("/sitemap.xml")
async def sitemap(request: Request, session: SessionDep) -> Response:
    """Help center home pages, categories and every public translation, with ``xhtml:link``
    alternates between the languages of the same page."""
    base = base_url(request)
    languages = await help_languages(session)
    listing = await service.public_listing(session)
    entries: list[str] = []
    homes = {code: f"/help/{code}" for code in languages}
    entries += [_url(base, path, homes, None) for path in homes.values()]
    with_articles = {item.article.category_id for item in listing}
    for category, _ in await service.list_categories(session):
        if category.id in with_articles:
            paths = {code: f"/help/{code}/categories/{category.slug}" for code in languages}
            entries += [_url(base, path, paths, None) for path in paths.values()]
    for item in listing:
        paths = {code: service.article_url(item.article.slug, code) for code in item.translations}
        entries += [_url(base, paths[code], paths, t.updated_at)
                    for code, t in sorted(item.translations.items())]
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:xhtml="http://www.w3.org/1999/xhtml">\n' + "".join(entries) + "</urlset>\n")
    return Response(body, media_type="application/xml",
                    headers={"Cache-Control": "public, max-age=3600"})


def _url(base: str, path: str, alternates: dict[str, str], lastmod: datetime | None) -> str:
    lines = [f"  <url><loc>{escape(base + path)}</loc>"]
    if lastmod is not None:
        lines.append(f"<lastmod>{lastmod.date().isoformat()}</lastmod>")
    if len(alternates) > 1:
        for code, other in sorted(alternates.items()):
            lines.append(f'<xhtml:link rel="alternate" hreflang={quoteattr(code)} '
                         f"href={quoteattr(base + other)}/>")
    lines.append("</url>\n")
    return "".join(lines)


@router.get("/robots.txt")
async def robots(request: Request) -> Response:
    base = base_url(request)
    body = "\n".join([
        "User-agent: *",
        "Allow: /help/",
        "Disallow: /help/*/search",
        "Disallow: /agent",
        "Disallow: /portal",
        "Disallow: /api/",
        "Disallow: /demo/",
        f"Sitemap: {base}/sitemap.xml",
        "",
    ])
    return Response(body, media_type="text/plain; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=86400"})

