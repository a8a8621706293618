"""Knowledge-base routes under ``/api/v1/kb``: parse, authorize, call the service, return.

Anyone reads published articles, searches, votes and gets suggestions (the last two rate
limited per address); agents write drafts and translations; supervisors and admins publish
(``service.require_publisher``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.deps import ActorDep, AgentDep, CustomerSideDep
from kefu.core.errors import NotFound
from kefu.core.http import SessionDep
from kefu.kb import deflection, finder, gaps, schemas, service
from kefu.kb.finder import Found
from kefu.kb.indexing import ArticleIndex, article_index
from kefu.kb.languages import LANGUAGE_TAG_PATTERN, canonical_language
from kefu.kb.models import ArticleTranslation
from kefu.kb.schemas import SLUG_PATTERN
from kefu.kb.voters import voter_for
from kefu.tickets import service as tickets
from kefu.trust.ratelimit import rate_limit

router = APIRouter(prefix="/api/v1/kb", tags=["knowledge base"])

# Per address, for what anyone may do without signing in. The help center's vote form
# (kefu.web.help_center) uses VOTE_LIMIT too: one budget for both ways of voting.
VOTE_LIMIT = rate_limit("kb_votes", per_ip=(30, 600))
SUGGESTION_LIMIT = rate_limit("kb_suggestions", per_ip=(120, 600))

IndexDep = Annotated[ArticleIndex, Depends(article_index)]
SlugPath = Annotated[str, Path(min_length=1, max_length=120)]
LangPath = Annotated[str, Path(min_length=2, max_length=16, pattern=LANGUAGE_TAG_PATTERN)]
LangQuery = Annotated[str, Query(min_length=2, max_length=16, pattern=LANGUAGE_TAG_PATTERN)]


def hit_read(found: Found) -> schemas.SearchHitRead:
    return schemas.SearchHitRead(slug=found.slug, lang=found.lang, title=found.title,
                                 url=found.url, score=found.score, snippet=found.snippet,
                                 section=found.heading)


# ---------------------------------------------------------------- categories


@router.get("/categories", response_model=schemas.CategoryList)
async def list_categories(session: SessionDep) -> schemas.CategoryList:
    return schemas.CategoryList(items=[service.category_read(c, s)
                                       for c, s in await service.list_categories(session)])


@router.put("/categories/{slug}", response_model=schemas.CategoryRead)
async def put_category(
    slug: Annotated[str, Path(max_length=64, pattern=SLUG_PATTERN)],
    body: schemas.CategoryWrite, session: SessionDep, actor: AgentDep, index: IndexDep,
) -> schemas.CategoryRead:
    """Create or replace a category and its sections (supervisors and admins)."""
    category = await service.put_category(session, actor, slug=slug, data=body, index=index)
    return service.category_read(category, await service.sections_of(session, category.id))


# ---------------------------------------------------------------- articles


@router.get("/articles", response_model=schemas.ArticleList)
async def list_articles(
    session: SessionDep,
    actor: ActorDep,
    lang: LangQuery = "en",
    category: Annotated[str | None, Query(max_length=64)] = None,
    status: schemas.PublicationStatus | None = None,
    missing: Annotated[str | None, Query(min_length=2, max_length=16,
                                         pattern=LANGUAGE_TAG_PATTERN,
                                         description="Only articles with no translation in "
                                         "this language (agents).")] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> schemas.ArticleList:
    """Newest change first. Agents see drafts too and may filter by ``status`` and ``missing``;
    everyone else gets published articles."""
    filters = service.ArticleFilters(
        category=category, status=status if actor.is_agent else None,
        missing=canonical_language(missing) if missing and actor.is_agent else None,
        q=(q or "").replace("\x00", "").strip() or None)
    items, next_cursor = await service.list_articles(
        session, actor, filters, lang=canonical_language(lang), cursor=cursor, limit=limit)
    return schemas.ArticleList(items=items, next_cursor=next_cursor)


@router.post("/articles", response_model=schemas.ArticleRead, status_code=201)
async def create_article(
    body: schemas.ArticleCreate, session: SessionDep, actor: AgentDep, index: IndexDep,
) -> schemas.ArticleRead:
    """A draft with its first translation; publish it with ``POST …/publish``."""
    article = await service.create_article(session, actor, body, index=index)
    return await service.article_read(session, actor, article)


@router.get("/articles/{slug}", response_model=schemas.ArticleRead)
async def get_article(slug: SlugPath, session: SessionDep, actor: ActorDep
                      ) -> schemas.ArticleRead:
    """Published translations for everyone; agents also get drafts."""
    article = await service.readable_article(session, actor, slug)
    return await service.article_read(session, actor, article)


@router.patch("/articles/{slug}", response_model=schemas.ArticleRead)
async def update_article(
    slug: SlugPath, body: schemas.ArticleUpdate, session: SessionDep, actor: AgentDep,
    index: IndexDep,
) -> schemas.ArticleRead:
    """Category, section, tags, position. A published article: supervisors and admins. With
    ``base_metadata_etag`` (the ``metadata_etag`` the edit started from), a save made after
    someone else changed them is refused: 409 ``edit_conflict``, nothing saved."""
    article = await service.get_article(session, slug)
    await service.update_article(session, actor, article, body, index=index)
    return await service.article_read(session, actor, article)


@router.delete("/articles/{slug}", status_code=204)
async def delete_article(slug: SlugPath, session: SessionDep, actor: AgentDep,
                         index: IndexDep) -> None:
    article = await service.get_article(session, slug)
    await service.delete_article(session, actor, article, index=index)


@router.put("/articles/{slug}/translations/{lang}", response_model=schemas.ArticleRead)
async def save_translation(
    slug: SlugPath, lang: LangPath, body: schemas.TranslationWrite, session: SessionDep,
    actor: AgentDep, index: IndexDep,
) -> schemas.ArticleRead:
    """Create or change one language (a new version when the words change). A published
    translation: supervisors and admins."""
    article = await service.get_article(session, slug)
    await service.save_translation(session, actor, article, canonical_language(lang), body,
                                   index=index)
    return await service.article_read(session, actor, article)


@router.post("/articles/{slug}/publish", response_model=schemas.ArticleRead)
async def publish(
    slug: SlugPath, body: schemas.PublishRequest, session: SessionDep, actor: AgentDep,
    index: IndexDep,
) -> schemas.ArticleRead:
    article = await service.get_article(session, slug)
    await service.publish(session, actor, article, lang=body.lang, index=index,
                          version=body.version)
    return await service.article_read(session, actor, article)


@router.post("/articles/{slug}/unpublish", response_model=schemas.ArticleRead)
async def unpublish(
    slug: SlugPath, body: schemas.PublishRequest, session: SessionDep, actor: AgentDep,
    index: IndexDep,
) -> schemas.ArticleRead:
    article = await service.get_article(session, slug)
    await service.unpublish(session, actor, article, lang=body.lang, index=index)
    return await service.article_read(session, actor, article)


async def _translation(session: AsyncSession, slug: str, lang: str) -> ArticleTranslation:
    article = await service.get_article(session, slug)
    return await service.get_translation(session, article, canonical_language(lang))


@router.get("/articles/{slug}/translations/{lang}/versions", response_model=schemas.VersionList)
async def versions(slug: SlugPath, lang: LangPath, session: SessionDep, actor: AgentDep
                   ) -> schemas.VersionList:
    translation = await _translation(session, slug, lang)
    return schemas.VersionList(items=await service.versions_of(session, translation))


@router.get("/articles/{slug}/translations/{lang}/versions/{version}",
            response_model=schemas.VersionDetail)
async def version_detail(
    slug: SlugPath, lang: LangPath, version: Annotated[int, Path(ge=1, le=1_000_000)],
    session: SessionDep, actor: AgentDep,
) -> schemas.VersionDetail:
    """One version with the unified diff from the one before."""
    translation = await _translation(session, slug, lang)
    return await service.version_detail(session, translation, version)


# ---------------------------------------------------------------- votes and feedback


@router.post("/articles/{slug}/votes", response_model=schemas.VoteResult, status_code=201,
             responses={200: {"model": schemas.VoteResult,
                              "description": "The voter's earlier vote was replaced."}},
             dependencies=[Depends(VOTE_LIMIT)])
async def vote(
    slug: SlugPath, body: schemas.VoteCreate, request: Request, response: Response,
    session: SessionDep, actor: ActorDep,
) -> schemas.VoteResult:
    """"Was this helpful?" by anyone, signed in or not; once per voter and article (voting
    again replaces the vote). Anonymous voters are told apart by a cookie set here."""
    article = await service.readable_article(session, actor, slug)
    voter = voter_for(request, actor)
    voter.remember(request, response)
    row, changed = await service.vote(session, actor, article, voter=voter.key, lang=body.lang,
                                      helpful=body.helpful, comment=body.comment)
    if changed:
        response.status_code = 200
    return schemas.VoteResult(slug=article.slug, helpful=row.helpful,
                              helpful_count=article.helpful_count,
                              unhelpful_count=article.unhelpful_count, changed=changed)


@router.get("/feedback", response_model=schemas.FeedbackList)
async def feedback(
    session: SessionDep,
    actor: AgentDep,
    lang: LangQuery = "en",
    slug: Annotated[str | None, Query(max_length=120)] = None,
    unhelpful: bool = False,
    commented: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> schemas.FeedbackList:
    """Recent votes and comments, newest first (agents)."""
    return schemas.FeedbackList(items=await service.feedback(
        session, lang=canonical_language(lang), slug=slug, only_unhelpful=unhelpful,
        with_comment=commented, limit=limit))


@router.get("/gaps", response_model=schemas.GapReport)
async def content_gaps(
    session: SessionDep,
    actor: AgentDep,
    lang: LangQuery = "en",
    weeks_ago: Annotated[int, Query(ge=0, le=520)] = 0,
) -> schemas.GapReport:
    """One week of searches that found nothing, unhelpful articles and ticket topics without
    an article (agents)."""
    since, until = gaps.week_window(weeks_ago)
    return await gaps.content_gaps(session, lang=canonical_language(lang), since=since,
                                   until=until)


# ---------------------------------------------------------------- search and deflection


@router.get("/search", response_model=schemas.SearchResults)
async def search(
    session: SessionDep,
    index: IndexDep,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    lang: LangQuery = "en",
    category: Annotated[str | None, Query(max_length=64)] = None,
    k: Annotated[int, Query(ge=1, le=50)] = 10,
) -> schemas.SearchResults:
    """Hybrid search over published articles, best first, preferring ``lang`` (a question in
    one language finds an article written only in another)."""
    language = canonical_language(lang)
    text = q.replace("\x00", "")
    found = await finder.find(session, index, query=text, lang=language, k=k,
                              category=category)
    await finder.log_search(session, query=text, lang=language, source="api", found=found)
    return schemas.SearchResults(query=text, lang=language, items=[hit_read(f) for f in found])


@router.post("/suggestions", response_model=schemas.SuggestionList,
             dependencies=[Depends(SUGGESTION_LIMIT)])
async def suggestions(
    body: schemas.SuggestionRequest, session: SessionDep, index: IndexDep,
) -> schemas.SuggestionList:
    """Articles for a message being written, before it becomes a ticket (the widget). Send
    the returned ``key`` with later calls for the same message, and to
    ``POST /kb/deflections/{key}/submitted`` once the ticket exists."""
    key = deflection.valid_key(body.key) or deflection.new_key()
    found = await deflection.suggest(session, index, key=key, channel="widget",
                                     lang=body.lang, text=body.q)
    return schemas.SuggestionList(key=key, items=[hit_read(f) for f in found])


@router.post("/deflections/{key}/submitted", response_model=schemas.DeflectionRead)
async def deflection_submitted(
    key: Annotated[str, Path(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
    body: schemas.DeflectionSubmit, session: SessionDep, actor: CustomerSideDep,
) -> schemas.DeflectionRead:
    """The customer sent their message anyway: ``ticket`` is the conversation it opened."""
    ticket = await tickets.get_readable(session, actor, body.ticket)
    record = await deflection.mark_submitted(session, key, ticket)
    if record is None:
        raise NotFound("deflection")
    return schemas.DeflectionRead(key=record.key, outcome=record.outcome,
                                  shown=list(record.shown_slugs), read=record.read_slug)
