"""Loading a knowledge base from files (docs/kb-format.md): ``categories.yaml`` with the ordered
categories and their sections, and one Markdown file per article and language.

Through the real services (so every article has its version 1, its audit entry and rendered
HTML), as the given publisher. Idempotent: categories are written as the file says, articles
and translations that already exist are left alone (editors may have improved them), new ones
are added and published. The search index is rebuilt once at the end, after commit, instead of
after every article; or, without an index, by the first search (``finder.ensure_complete``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.db import after_commit
from kefu.kb import schemas, service
from kefu.kb.indexing import ArticleIndex
from kefu.kb.models import Article
from kefu.search.corpus import ArticleFile, load_articles

CATEGORIES_FILE = "categories.yaml"


@dataclass(frozen=True)
class LoadResult:
    categories: int
    articles_added: int
    translations_added: int


class _Deferred(ArticleIndex):
    """Takes no per-article updates: the loader rebuilds the whole index once."""

    def apply_after_commit(self, session: AsyncSession, *, upserts: Any, removals: Any) -> None:
        return None


def read_categories(path: Path) -> list[tuple[str, schemas.CategoryWrite]]:
    """``categories.yaml`` as (slug, category) in file order; ValueError naming the problem."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read categories: {str(exc).splitlines()[0]}") from exc
    items = raw.get("categories") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise ValueError(f"{path}: needs a 'categories' list")
    result = []
    for position, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("slug"):
            raise ValueError(f"{path}: category #{position + 1} needs a slug")
        sections = [{"slug": s.get("slug"), "names": s.get("name") or {},
                     "position": index * 10}
                    for index, s in enumerate(item.get("sections") or []) if isinstance(s, dict)]
        try:
            category = schemas.CategoryWrite(
                names=item.get("name") or {}, descriptions=item.get("description") or {},
                position=position * 10, ticket_category=item.get("ticket_category") or "",
                sections=sections)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise ValueError(f"{path}: category {item['slug']!r}: {where}: "
                             f"{first.get('msg')}") from exc
        result.append((str(item["slug"]), category))
    return result


async def load_folder(
    session: AsyncSession, publisher: Actor, folder: Path, *, index: ArticleIndex | None,
) -> LoadResult:
    """Load ``folder`` (``categories.yaml`` and ``**/*.md``) and publish what is new."""
    categories = read_categories(folder / CATEGORIES_FILE)
    deferred = _Deferred(None)
    existing = {c.slug: service.category_read(c, sections)
                for c, sections in await service.list_categories(session)}
    changed = 0
    for slug, category in categories:
        if not _same(existing.get(slug), category):
            await service.put_category(session, publisher, slug=slug, data=category,
                                       index=deferred)
            changed += 1
    by_slug: dict[str, list[ArticleFile]] = defaultdict(list)
    for file in load_articles(folder):
        by_slug[file.slug].append(file)
    added = translations = 0
    for slug, files in sorted(by_slug.items()):
        article = await session.scalar(select(Article).where(Article.slug == slug))
        have = set() if article is None else {t.lang for t in
                                               await service.translations_of(session, article.id)}
        new = [f for f in sorted(files, key=_language_order) if f.lang not in have]
        if not new:
            continue
        if article is None:
            first, new = new[0], new[1:]
            article = await service.create_article(session, publisher, _create(first),
                                                   index=deferred)
            await service.publish(session, publisher, article, lang=first.lang, index=deferred)
            added += 1
            translations += 1
        for file in new:
            await service.save_translation(session, publisher, article, file.lang,
                                           schemas.TranslationWrite(
                                               title=file.title, summary=file.summary,
                                               body_md=file.body), index=deferred)
            await service.publish(session, publisher, article, lang=file.lang, index=deferred)
            translations += 1
    if index is not None and (changed or translations or len(index.service) == 0):
        after_commit(session, partial(index.rebuild, await service.public_documents(session)))
    return LoadResult(categories=len(categories), articles_added=added,
                      translations_added=translations)


def _same(current: schemas.CategoryRead | None, wanted: schemas.CategoryWrite) -> bool:
    """Whether the stored category already says what the file says."""
    if current is None:
        return False
    sections = [(s.slug, s.names, s.position) for s in wanted.sections]
    return (current.names, current.descriptions, current.position, current.ticket_category,
            [(s.slug, s.names, s.position) for s in current.sections]) == (
        dict(wanted.names), dict(wanted.descriptions), wanted.position, wanted.ticket_category,
        sections)


def _language_order(file: ArticleFile) -> tuple[int, str]:
    """English first (it is the fallback), then the rest by tag."""
    return (0 if file.lang == "en" else 1, file.lang)


def _create(file: ArticleFile) -> schemas.ArticleCreate:
    if not file.category:
        raise ValueError(f"{file.path}: front matter needs 'category'")
    try:
        return schemas.ArticleCreate(
            slug=file.slug, category=file.category, section=file.section or None,
            tags=[t.lower() for t in file.tags], position=file.order, lang=file.lang,
            title=file.title, summary=file.summary, body_md=file.body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise ValueError(f"{file.path}: {where}: {first.get('msg')}") from exc

