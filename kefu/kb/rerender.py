"""Stored article HTML follows the renderer.

Each translation stores the HTML of its Markdown and the renderer version that made it
(``render.RENDERER_VERSION``). When a release changes the renderer it bumps that version, and the
translations rendered before are rendered again: by every app process when it starts, in the
background (:func:`rerender_in_background`), and on demand by ``kefu kb rerender``.

A re-render is not an edit: no new version in the history, no audit entry, the same
``updated_at`` and author, and search is untouched (it indexes the Markdown, not the HTML). Each
row is written only while its Markdown is still the one that was rendered, so a save made
meanwhile is never overwritten with older words. Markdown the renderer cannot render is
reported and keeps its old HTML; the other rows go on. Rows are done in small batches, each its
own short transaction (SQLite has one write lock), with the rendering in a worker thread."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

import anyio
from sqlalchemy import select, update

from kefu.core.logging import get_logger
from kefu.db import Database
from kefu.kb import render
from kefu.kb.models import Article, ArticleTranslation

log = get_logger("kefu.kb")
BATCH = 50


@dataclass(frozen=True)
class RenderFailure:
    """A translation whose Markdown the renderer refused; it keeps its old HTML."""

    slug: str
    lang: str
    error: str


@dataclass
class RerenderReport:
    rendered: int = 0  # rows written with the current renderer's HTML and version
    changed: int = 0  # of those, how many got different HTML
    failures: list[RenderFailure] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    id: uuid.UUID
    slug: str
    lang: str
    body_md: str
    body_html: str


@dataclass(frozen=True)
class _Rendered:
    row: _Row
    html: str | None
    error: str = ""


def _render_rows(rows: list[_Row]) -> list[_Rendered]:
    done = []
    for row in rows:
        try:
            done.append(_Rendered(row, render.render_markdown(row.body_md)))
        except Exception as exc:  # noqa: BLE001 - one bad article never blocks the others
            reason = (str(exc).splitlines() or [""])[0][:200]
            done.append(_Rendered(row, None, f"{type(exc).__name__}: {reason}".rstrip(": ")))
    return done


async def rerender_translations(db: Database, *, every: bool = False) -> RerenderReport:
    """Render again the translations whose HTML an older renderer made (``every``: all of
    them, for a renderer change that did not bump the version). Safe to run in several
    processes at once and while agents save."""
    current = render.RENDERER_VERSION
    query = (select(ArticleTranslation.id)
             .order_by(ArticleTranslation.id))
    if not every:
        query = query.where(ArticleTranslation.renderer_version != current)
    async with db.transaction() as session:
        ids = list(await session.scalars(query))
    report = RerenderReport()
    for start in range(0, len(ids), BATCH):
        async with db.transaction() as session:
            result = await session.execute(
                select(ArticleTranslation.id, Article.slug, ArticleTranslation.lang,
                       ArticleTranslation.body_md, ArticleTranslation.body_html)
                .join(Article, Article.id == ArticleTranslation.article_id)
                .where(ArticleTranslation.id.in_(ids[start:start + BATCH]))
                .order_by(Article.slug, ArticleTranslation.lang))
            rows = [_Row(*r) for r in result]
        rendered = await anyio.to_thread.run_sync(_render_rows, rows)
        async with db.transaction() as session:
            for item in rendered:
                row = item.row
                if item.html is None:
                    report.failures.append(RenderFailure(row.slug, row.lang, item.error))
                    log.warning("kb_rerender_failed", slug=row.slug, lang=row.lang,
                                error=item.error)
                    continue
                # Only while the Markdown is still what was rendered: a save made meanwhile
                # stored its own, newer HTML.
                written = await session.execute(
                    update(ArticleTranslation)
                    .where(ArticleTranslation.id == row.id,
                           ArticleTranslation.body_md == row.body_md)
                    .values(body_html=item.html, renderer_version=current)
                    .execution_options(synchronize_session=False))
                if getattr(written, "rowcount", 0):
                    report.rendered += 1
                    report.changed += item.html != row.body_html
    return report


async def rerender_in_background(db: Database) -> None:
    """What the app starts with: the stale translations rendered again, logged; a failure is
    logged and the app goes on serving the old HTML."""
    try:
        report = await rerender_translations(db)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - `kefu kb rerender` tries again
        log.warning("kb_rerender_stopped", error=type(exc).__name__)
        return
    if report.rendered or report.failures:
        log.info("kb_rerendered", renderer_version=render.RENDERER_VERSION,
                 rendered=report.rendered, changed=report.changed,
                 failed=len(report.failures))
