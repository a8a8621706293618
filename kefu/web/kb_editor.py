"""The knowledge-base editor in the agent console (``/agent/kb``) and the status page editor
(``/agent/status``).

Agents write drafts and translations; supervisors and admins publish and change live articles
(the service enforces it; the pages only hide the buttons). Every change is a plain form POST
in a savepoint that answers with a 303, or shows the form again with the reason and the typed
text. The Markdown preview is an htmx POST that returns the sanitized HTML the help center
will show.

The language being edited is ``?translation=`` (``/agent/kb/articles/{slug}?translation=zh-CN``),
never ``?lang=``: that is the interface language switch on every page, remembered in a cookie,
so opening a Chinese translation must not turn the console Chinese. Links from before the
rename (``?lang=zh-CN`` alone) are redirected to ``?translation=zh-CN``. The pages that show
article content (editor, preview, side by side) send the help center's CSP, so images and video
players appear as the help center will show them."""

from __future__ import annotations

import html
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from kefu import __version__
from kefu.accounts.actor import Actor
from kefu.core import clock
from kefu.core.errors import InvalidInput, KefuError
from kefu.core.http import SessionDep, SettingsDep
from kefu.db import savepoint
from kefu.kb import deflection, gaps, schemas, service, status
from kefu.kb.indexing import ArticleIndex, article_index
from kefu.kb.languages import canonical_language, is_language_tag, localized, preference
from kefu.kb.media import MediaStore
from kefu.kb.models import STATUS_DIRECTIONS, STATUS_KINDS, STATUS_STATES, Article
from kefu.kb.render import http_images, render_markdown
from kefu.tickets.attachments import CHUNK
from kefu.web import i18n
from kefu.web.agent import AgentPageDep, console_context
from kefu.web.help_center import PAGE_HEADERS, language_name
from kefu.web.render import (
    TYPED_TEXT,
    PageRoute,
    add_security_headers,
    clean,
    form_model,
    redirect,
    remember_session,
    render,
)

NOTICES = {"created", "saved", "published", "unpublished", "deleted", "status_saved",
           "status_deleted", "uploaded"}
T = TypeVar("T")

router = APIRouter(prefix="/agent", route_class=PageRoute, include_in_schema=False,
                   dependencies=[Depends(remember_session)])
IndexDep = Annotated[ArticleIndex, Depends(article_index)]
SlugPath = Annotated[str, Path(max_length=120)]
LangPath = Annotated[str, Path(max_length=16)]


async def _attempt(session: AsyncSession, action: Callable[[], Awaitable[T]]
                   ) -> tuple[T | None, KefuError | None]:
    """Run one form action in a savepoint; a refusal rolls it back and is returned."""
    try:
        async with savepoint(session):
            return await action(), None
    except KefuError as exc:
        return None, exc


def _lang(raw: str) -> str:
    if not is_language_tag(raw.strip()):
        raise InvalidInput("choose a language (a tag such as en, zh-CN or ja)",
                           code="invalid_language")
    return canonical_language(raw.strip())


def _tags(raw: str) -> list[str]:
    return sorted({t.strip().lower() for t in clean(raw).replace(",", " ").split() if t.strip()})


def _placement(raw: str) -> tuple[str, str | None]:
    """The placement select's value: ``category/section`` or ``category/``."""
    category, _, section = clean(raw).partition("/")
    if not category:
        raise InvalidInput("choose a category", code="category_required")
    return category, section or None


async def _chrome(request: Request, session: AsyncSession, actor: Actor, page: str
                  ) -> dict[str, Any]:
    """What every editor page shares: the console bar and who may publish."""
    return {"section": "agent", "kb_page": page, "can_publish": service.can_publish(actor),
            "help_css": f"/help/assets/help.css?v={__version__}",
            **await console_context(request, session, actor, page=f"kb-{page}")}


async def _placements(session: AsyncSession, lang: str) -> list[dict[str, Any]]:
    return [{"slug": c.slug, "name": localized(c.names, lang) or c.slug,
             "sections": [{"slug": s.slug, "name": localized(s.names, lang) or s.slug}
                          for s in sections]}
            for c, sections in await service.list_categories(session)]


def _ui(request: Request) -> str:
    return i18n.choose_language(request)


# ---------------------------------------------------------------- the list


@router.get("/kb", response_class=HTMLResponse)
async def kb_list(
    request: Request,
    session: SessionDep,
    actor: AgentPageDep,
    category: Annotated[str, Query(max_length=64)] = "",
    status_filter: Annotated[str, Query(alias="status", max_length=16)] = "",
    missing: Annotated[str, Query(max_length=16)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    ok: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    """Articles, newest change first, filtered by category, status, a missing translation."""
    ui = _ui(request)
    filters = service.ArticleFilters(
        category=clean(category) or None,
        status=status_filter if status_filter in ("draft", "published") else None,
        missing=canonical_language(missing) if is_language_tag(missing) else None,
        q=clean(q).strip() or None)
    items, next_cursor = await service.list_articles(session, actor, filters, lang=ui,
                                                     cursor=cursor or None, limit=50)
    chosen = {"category": filters.category or "", "status": filters.status or "",
              "missing": filters.missing or "", "q": filters.q or ""}
    query = {k: v for k, v in chosen.items() if v}
    since, until = gaps.week_window()
    languages = sorted({*i18n.SUPPORTED, *await service.public_languages(session)})
    placements = await _placements(session, ui)
    return render(request, "agent/kb_list.html", {
        **await _chrome(request, session, actor, "list"),
        "articles": items,
        "filters": chosen,
        "categories": placements,
        "category_names": {c["slug"]: c["name"] for c in placements},
        "section_names": {f"{c['slug']}/{s['slug']}": s["name"]
                          for c in placements for s in c["sections"]},
        "language_choices": [(code, language_name(code)) for code in languages],
        "next_url": f"/agent/kb?{urlencode({**query, 'cursor': next_cursor})}"
        if next_cursor else None,
        "deflection": await deflection.stats(session, since=since, until=until),
        "notice": ok if ok in NOTICES else "",
    })


# ---------------------------------------------------------------- preview


@router.post("/kb/preview", response_class=HTMLResponse)
async def preview(
    request: Request, actor: AgentPageDep,
    body_md: Annotated[str, Form(max_length=schemas.MAX_BODY)] = "",
) -> HTMLResponse:
    """The sanitized HTML of the Markdown being typed (htmx swaps it into the preview), after
    a warning when it has images on plain http (the help center shows those as links)."""
    markdown = clean(body_md)
    warning = _http_images_warning(i18n.Translator(_ui(request)), http_images(markdown))
    response = HTMLResponse(warning + render_markdown(markdown),
                            headers={"Cache-Control": "no-store", **PAGE_HEADERS})
    add_security_headers(response, request.url.path)
    return response


def _http_images_warning(t: i18n.Translator, urls: list[str]) -> str:
    """The preview's warning about images on plain http, "" when there are none."""
    if not urls:
        return ""
    text = t("kb.http_images", urls=", ".join(urls))
    return (f'<p class="alert alert-warn" role="alert" data-testid="kb-http-images">'
            f"{html.escape(text)}</p>")


# ---------------------------------------------------------------- new article


@router.get("/kb/new", response_class=HTMLResponse)
async def new_article(request: Request, session: SessionDep, actor: AgentPageDep
                      ) -> HTMLResponse:
    return await _new_page(request, session, actor, {})


async def _new_page(request: Request, session: AsyncSession, actor: Actor,
                    values: dict[str, str], error: KefuError | None = None) -> HTMLResponse:
    ui = _ui(request)
    return render(request, "agent/kb_new.html", {
        **await _chrome(request, session, actor, "new"),
        "placements": await _placements(session, ui),
        "values": {"slug": "", "placement": "", "tags": "", "position": "100", "lang": ui,
                   "title": "", "summary": "", "body_md": "", **values},
        "error": error,
        "page_url": "/agent/kb/new",
    }, status=error.status if error else 200, headers=PAGE_HEADERS)


@router.post("/kb/new", response_class=HTMLResponse)
async def create_article(
    request: Request,
    session: SessionDep,
    actor: AgentPageDep,
    index: IndexDep,
    slug: Annotated[str, Form(max_length=200)] = "",
    placement: Annotated[str, Form(max_length=200)] = "",
    tags: Annotated[str, Form(max_length=2000)] = "",
    position: Annotated[str, Form(max_length=10)] = "100",
    lang: Annotated[str, Form(max_length=40)] = "",
    title: Annotated[str, Form(max_length=TYPED_TEXT)] = "",
    summary: Annotated[str, Form(max_length=TYPED_TEXT)] = "",
    body_md: Annotated[str, Form(max_length=TYPED_TEXT)] = "",
) -> Response:
    values = {"slug": slug, "placement": placement, "tags": tags, "position": position,
              "lang": lang, "title": title, "summary": summary, "body_md": body_md}

    async def create() -> Article:
        category, section = _placement(placement)
        data = form_model(schemas.ArticleCreate, slug=clean(slug).strip().lower(),
                          category=category, section=section, tags=_tags(tags),
                          position=position.strip() or "100", lang=_lang(lang),
                          title=clean(title), summary=clean(summary).strip(),
                          body_md=clean(body_md))
        return await service.create_article(session, actor, data, index=index)

    article, error = await _attempt(session, create)
    if article is None:
        return await _new_page(request, session, actor, values, error)
    return redirect(_editor_url(article.slug, _lang(lang), ok="created"))


# ---------------------------------------------------------------- one article


async def _edit_page(
    request: Request, session: AsyncSession, actor: Actor, article: Article, lang: str, *,
    notice: str = "", error: KefuError | None = None, values: dict[str, str] | None = None,
    base_metadata: str | None = None, metadata_conflict: bool = False,
    base_version: int | None = None,
) -> HTMLResponse:
    """``base_metadata``: the metadata form's precondition when it is not the article's
    current ``metadata_etag`` (a refused metadata save keeps the one its form loaded, so the
    typed values still meet a colleague's change). ``metadata_conflict``: that save was
    refused because of such a change; the form keeps the typed values and starts from theirs."""
    ui = _ui(request)
    translations = {t.lang: t for t in await service.translations_of(session, article.id)}
    current = translations.get(lang)
    category, section = await service.placement_of(session, article)
    known = sorted({*i18n.SUPPORTED, *translations})
    feedback = await service.feedback(session, lang=ui, slug=article.slug, limit=10)
    placements = await _placements(session, ui)
    shown = {"title": current.title if current else "",
             "summary": current.summary if current else "",
             "body_md": current.body_md if current else "",
             "placement": f"{category}/{section or ''}",
             "tags": " ".join(article.tags), "position": str(article.position),
             **(values or {})}
    return render(request, "agent/kb_edit.html", {
        **await _chrome(request, session, actor, "edit"),
        "article": article,
        # the version this form starts from: after a conflict, the one that refused it; after
        # another refusal (an empty title), still the one it was loaded with
        "base_version": base_version if base_version is not None
        else await service.latest_version(session, current) if current else 0,
        # the metadata form's precondition: the metadata shown, or after a conflict, theirs
        "base_metadata": base_metadata or service.metadata_etag(article),
        # what "Publish" publishes: the saved version, as the page was loaded
        "saved_version": await service.latest_version(session, current) if current else 0,
        "metadata_conflict": metadata_conflict,
        "saved_metadata": {"placement": _placement_name(placements, category, section),
                           "tags": " ".join(article.tags), "position": article.position},
        "placements": placements,
        "lang": ui,
        "editing": lang,
        "translations": translations,
        "translation": current,
        "missing": [code for code in known if code not in translations],
        "language_names": {code: language_name(code) for code in {*known, lang}},
        "values": shown,
        # images readers would not see (plain http): the preview warns before any script runs
        "http_images": http_images(shown["body_md"]),
        "feedback": feedback,
        "notice": notice if notice in NOTICES else "",
        "error": error,
        "page_url": _editor_url(article.slug, lang),
    }, status=error.status if error else 200, headers=PAGE_HEADERS)


def _placement_name(placements: list[dict[str, Any]], category: str, section: str | None
                    ) -> str:
    """``Deposits › Troubleshooting`` in the interface language (the placement select's
    words); a category without a section is its name alone."""
    for c in placements:
        if c["slug"] == category:
            names = {s["slug"]: s["name"] for s in c["sections"]}
            return f"{c['name']} › {names.get(section, section)}" if section else c["name"]
    return f"{category}/{section or ''}"


def _editor_url(slug: str, lang: str, *, ok: str = "") -> str:
    """The editor of one translation (``ok``: the notice to show)."""
    query = {"translation": lang, **({"ok": ok} if ok else {})}
    return f"/agent/kb/articles/{quote(slug)}?{urlencode(query)}"


def _legacy_language_link(request: Request) -> Response | None:
    """A link from before ``?translation=`` (``?lang=zh-CN`` alone named the language being
    edited): the same page with ``?translation=``, and the interface language left as it is.
    With ``?translation=`` present, ``?lang=`` is the interface switch."""
    params = request.query_params
    if "translation" in params or "lang" not in params:
        return None
    query = [(k, v) for k, v in params.multi_items() if k != "lang"]
    query.append(("translation", params["lang"]))
    return RedirectResponse(f"{request.url.path}?{urlencode(query)}", status_code=301)


def _chosen_language(raw: str, article_languages: list[str], ui: str) -> str:
    if is_language_tag(raw):
        return canonical_language(raw)
    return preference(ui, article_languages)[0] if article_languages else ui


@router.get("/kb/articles/{slug}", response_class=HTMLResponse)
async def edit_article(
    request: Request,
    slug: SlugPath,
    session: SessionDep,
    actor: AgentPageDep,
    translation: Annotated[str, Query(max_length=16)] = "",
    ok: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """One translation's editor (``translation``: its language; default: the one nearest the
    interface language)."""
    if (legacy := _legacy_language_link(request)) is not None:
        return legacy
    article = await service.get_article(session, slug)
    languages = [t.lang for t in await service.translations_of(session, article.id)]
    return await _edit_page(request, session, actor, article,
                            _chosen_language(translation, languages, _ui(request)), notice=ok)


@router.post("/kb/articles/{slug}", response_class=HTMLResponse)
async def save_metadata(
    request: Request,
    slug: SlugPath,
    session: SessionDep,
    actor: AgentPageDep,
    index: IndexDep,
    placement: Annotated[str, Form(max_length=200)] = "",
    tags: Annotated[str, Form(max_length=2000)] = "",
    position: Annotated[str, Form(max_length=10)] = "100",
    lang: Annotated[str, Form(max_length=16)] = "en",
    base_metadata: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """The placement, tags and position. The form carries the ``metadata_etag`` it was loaded
    with: a save after a colleague changed them is refused (409) with the typed values kept."""
    article = await service.get_article(session, slug)
    base = base_metadata.strip()

    async def save() -> Article:
        category, section = _placement(placement)
        data = form_model(schemas.ArticleUpdate, category=category, section=section,
                          tags=_tags(tags), position=position.strip() or "100",
                          base_metadata_etag=base or None)
        return await service.update_article(session, actor, article, data, index=index)

    _, error = await _attempt(session, save)
    edit_lang = _lang(lang) if is_language_tag(lang) else "en"
    if error is not None:
        conflict = error.code == "edit_conflict"
        # after a conflict the form starts from theirs (saving again replaces it knowingly);
        # after any other refusal, still from what it was loaded with
        kept = None if conflict or error.code == "invalid_base_metadata_etag" else base
        return await _edit_page(request, session, actor, article, edit_lang, error=error,
                                values={"placement": placement, "tags": tags,
                                        "position": position},
                                base_metadata=kept, metadata_conflict=conflict)
    return redirect(_editor_url(article.slug, edit_lang, ok="saved"))


@router.post("/kb/articles/{slug}/translations/{lang}", response_class=HTMLResponse)
async def save_translation(
    request: Request,
    slug: SlugPath,
    lang: LangPath,
    session: SessionDep,
    actor: AgentPageDep,
    index: IndexDep,
    title: Annotated[str, Form(max_length=TYPED_TEXT)] = "",
    summary: Annotated[str, Form(max_length=TYPED_TEXT)] = "",
    body_md: Annotated[str, Form(max_length=TYPED_TEXT)] = "",
    back: Annotated[str, Form(max_length=16)] = "",
    source: Annotated[str, Form(max_length=16)] = "",
    base_version: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    article = await service.get_article(session, slug)
    language = _lang(lang)

    async def save() -> None:
        data = form_model(schemas.TranslationWrite, title=clean(title),
                          summary=clean(summary).strip(), body_md=clean(body_md),
                          base_version=base_version.strip() or None)
        await service.save_translation(session, actor, article, language, data, index=index)

    _, error = await _attempt(session, save)
    values = {"title": title, "summary": summary, "body_md": body_md}
    if error is not None:
        # After a conflict the form starts from the colleague's version (saving again replaces
        # it knowingly); after any other refusal, still from the one it was loaded with, or a
        # colleague's save in between would be overwritten unseen on the next try.
        kept = (int(base_version) if error.code != "edit_conflict"
                and base_version.strip().isdigit() else None)
        if back == "translate" and is_language_tag(source):
            return await _translate_page(request, session, actor, article,
                                         canonical_language(source), language, error=error,
                                         values=values, base_version=kept)
        return await _edit_page(request, session, actor, article, language, error=error,
                                values=values, base_version=kept)
    return redirect(_editor_url(article.slug, language, ok="saved"))


@router.post("/kb/articles/{slug}/publish", response_class=HTMLResponse)
async def publish(
    request: Request, slug: SlugPath, session: SessionDep, actor: AgentPageDep,
    index: IndexDep, lang: Annotated[str, Form(max_length=16)] = "",
    scope: Annotated[str, Form(max_length=16)] = "article",
    version: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """``version``: the translation's version shown to the publisher (a colleague's later
    save is refused rather than published unseen)."""
    return await _publication(request, session, actor, index, slug, lang, scope, publish=True,
                              version=int(version) if version.strip().isdigit() else None)


@router.post("/kb/articles/{slug}/unpublish", response_class=HTMLResponse)
async def unpublish(
    request: Request, slug: SlugPath, session: SessionDep, actor: AgentPageDep,
    index: IndexDep, lang: Annotated[str, Form(max_length=16)] = "",
    scope: Annotated[str, Form(max_length=16)] = "article",
) -> Response:
    return await _publication(request, session, actor, index, slug, lang, scope,
                              publish=False)


async def _publication(
    request: Request, session: AsyncSession, actor: Actor, index: ArticleIndex, slug: str,
    lang: str, scope: str, *, publish: bool, version: int | None = None,
) -> Response:
    """Publish or unpublish one translation (``scope=translation``) or the whole article."""
    article = await service.get_article(session, slug)
    language = _lang(lang)
    target = language if scope == "translation" else None

    async def go() -> Article:
        if publish:
            return await service.publish(session, actor, article, lang=target, index=index,
                                         version=version if target else None)
        return await service.unpublish(session, actor, article, lang=target, index=index)

    _, error = await _attempt(session, go)
    if error is not None:
        return await _edit_page(request, session, actor, article, language, error=error)
    notice = "published" if publish else "unpublished"
    return redirect(_editor_url(article.slug, language, ok=notice))


@router.post("/kb/articles/{slug}/delete", response_class=HTMLResponse)
async def delete(request: Request, slug: SlugPath, session: SessionDep, actor: AgentPageDep,
                 index: IndexDep) -> Response:
    article = await service.get_article(session, slug)

    async def go() -> None:
        await service.delete_article(session, actor, article, index=index)

    _, error = await _attempt(session, go)
    if error is not None:
        return await _edit_page(request, session, actor, article, _ui(request), error=error)
    return redirect("/agent/kb?ok=deleted")


# ---------------------------------------------------------------- translating side by side


async def _translate_page(
    request: Request, session: AsyncSession, actor: Actor, article: Article, source: str,
    target: str, *, error: KefuError | None = None, values: dict[str, str] | None = None,
    base_version: int | None = None,
) -> HTMLResponse:
    translations = {t.lang: t for t in await service.translations_of(session, article.id)}
    if source not in translations:
        source = preference(source, translations)[0]
    existing = translations.get(target)
    return render(request, "agent/kb_translate.html", {
        **await _chrome(request, session, actor, "translate"),
        "article": article,
        "base_version": base_version if base_version is not None
        else await service.latest_version(session, existing) if existing else 0,
        "source": translations[source],
        "target": target,
        "existing": existing,
        "language_names": {code: language_name(code)
                           for code in {*translations, target, *i18n.SUPPORTED}},
        "article_languages": sorted(translations),
        "values": {"title": existing.title if existing else "",
                   "summary": existing.summary if existing else "",
                   "body_md": existing.body_md if existing else "", **(values or {})},
        "error": error,
        "page_url": f"/agent/kb/articles/{article.slug}/translate?source={source}"
                    f"&target={target}",
    }, status=error.status if error else 200, headers=PAGE_HEADERS)


@router.get("/kb/articles/{slug}/translate", response_class=HTMLResponse)
async def translate(
    request: Request,
    slug: SlugPath,
    session: SessionDep,
    actor: AgentPageDep,
    source: Annotated[str, Query(max_length=16)] = "",
    target: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    """Source language on the left, the translation being written on the right."""
    article = await service.get_article(session, slug)
    languages = [t.lang for t in await service.translations_of(session, article.id)]
    target_lang = _lang(target)
    source_lang = _chosen_language(source, [c for c in languages if c != target_lang] or
                                   languages, "en")
    return await _translate_page(request, session, actor, article, source_lang, target_lang)


# ---------------------------------------------------------------- versions


@router.get("/kb/articles/{slug}/versions", response_class=HTMLResponse)
async def versions(
    request: Request,
    slug: SlugPath,
    session: SessionDep,
    actor: AgentPageDep,
    language: Annotated[str, Query(alias="translation", max_length=16)] = "en",
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> Response:
    """A translation's versions, newest first, and one version's diff from the one before."""
    if (legacy := _legacy_language_link(request)) is not None:
        return legacy
    article = await service.get_article(session, slug)
    translation = await service.get_translation(session, article, _lang(language))
    listed = await service.versions_of(session, translation)
    number = version or (listed[0].number if listed else None)
    detail = await service.version_detail(session, translation, number) if number else None
    return render(request, "agent/kb_versions.html", {
        **await _chrome(request, session, actor, "versions"),
        "article": article,
        "translation": translation,
        "versions": listed,
        "detail": detail,
        "diff_lines": _diff_lines(detail.diff) if detail else [],
    })


def _diff_lines(diff: str) -> list[tuple[str, str]]:
    """Each diff line with its kind (add, remove, hunk, meta, same) for colouring."""
    lines = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            kind = "meta"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "remove"
        else:
            kind = "same"
        lines.append((kind, line))
    return lines


# ---------------------------------------------------------------- media


@router.get("/kb/media", response_class=HTMLResponse)
async def media_page(request: Request, session: SessionDep, actor: AgentPageDep
                     ) -> HTMLResponse:
    return render(request, "agent/kb_media.html", {
        **await _chrome(request, session, actor, "media"), "uploaded": None, "error": None})


@router.post("/kb/media", response_class=HTMLResponse)
async def upload_media(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: AgentPageDep,
    file: Annotated[UploadFile, File()],
    alt: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    """An image or video for articles; answers with the Markdown to paste."""
    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await file.read(CHUNK):
            yield chunk

    uploaded, error = None, None
    try:
        uploaded = await MediaStore(settings).save(chunks())
    except KefuError as exc:
        error = exc
    return render(request, "agent/kb_media.html", {
        **await _chrome(request, session, actor, "media"),
        "uploaded": uploaded, "markdown": uploaded.markdown(clean(alt)) if uploaded else "",
        "error": error,
    }, status=error.status if error else 200)


# ---------------------------------------------------------------- feedback and gaps


@router.get("/kb/feedback", response_class=HTMLResponse)
async def feedback_page(
    request: Request,
    session: SessionDep,
    actor: AgentPageDep,
    only: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    """Votes and comments, newest first; ``only=unhelpful`` or ``only=comments``."""
    items = await service.feedback(session, lang=_ui(request),
                                   only_unhelpful=only == "unhelpful",
                                   with_comment=only == "comments", limit=200)
    return render(request, "agent/kb_feedback.html", {
        **await _chrome(request, session, actor, "feedback"), "items": items, "only": only})


@router.get("/kb/gaps", response_class=HTMLResponse)
async def gaps_page(
    request: Request,
    session: SessionDep,
    actor: AgentPageDep,
    week: Annotated[int, Query(ge=0, le=520)] = 0,
) -> HTMLResponse:
    """The week's content gaps; ``week=1`` is the week before, and so on."""
    since, until = gaps.week_window(week)
    return render(request, "agent/kb_gaps.html", {
        **await _chrome(request, session, actor, "gaps"),
        "report": await gaps.content_gaps(session, lang=_ui(request), since=since,
                                          until=until),
        "week": week,
        "deflection": await deflection.stats(session, since=since, until=until),
    })


# ---------------------------------------------------------------- the status page


async def _status_page(request: Request, session: AsyncSession, actor: Actor, *,
                       notice: str = "", error: KefuError | None = None,
                       values: dict[str, str] | None = None) -> HTMLResponse:
    ui = _ui(request)
    return render(request, "agent/status_page.html", {
        **await _chrome(request, session, actor, "status"),
        "entries": [status.entry_read(e, ui) for e in await status.entries(session)],
        "now": clock.now(),
        "kinds": STATUS_KINDS, "states": STATUS_STATES, "directions": STATUS_DIRECTIONS,
        "values": {"kind": "incident", "state": "degraded", "coin": "", "network": "",
                   "direction": "", "title_en": "", "title_zh": "", "body_en": "",
                   "body_zh": "", "starts_at": "", "ends_at": "", **(values or {})},
        "notice": notice if notice in NOTICES else "",
        "error": error,
        "page_url": "/agent/status",
    }, status=error.status if error else 200)


@router.get("/status", response_class=HTMLResponse)
async def status_editor(request: Request, session: SessionDep, actor: AgentPageDep,
                        ok: Annotated[str, Query(max_length=32)] = "") -> HTMLResponse:
    return await _status_page(request, session, actor, notice=ok)


def _when(raw: str, field: str) -> datetime | None:
    """A ``datetime-local`` field, read as UTC (the form says so)."""
    value = clean(raw).strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{field}: use YYYY-MM-DD HH:MM", code=f"invalid_{field}") from exc
    return clock.ensure_utc(parsed)


def _texts(english: str, chinese: str) -> dict[str, str]:
    texts = {"en": clean(english).strip(), "zh-CN": clean(chinese).strip()}
    return {code: text for code, text in texts.items() if text}


@router.post("/status/entries", response_class=HTMLResponse)
async def create_status_entry(
    request: Request,
    session: SessionDep,
    actor: AgentPageDep,
    kind: Annotated[str, Form(max_length=16)] = "",
    state: Annotated[str, Form(max_length=16)] = "",
    coin: Annotated[str, Form(max_length=32)] = "",
    network: Annotated[str, Form(max_length=64)] = "",
    direction: Annotated[str, Form(max_length=16)] = "",
    title_en: Annotated[str, Form(max_length=1000)] = "",
    title_zh: Annotated[str, Form(max_length=1000)] = "",
    body_en: Annotated[str, Form(max_length=4000)] = "",
    body_zh: Annotated[str, Form(max_length=4000)] = "",
    starts_at: Annotated[str, Form(max_length=40)] = "",
    ends_at: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    values = {"kind": kind, "state": state, "coin": coin, "network": network,
              "direction": direction, "title_en": title_en, "title_zh": title_zh,
              "body_en": body_en, "body_zh": body_zh, "starts_at": starts_at,
              "ends_at": ends_at}

    async def create() -> None:
        titles = _texts(title_en, title_zh)
        if not titles:
            raise InvalidInput("write a title in at least one language", code="title_required")
        data = form_model(schemas.StatusEntryCreate, kind=kind, state=state,
                          coin=clean(coin).strip(), network=clean(network).strip(),
                          direction=direction or None, titles=titles,
                          bodies=_texts(body_en, body_zh),
                          starts_at=_when(starts_at, "starts_at"),
                          ends_at=_when(ends_at, "ends_at"))
        await status.create_entry(session, actor, data)

    _, error = await _attempt(session, create)
    if error is not None:
        return await _status_page(request, session, actor, error=error, values=values)
    return redirect("/agent/status?ok=status_saved")


@router.post("/status/entries/{entry_id}", response_class=HTMLResponse)
async def update_status_entry(
    request: Request,
    entry_id: uuid.UUID,
    session: SessionDep,
    actor: AgentPageDep,
    state: Annotated[str, Form(max_length=16)] = "",
    end_now: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Change an entry's state, or end it now (resolved)."""
    entry = await status.get_entry(session, entry_id)

    async def update() -> None:
        data = form_model(schemas.StatusEntryUpdate, state=state or None,
                          end_now=end_now == "1")
        await status.update_entry(session, actor, entry, data)

    _, error = await _attempt(session, update)
    if error is not None:
        return await _status_page(request, session, actor, error=error)
    return redirect("/agent/status?ok=status_saved")


@router.post("/status/entries/{entry_id}/delete", response_class=HTMLResponse)
async def delete_status_entry(request: Request, entry_id: uuid.UUID, session: SessionDep,
                              actor: AgentPageDep) -> Response:
    entry = await status.get_entry(session, entry_id)
    await status.delete_entry(session, actor, entry)
    return redirect("/agent/status?ok=status_deleted")
