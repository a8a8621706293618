"""Knowledge-base rules: categories, articles and translations, publishing, versions, views
and votes.

Who may do what: every agent writes drafts and translations; supervisors and admins
("publishers") publish, unpublish, delete, manage categories, and edit what is already live, so
nothing reaches customers without a publisher's decision. The public sees a translation only
while the article and that translation are both published. Search follows publication: every
change registers an index update that runs after commit (``indexing.ArticleIndex``), so a
rolled-back change never reaches search."""

from __future__ import annotations

import difflib
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.models import Agent
from kefu.accounts.service import audit
from kefu.core import clock
from kefu.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from kefu.core.ids import new_id
from kefu.core.pagination import Cursor
from kefu.db import insert_or_ignore, savepoint
from kefu.kb import schemas
from kefu.kb.indexing import ArticleIndex
from kefu.kb.languages import is_known_language, preference
from kefu.kb.models import (
    Article,
    ArticleTranslation,
    ArticleVersion,
    ArticleVote,
    Category,
    Section,
)
from kefu.kb.render import RENDERER_VERSION, http_images, render_markdown
from kefu.search.engine import Doc

# ---------------------------------------------------------------- authorization


def can_publish(actor: Actor) -> bool:
    return actor.is_supervisor


def require_publisher(actor: Actor) -> None:
    if not can_publish(actor):
        raise Forbidden("only supervisors and admins publish or change live articles",
                        code="publisher_required")


def require_editor(actor: Actor) -> None:
    if not actor.is_agent:
        raise NotFound("resource")


def article_url(slug: str, lang: str) -> str:
    return f"/help/{lang}/articles/{slug}"


# ---------------------------------------------------------------- categories


async def list_categories(session: AsyncSession) -> list[tuple[Category, list[Section]]]:
    categories = list(await session.scalars(
        select(Category).order_by(Category.position, Category.slug)))
    sections = list(await session.scalars(
        select(Section).order_by(Section.position, Section.slug)))
    return [(c, [s for s in sections if s.category_id == c.id]) for c in categories]


async def get_category(session: AsyncSession, slug: str) -> Category:
    category = await session.scalar(select(Category).where(Category.slug == slug))
    if category is None:
        raise NotFound("category")
    return category


async def sections_of(session: AsyncSession, category_id: uuid.UUID) -> list[Section]:
    return list(await session.scalars(select(Section).where(Section.category_id == category_id)
                                      .order_by(Section.position, Section.slug)))


async def put_category(
    session: AsyncSession, actor: Actor, *, slug: str, data: schemas.CategoryWrite,
    index: ArticleIndex,
) -> Category:
    """Create or replace a category with its sections (publishers only)."""
    require_publisher(actor)
    category = await session.scalar(select(Category).where(Category.slug == slug))
    if category is None:
        category = Category(slug=slug)
        session.add(category)
    category.names = dict(data.names)
    category.descriptions = dict(data.descriptions)
    category.position = data.position
    category.ticket_category = data.ticket_category
    await session.flush()
    existing = {s.slug: s for s in await sections_of(session, category.id)}
    wanted = {s.slug for s in data.sections}
    for gone in set(existing) - wanted:
        await session.delete(existing[gone])
    for item in data.sections:
        section = existing.get(item.slug)
        if section is None:
            section = Section(category_id=category.id, slug=item.slug)
            session.add(section)
        section.names = dict(item.names)
        section.position = item.position
    await audit(session, actor, "kb.category_saved", target_type="kb_category", target_id=slug)
    await session.flush()
    # Articles carry their category's and section's slugs into the search index.
    for article in await session.scalars(select(Article).where(Article.category_id ==
                                                               category.id)):
        await sync_index(session, index, article)
    return category


def category_read(category: Category, sections: Sequence[Section]) -> schemas.CategoryRead:
    return schemas.CategoryRead(
        slug=category.slug, names=dict(category.names), descriptions=dict(category.descriptions),
        position=category.position, ticket_category=category.ticket_category,
        sections=[schemas.SectionRead(slug=s.slug, names=dict(s.names), position=s.position)
                  for s in sections])


# ---------------------------------------------------------------- reading articles


async def get_article(session: AsyncSession, slug: str) -> Article:
    article = await session.scalar(select(Article).where(Article.slug == slug))
    if article is None:
        raise NotFound("article")
    return article


async def translations_of(session: AsyncSession, article_id: uuid.UUID
                          ) -> list[ArticleTranslation]:
    return list(await session.scalars(select(ArticleTranslation).where(
        ArticleTranslation.article_id == article_id).order_by(ArticleTranslation.lang)))


async def get_translation(session: AsyncSession, article: Article, lang: str
                          ) -> ArticleTranslation:
    translation = await session.scalar(select(ArticleTranslation).where(
        ArticleTranslation.article_id == article.id, ArticleTranslation.lang == lang))
    if translation is None:
        raise NotFound("translation", code="translation_not_found")
    return translation


def is_public(article: Article, translation: ArticleTranslation) -> bool:
    return article.status == "published" and translation.status == "published"


async def readable_article(session: AsyncSession, actor: Actor, slug: str) -> Article:
    """Agents read every article; everyone else only published ones (404 otherwise, so a draft's
    slug reveals nothing)."""
    article = await get_article(session, slug)
    if not actor.is_agent and article.status != "published":
        raise NotFound("article")
    return article


async def article_read(session: AsyncSession, actor: Actor, article: Article
                       ) -> schemas.ArticleRead:
    translations = [t for t in await translations_of(session, article.id)
                    if actor.is_agent or is_public(article, t)]
    names = await _agent_names(session, [t.updated_by_id for t in translations])
    category, section = await placement_of(session, article)
    return schemas.ArticleRead(
        slug=article.slug, category=category, section=section, tags=list(article.tags),
        status=article.status,
        position=article.position, views=article.views, helpful_count=article.helpful_count,
        unhelpful_count=article.unhelpful_count, created_at=article.created_at,
        updated_at=article.updated_at, published_at=article.published_at,
        metadata_etag=metadata_etag(article),
        translations=[schemas.TranslationRead(
            lang=t.lang, title=t.title, summary=t.summary, body_md=t.body_md,
            body_html=t.body_html, status=t.status,
            url=article_url(article.slug, t.lang), updated_at=t.updated_at,
            published_at=t.published_at,
            updated_by=names.get(t.updated_by_id) if t.updated_by_id else None,
            http_images=http_images(t.body_md))
            for t in translations],
    )


async def placement_of(session: AsyncSession, article: Article) -> tuple[str, str | None]:
    category = await session.get(Category, article.category_id)
    section = await session.get(Section, article.section_id) if article.section_id else None
    assert category is not None
    return category.slug, section.slug if section else None


async def _agent_names(session: AsyncSession, ids: Sequence[uuid.UUID | None]
                       ) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(Agent.id, Agent.display_name).where(Agent.id.in_(wanted)))
    return {agent_id: name for agent_id, name in rows}


@dataclass(frozen=True)
class ArticleFilters:
    category: str | None = None
    status: str | None = None
    missing: str | None = None  # a language the article has no translation in
    q: str | None = None


async def list_articles(
    session: AsyncSession, actor: Actor, filters: ArticleFilters, *, lang: str,
    cursor: str | None = None, limit: int = 50,
) -> tuple[list[schemas.ArticleSummary], str | None]:
    """Newest change first. Everyone but agents sees published articles only."""
    query = select(Article)
    if not actor.is_agent:
        query = query.where(Article.status == "published")
    elif filters.status:
        query = query.where(Article.status == filters.status)
    if filters.category:
        query = query.join(Category, Category.id == Article.category_id).where(
            Category.slug == filters.category)
    if filters.missing:
        query = query.where(~exists().where(and_(
            ArticleTranslation.article_id == Article.id,
            ArticleTranslation.lang == filters.missing)))
    if filters.q:
        pattern = f"%{filters.q.lower()}%"
        title_match = exists().where(and_(
            ArticleTranslation.article_id == Article.id,
            func.lower(ArticleTranslation.title).like(pattern)))
        query = query.where(or_(Article.slug.like(pattern), title_match))
    if cursor:
        after = Cursor.decode(cursor)
        query = query.where(or_(Article.updated_at < after.at,
                                and_(Article.updated_at == after.at, Article.id < after.id)))
    rows = list(await session.scalars(
        query.order_by(Article.updated_at.desc(), Article.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    summaries = await summarize(session, actor, rows, lang=lang)
    next_cursor = Cursor(rows[-1].updated_at, rows[-1].id).encode() if more and rows else None
    return summaries, next_cursor


async def summarize(session: AsyncSession, actor: Actor, articles: Sequence[Article], *,
                    lang: str) -> list[schemas.ArticleSummary]:
    """One line per article, titled in ``lang`` or the nearest language it has."""
    if not articles:
        return []
    ids = [a.id for a in articles]
    translations = list(await session.scalars(select(ArticleTranslation).where(
        ArticleTranslation.article_id.in_(ids))))
    categories = {c.id: c.slug for c in await session.scalars(select(Category))}
    sections = {s.id: s.slug for s in await session.scalars(select(Section))}
    items = []
    for article in articles:
        mine = {t.lang: t for t in translations if t.article_id == article.id
                and (actor.is_agent or is_public(article, t))}
        chosen = mine[preference(lang, mine)[0]] if mine else None
        items.append(schemas.ArticleSummary(
            slug=article.slug, category=categories.get(article.category_id, ""),
            section=sections.get(article.section_id) if article.section_id else None,
            tags=list(article.tags), status=article.status,
            title=chosen.title if chosen else article.slug,
            lang=chosen.lang if chosen else lang,
            languages={code: t.status for code, t in sorted(mine.items())},
            views=article.views, helpful_count=article.helpful_count,
            unhelpful_count=article.unhelpful_count, updated_at=article.updated_at))
    return items


# ---------------------------------------------------------------- writing articles


async def _resolve_placement(
    session: AsyncSession, category_slug: str, section_slug: str | None
) -> tuple[Category, Section | None]:
    category = await get_category(session, category_slug)
    if section_slug is None:
        return category, None
    section = await session.scalar(select(Section).where(
        Section.category_id == category.id, Section.slug == section_slug))
    if section is None:
        raise NotFound("section")
    return category, section


async def create_article(
    session: AsyncSession, actor: Actor, data: schemas.ArticleCreate, *, index: ArticleIndex,
) -> Article:
    """A new draft article with its first translation (version 1)."""
    require_editor(actor)
    if await session.scalar(select(Article.id).where(Article.slug == data.slug)):
        raise Conflict(f"an article with the slug '{data.slug}' exists", code="slug_taken")
    category, section = await _resolve_placement(session, data.category, data.section)
    now = clock.now()
    article = Article(slug=data.slug, category_id=category.id,
                      section_id=section.id if section else None, tags=sorted(set(data.tags)),
                      position=data.position, status="draft", updated_at=now)
    session.add(article)
    await session.flush()
    await save_translation(session, actor, article, data.lang, schemas.TranslationWrite(
        title=data.title, summary=data.summary, body_md=data.body_md), index=index)
    await audit(session, actor, "kb.article_created", target_type="kb_article",
                target_id=article.slug)
    return article


def metadata_etag(article: Article) -> str:
    """A validator of what ``PATCH`` writes (category, section, tags, position): equal exactly
    when those are. Saving a translation, publishing, views and votes leave it as it is, so a
    colleague's work on a language never refuses a metadata save; ``updated_at`` moves with all
    of those and would."""
    return _metadata_etag(article.category_id, article.section_id, article.tags,
                          article.position)


def _metadata_etag(category_id: uuid.UUID, section_id: uuid.UUID | None,
                   tags: Sequence[str], position: int) -> str:
    state = json.dumps([str(category_id), str(section_id) if section_id else None,
                        sorted(set(tags)), position])
    return hashlib.sha256(state.encode()).hexdigest()[:16]


async def update_article(
    session: AsyncSession, actor: Actor, article: Article, data: schemas.ArticleUpdate, *,
    index: ArticleIndex,
) -> Article:
    """Change the category, section, tags or position. With ``base_metadata_etag`` (the
    ``metadata_etag`` the editor loaded), a save made after someone else changed them is
    refused (409 ``edit_conflict``, nothing saved) unless it leaves them as they now are."""
    require_editor(actor)
    if article.status == "published":
        require_publisher(actor)
    base = data.base_metadata_etag
    if base is not None:
        # The row as it is now, and no other save of it until this one commits, so two saves
        # from the same base cannot both pass: FOR UPDATE on PostgreSQL; on SQLite the
        # savepoint opens the transaction with BEGIN IMMEDIATE (kefu.db), the write lock.
        async with savepoint(session):
            await session.refresh(article, with_for_update=True)
    changes = data.model_dump(exclude_unset=True, exclude={"base_metadata_etag"})
    category_id, section_id = article.category_id, article.section_id
    if "category" in changes or "section" in changes:
        current_category, current_section = await placement_of(session, article)
        category, section = await _resolve_placement(
            session, data.category or current_category,
            data.section if "section" in changes else current_section)
        category_id, section_id = category.id, section.id if section else None
    tags = sorted(set(data.tags)) if data.tags is not None else list(article.tags)
    position = data.position if data.position is not None else article.position
    current = metadata_etag(article)
    if base is not None and base != current and _metadata_etag(
            category_id, section_id, tags, position) != current:
        raise Conflict("this article's category, section, tags or position changed after "
                       f"the edit started (metadata_etag {base}, now {current}); load the "
                       "article again, or send the current metadata_etag to replace the "
                       "change", code="edit_conflict")
    article.category_id, article.section_id = category_id, section_id
    if data.tags is not None:
        article.tags = tags
    if data.position is not None:
        article.position = position
    article.updated_at = clock.now()
    await audit(session, actor, "kb.article_updated", target_type="kb_article",
                target_id=article.slug, details={k: v for k, v in changes.items()})
    await session.flush()
    await sync_index(session, index, article)
    return article


async def latest_version(session: AsyncSession, translation: ArticleTranslation) -> int:
    """The number of the translation's last saved version (0 before the first)."""
    return await session.scalar(select(func.max(ArticleVersion.number)).where(
        ArticleVersion.translation_id == translation.id)) or 0


async def save_translation(
    session: AsyncSession, actor: Actor, article: Article, lang: str,
    data: schemas.TranslationWrite, *, index: ArticleIndex,
) -> tuple[ArticleTranslation, bool]:
    """Create or change one language of an article; a change of its words is a new version.
    Returns the translation and whether it was created. A published translation is changed
    only by a publisher, also while its article is unpublished: publishing the article again
    shows it as it is."""
    require_editor(actor)
    translation = await session.scalar(select(ArticleTranslation).where(
        ArticleTranslation.article_id == article.id, ArticleTranslation.lang == lang))
    created = translation is None
    now = clock.now()
    latest = 0 if translation is None else await latest_version(session, translation)
    unchanged = translation is not None and (
        translation.title, translation.summary, translation.body_md) == (
        data.title, data.summary, data.body_md)
    if data.base_version is not None and data.base_version != latest and not unchanged:
        raise Conflict(f"version {latest} of this translation was saved after version "
                       f"{data.base_version}, which this edit started from; compare the "
                       f"versions, then save again to replace it", code="edit_conflict")
    if translation is None:
        if not is_known_language(lang):
            raise InvalidInput(f"{lang!r} is not a language: use a tag such as en, zh-CN, ja or "
                               f"pt-BR", code="unknown_language")
        translation = ArticleTranslation(article_id=article.id, lang=lang, status="draft",
                                         title=data.title, summary=data.summary,
                                         body_md=data.body_md, body_html="")
        session.add(translation)
    else:
        if translation.status == "published":
            require_publisher(actor)
        if unchanged:
            return translation, False
    translation.title, translation.summary = data.title, data.summary
    translation.body_md = data.body_md
    translation.body_html = render_markdown(data.body_md)
    translation.renderer_version = RENDERER_VERSION
    translation.updated_by_id = actor.agent.id if actor.agent else None
    translation.updated_at = article.updated_at = now
    await session.flush()
    number = latest + 1
    session.add(ArticleVersion(translation_id=translation.id, number=number, title=data.title,
                               summary=data.summary, body_md=data.body_md,
                               author_id=actor.agent.id if actor.agent else None,
                               created_at=now))
    await audit(session, actor, "kb.translation_saved", target_type="kb_article",
                target_id=article.slug, details={"lang": lang, "version": number})
    await session.flush()
    await sync_index(session, index, article)
    return translation, created


async def publish(
    session: AsyncSession, actor: Actor, article: Article, *, lang: str | None,
    index: ArticleIndex, version: int | None = None,
) -> Article:
    """Publish one translation (and the article with it), or the article alone.

    The article's state is the master switch and each translation keeps its own: publishing
    the article shows again the translations that were published, and a draft translation stays
    a draft (a publisher publishes each language). An article with no published translation
    cannot be published on its own (409 ``nothing_to_publish``): nothing would be shown.
    ``version``: the version of the translation the publisher reviewed; when a colleague saved
    another since, nothing is published (409 ``edit_conflict``), so words no publisher has seen
    do not reach customers."""
    require_publisher(actor)
    now = clock.now()
    if lang:
        translation = await get_translation(session, article, lang)
        latest = await latest_version(session, translation)
        if (version is not None and version != latest
                and translation.status != "published"):
            raise Conflict(f"version {latest} of this translation was saved after version "
                           f"{version}, the one you reviewed; read it, then publish",
                           code="edit_conflict")
        if translation.status != "published":
            translation.status, translation.published_at = "published", now
    elif not any(t.status == "published" for t in await translations_of(session, article.id)):
        raise Conflict("publish a translation first: the article has none published",
                       code="nothing_to_publish")
    if article.status != "published":
        article.status, article.published_at = "published", now
    article.updated_at = now
    await audit(session, actor, "kb.published", target_type="kb_article",
                target_id=article.slug, details={"lang": lang})
    await session.flush()
    await sync_index(session, index, article)
    return article


async def unpublish(
    session: AsyncSession, actor: Actor, article: Article, *, lang: str | None,
    index: ArticleIndex,
) -> Article:
    """Take one translation off the site, or the whole article (its translations keep their
    state, so publishing the article again restores them). The article goes to draft when no
    published translation is left."""
    require_publisher(actor)
    if lang:
        translation = await get_translation(session, article, lang)
        translation.status = "draft"
        await session.flush()
        if not await session.scalar(select(ArticleTranslation.id).where(
                ArticleTranslation.article_id == article.id,
                ArticleTranslation.status == "published").limit(1)):
            article.status = "draft"
    else:
        article.status = "draft"
    article.updated_at = clock.now()
    await audit(session, actor, "kb.unpublished", target_type="kb_article",
                target_id=article.slug, details={"lang": lang})
    await session.flush()
    await sync_index(session, index, article)
    return article


async def delete_article(
    session: AsyncSession, actor: Actor, article: Article, *, index: ArticleIndex
) -> None:
    require_publisher(actor)
    languages = [t.lang for t in await translations_of(session, article.id)]
    await audit(session, actor, "kb.article_deleted", target_type="kb_article",
                target_id=article.slug)
    await session.delete(article)
    await session.flush()
    index.apply_after_commit(session, upserts=[],
                             removals=[(article.slug, lang) for lang in languages])


async def sync_index(session: AsyncSession, index: ArticleIndex, article: Article) -> None:
    """After commit, search holds exactly the article's public translations."""
    category, section = await placement_of(session, article)
    upserts: list[Doc] = []
    removals: list[tuple[str, str]] = []
    for translation in await translations_of(session, article.id):
        if is_public(article, translation):
            upserts.append(Doc(
                slug=article.slug, lang=translation.lang, title=translation.title,
                body=translation.body_md, summary=translation.summary, category=category,
                section=section or "", tags=tuple(article.tags)))
        else:
            removals.append((article.slug, translation.lang))
    index.apply_after_commit(session, upserts=upserts, removals=removals)


async def public_documents(session: AsyncSession) -> list[Doc]:
    """Every public translation as search indexes it (to rebuild the index from the
    database: ``ArticleIndex.rebuild``)."""
    placement = {c.id: (c.slug, {s.id: s.slug for s in group})
                 for c, group in await list_categories(session)}
    rows = await session.execute(
        select(Article, ArticleTranslation)
        .join(ArticleTranslation, ArticleTranslation.article_id == Article.id)
        .where(Article.status == "published", ArticleTranslation.status == "published")
        .order_by(Article.slug, ArticleTranslation.lang))
    docs = []
    for article, translation in rows:
        category, sections = placement.get(article.category_id, ("", {}))
        docs.append(Doc(slug=article.slug, lang=translation.lang, title=translation.title,
                        body=translation.body_md, summary=translation.summary,
                        category=category, tags=tuple(article.tags),
                        section=sections.get(article.section_id, "") if article.section_id
                        else ""))
    return docs


# ---------------------------------------------------------------- versions


async def versions_of(session: AsyncSession, translation: ArticleTranslation
                      ) -> list[schemas.VersionRead]:
    rows = list(await session.scalars(select(ArticleVersion).where(
        ArticleVersion.translation_id == translation.id).order_by(ArticleVersion.number.desc())))
    names = await _agent_names(session, [v.author_id for v in rows])
    return [_version_read(v, names) for v in rows]


def _version_read(version: ArticleVersion, names: dict[uuid.UUID, str]) -> schemas.VersionRead:
    return schemas.VersionRead(
        number=version.number, title=version.title, summary=version.summary,
        author=names.get(version.author_id) if version.author_id else None,
        created_at=version.created_at)


def _document(version: ArticleVersion | None) -> list[str]:
    if version is None:
        return []
    return [f"title: {version.title}", f"summary: {version.summary}", "",
            *version.body_md.splitlines()]


async def version_detail(
    session: AsyncSession, translation: ArticleTranslation, number: int
) -> schemas.VersionDetail:
    """One version with the unified diff from the one before it (title, summary and body)."""
    rows = {v.number: v for v in await session.scalars(select(ArticleVersion).where(
        ArticleVersion.translation_id == translation.id,
        ArticleVersion.number.in_([number - 1, number])))}
    version = rows.get(number)
    if version is None:
        raise NotFound("version")
    previous = rows.get(number - 1)
    diff = "\n".join(difflib.unified_diff(
        _document(previous), _document(version), fromfile=f"v{number - 1}",
        tofile=f"v{number}", lineterm="")) if previous else ""
    names = await _agent_names(session, [version.author_id])
    return schemas.VersionDetail(**_version_read(version, names).model_dump(),
                                 body_md=version.body_md, diff=diff)


# ---------------------------------------------------------------- views and votes


async def record_view(session: AsyncSession, article: Article) -> None:
    """One more view, counted in the database (no lost updates between processes)."""
    await session.execute(update(Article).where(Article.id == article.id)
                          .values(views=Article.views + 1))


def voter_of(actor: Actor, anonymous_id: str | None) -> str | None:
    """Who is voting, for "one vote per voter"; None for an anonymous caller without a voter
    cookie (the caller then issues one)."""
    if actor.agent is not None:
        return f"agent:{actor.agent.id}"
    if actor.kind == "customer" and actor.customer is not None:
        return f"customer:{actor.customer.id}"
    if actor.visitor_id:
        return f"visitor:{actor.visitor_id}"
    return f"anon:{anonymous_id}" if anonymous_id else None


async def vote(
    session: AsyncSession, actor: Actor, article: Article, *, voter: str, lang: str,
    helpful: bool, comment: str,
) -> tuple[ArticleVote, bool]:
    """Record a vote; a voter's second vote on the same article replaces the first, comment
    included (none clears it), and the counters move with it. Returns the vote and whether it
    replaced one."""
    if article.status != "published":
        raise NotFound("article")
    published = sorted(t.lang for t in await translations_of(session, article.id)
                       if t.status == "published")
    if lang not in published:
        raise InvalidInput(f"lang: the article is published in {', '.join(published)}",
                           code="invalid_language")
    now = clock.now()
    customer_id = actor.customer.id if actor.customer and not actor.agent else None
    inserted = await insert_or_ignore(session, ArticleVote.__table__, {
        "id": new_id(), "article_id": article.id, "lang": lang, "helpful": helpful,
        "comment": comment.strip(), "voter": voter, "customer_id": customer_id,
        "created_at": now, "updated_at": now})
    row = await session.scalar(select(ArticleVote).where(
        ArticleVote.article_id == article.id, ArticleVote.voter == voter))
    assert row is not None
    if inserted:
        await _count(session, article, helpful, +1)
        await session.refresh(article)
        return row, False
    if row.helpful != helpful:
        await _count(session, article, row.helpful, -1)
        await _count(session, article, helpful, +1)
    row.helpful, row.lang, row.comment, row.updated_at = helpful, lang, comment.strip(), now
    await session.flush()
    await session.refresh(article)
    return row, True


async def _count(session: AsyncSession, article: Article, helpful: bool, step: int) -> None:
    column = Article.helpful_count if helpful else Article.unhelpful_count
    await session.execute(update(Article).where(Article.id == article.id)
                          .values({column: column + step}))


async def feedback(
    session: AsyncSession, *, lang: str, slug: str | None = None, only_unhelpful: bool = False,
    with_comment: bool = False, limit: int = 100,
) -> list[schemas.FeedbackItem]:
    """Recent votes, newest first, with the article's title in ``lang`` (or the vote's)."""
    query = select(ArticleVote, Article).join(Article, Article.id == ArticleVote.article_id)
    if slug:
        query = query.where(Article.slug == slug)
    if only_unhelpful:
        query = query.where(ArticleVote.helpful.is_(False))
    if with_comment:
        query = query.where(ArticleVote.comment != "")
    rows = (await session.execute(query.order_by(ArticleVote.updated_at.desc()).limit(limit))
            ).all()
    titles = await titles_for(session, [a.id for _, a in rows], lang)
    return [schemas.FeedbackItem(
        slug=article.slug, title=titles.get(article.id, article.slug), lang=vote_row.lang,
        helpful=vote_row.helpful, comment=vote_row.comment,
        voter_kind=vote_row.voter.split(":", 1)[0], at=vote_row.updated_at)
        for vote_row, article in rows]


async def titles_for(session: AsyncSession, article_ids: Sequence[uuid.UUID], lang: str
                     ) -> dict[uuid.UUID, str]:
    """Each article's title in ``lang`` or its nearest language."""
    if not article_ids:
        return {}
    found: dict[uuid.UUID, dict[str, str]] = {}
    for translation in await session.scalars(select(ArticleTranslation).where(
            ArticleTranslation.article_id.in_(set(article_ids)))):
        found.setdefault(translation.article_id, {})[translation.lang] = translation.title
    return {article_id: titles[preference(lang, titles)[0]]
            for article_id, titles in found.items()}



# ---------------------------------------------------------------- the public catalogue


@dataclass(frozen=True)
class ListedTranslation:
    lang: str
    title: str
    summary: str
    updated_at: datetime


@dataclass(frozen=True)
class Listed:
    """A published article and its public translations, without their bodies (listings,
    the sitemap)."""

    article: Article
    translations: dict[str, ListedTranslation]

    def best(self, lang: str) -> ListedTranslation:
        return self.translations[preference(lang, self.translations)[0]]


async def public_listing(
    session: AsyncSession, *, category_id: uuid.UUID | None = None
) -> list[Listed]:
    """Published articles with at least one public translation, in reading order (section
    position is the caller's business; here: article position, then slug)."""
    query = select(Article).where(Article.status == "published")
    if category_id is not None:
        query = query.where(Article.category_id == category_id)
    articles = list(await session.scalars(query.order_by(Article.position, Article.slug)))
    if not articles:
        return []
    rows = await session.execute(
        select(ArticleTranslation.article_id, ArticleTranslation.lang, ArticleTranslation.title,
               ArticleTranslation.summary, ArticleTranslation.updated_at)
        .where(ArticleTranslation.article_id.in_([a.id for a in articles]),
               ArticleTranslation.status == "published"))
    found: dict[uuid.UUID, dict[str, ListedTranslation]] = {}
    for article_id, lang, title, summary, updated_at in rows:
        found.setdefault(article_id, {})[lang] = ListedTranslation(lang, title, summary,
                                                                   updated_at)
    return [Listed(a, found[a.id]) for a in articles if a.id in found]


async def public_languages(session: AsyncSession) -> list[str]:
    """Languages with at least one public translation."""
    rows = await session.scalars(
        select(ArticleTranslation.lang).join(Article, Article.id == ArticleTranslation.article_id)
        .where(Article.status == "published", ArticleTranslation.status == "published")
        .distinct())
    return sorted(rows)
