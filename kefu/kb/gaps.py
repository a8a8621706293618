"""Content gaps, week by week, for the editors in ``/agent/kb``: what people searched for and did
not find, which articles readers found unhelpful, and which ticket topics keep reaching agents
although no article covers them.

Ticket topics are the tickets' tags (``category:deposit`` from the portal form, the agents'
tags such as ``account`` or ``closure``). A topic is covered when a published article carries
the same tag, or, for ``category:<x>``, when a category with that ticket category has a
published article. Only counts leave this module, never a ticket or a customer."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core import clock
from kefu.kb import schemas
from kefu.kb.models import Article, ArticleVote, Category, SearchLog
from kefu.kb.service import titles_for
from kefu.tickets.models import Tag, Ticket, ticket_tags

WEEK = timedelta(days=7)
TICKET_CATEGORY_PREFIX = "category:"
COMMENTS_PER_ARTICLE = 3


def week_window(weeks_ago: int = 0, *, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The 7 days ending now (``weeks_ago=0``), or the week before that, and so on."""
    until = (now or clock.now()) - weeks_ago * WEEK
    return until - WEEK, until


async def content_gaps(
    session: AsyncSession, *, lang: str, since: datetime, until: datetime, limit: int = 20,
) -> schemas.GapReport:
    return schemas.GapReport(
        since=since, until=until,
        searches=await failed_searches(session, since=since, until=until, limit=limit),
        articles=await unhelpful_articles(session, lang=lang, since=since, until=until,
                                          limit=limit),
        topics=await uncovered_topics(session, since=since, until=until, limit=limit))


async def failed_searches(
    session: AsyncSession, *, since: datetime, until: datetime, limit: int,
) -> list[schemas.QueryGap]:
    """Queries (grouped by their normalized form) that found nothing relevant at least once,
    most often failed first."""
    failed = func.sum(case((SearchLog.results == 0, 1), else_=0))
    rows = await session.execute(
        select(SearchLog.normalized, func.count(), failed, func.max(SearchLog.top_score))
        .where(SearchLog.created_at >= since, SearchLog.created_at < until,
               SearchLog.normalized != "")
        .group_by(SearchLog.normalized)
        .having(failed > 0)
        .order_by(failed.desc(), func.count().desc(), SearchLog.normalized)
        .limit(limit))
    return [schemas.QueryGap(query=query, searches=total, zero_results=int(zero),
                             best_score=best)
            for query, total, zero, best in rows]


async def unhelpful_articles(
    session: AsyncSession, *, lang: str, since: datetime, until: datetime, limit: int,
) -> list[schemas.ArticleGap]:
    """Articles with "not helpful" votes in the window, most first, with the latest comments."""
    unhelpful = func.sum(case((ArticleVote.helpful.is_(False), 1), else_=0))
    helpful = func.sum(case((ArticleVote.helpful.is_(True), 1), else_=0))
    rows = (await session.execute(
        select(Article.id, Article.slug, unhelpful, helpful)
        .join(ArticleVote, ArticleVote.article_id == Article.id)
        .where(ArticleVote.updated_at >= since, ArticleVote.updated_at < until)
        .group_by(Article.id, Article.slug)
        .having(unhelpful > 0)
        .order_by(unhelpful.desc(), helpful, Article.slug)
        .limit(limit))).all()
    titles = await titles_for(session, [r[0] for r in rows], lang)
    gaps = []
    for article_id, slug, down, up in rows:
        comments = await session.scalars(
            select(ArticleVote.comment).where(
                ArticleVote.article_id == article_id, ArticleVote.helpful.is_(False),
                ArticleVote.comment != "", ArticleVote.updated_at >= since,
                ArticleVote.updated_at < until)
            .order_by(ArticleVote.updated_at.desc()).limit(COMMENTS_PER_ARTICLE))
        gaps.append(schemas.ArticleGap(slug=slug, title=titles.get(article_id, slug),
                                       unhelpful=int(down), helpful=int(up),
                                       comments=list(comments)))
    return gaps


async def uncovered_topics(
    session: AsyncSession, *, since: datetime, until: datetime, limit: int,
) -> list[schemas.TopicGap]:
    """Ticket tags of the window's tickets that no published article covers, most tickets
    first."""
    rows = await session.execute(
        select(Tag.name, func.count(func.distinct(Ticket.id)))
        .join(ticket_tags, ticket_tags.c.tag_id == Tag.id)
        .join(Ticket, Ticket.id == ticket_tags.c.ticket_id)
        .where(Ticket.created_at >= since, Ticket.created_at < until)
        .group_by(Tag.name)
        .order_by(func.count(func.distinct(Ticket.id)).desc(), Tag.name))
    coverage = await _coverage(session)
    topics = [schemas.TopicGap(topic=name, tickets=count, articles=coverage.get(name, 0))
              for name, count in rows]
    return [t for t in topics if t.articles == 0][:limit]


async def _coverage(session: AsyncSession) -> dict[str, int]:
    """How many published articles cover each tag (and each ``category:<ticket category>``)."""
    counts: dict[str, int] = {}
    rows = await session.execute(
        select(Article.tags, Category.ticket_category)
        .join(Category, Category.id == Article.category_id)
        .where(Article.status == "published"))
    for tags, ticket_category in rows:
        covered = set(tags)
        if ticket_category:
            covered.add(TICKET_CATEGORY_PREFIX + ticket_category)
        for tag in covered:
            counts[tag] = counts.get(tag, 0) + 1
    return counts
