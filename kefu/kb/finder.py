"""Finding articles for a question: search, keep what is still public, log what was asked.

The search service ranks by fused ranks, so its ``score`` says nothing about whether a result is
any good. Relevance is judged per article from how each of its translations meets the query
(:class:`~kefu.search.index.Evidence`), against floors calibrated with the demo knowledge base
and the real model (``bench/relevance.py``, docs/help-center.md):

* translations written in a script of the query (an English query and the English version, a
  Chinese query and the Chinese one) count when the embedding cosine of their closest section
  reaches :data:`COSINE_FLOOR`, or when they contain every content word of the query (spelling
  corrections and synonyms count) and the cosine reaches :data:`WORD_MATCH_FLOOR`: a keyword
  query such as "deposit" or "KYC" scores lower against a whole section than a question does;
  two thirds of two or more words and :data:`PARTIAL_MATCH_FLOOR` count too ("lost google
  authenticator" and the article on resetting an authenticator, which never says "google");
* only when the article has no such translation, the others count from
  :data:`CROSS_LINGUAL_FLOOR` (a Chinese query, an English-only article);
* a query with no content word at all ("hello", "谢谢", "1", "not") has no relevant result;
* of the results that pass on meaning alone in the query's script, only those within
  :data:`RELATIVE_MARGIN` of the best such cosine are shown (:func:`relevance`): e5's cosines
  are compressed, and for a short Chinese query nearly every Chinese article passed the floor
  ("提现", "账号被盗": 18-20 of 20 shown). A translation holding every content word is kept.

The reader's page language decides which translation is shown, not how it is judged: judged by
the page, an English query on the Chinese help center was held to the same-language floor with
a cross-lingual cosine, and nonsense met the lenient floor there. The search log keeps, per
search, how many relevant results there were and the best cosine: searches with none are
content gaps."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core import clock
from kefu.core.ids import new_id
from kefu.kb.indexing import ArticleIndex
from kefu.kb.models import Article, ArticleTranslation, SearchLog
from kefu.kb.service import article_url, public_documents
from kefu.search import analyze
from kefu.search.engine import Hit
from kefu.search.index import Evidence

COSINE_FLOOR = 0.86
WORD_MATCH_FLOOR = 0.79
CROSS_LINGUAL_FLOOR = 0.805
PARTIAL_COVERAGE = 0.66
PARTIAL_MATCH_FLOOR = 0.845
RELATIVE_MARGIN = 0.03
ONE_WORD_MARGIN = 0.05
QUERY_LIMIT = 200
_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")


@dataclass(frozen=True)
class Found:
    """A public article translation that answers a question."""

    slug: str
    lang: str
    title: str
    url: str
    score: float
    cosine: float
    snippet: str
    heading: str | None
    relevant: bool


def _own_evidence(hit: Hit, scripts: frozenset[str]) -> list[Evidence]:
    """The hit's translations written in a script of the query (all of them for a query in no
    script)."""
    return [e for e in hit.evidence
            if not scripts or analyze.language_scripts(e.lang) & scripts]


def is_relevant(hit: Hit, query: str) -> bool:
    """Whether ``hit`` answers ``query`` well enough to be shown (see the module docstring)."""
    if not hit.content_words:
        return False
    own = _own_evidence(hit, analyze.scripts_in(query))
    if own:
        return any(e.cosine >= COSINE_FLOOR
                   or (e.coverage >= 1.0 and e.cosine >= WORD_MATCH_FLOOR)
                   or (hit.content_words >= 2 and e.coverage >= PARTIAL_COVERAGE
                       and e.cosine >= PARTIAL_MATCH_FLOOR) for e in own)
    return any(e.cosine >= CROSS_LINGUAL_FLOOR for e in hit.evidence)


def relevance(hits: Sequence[Hit], query: str) -> list[bool]:
    """``is_relevant`` for each hit, then the relative cut: a hit judged in the query's own
    script stays when its best cosine is within ``RELATIVE_MARGIN`` of the best such cosine
    among the relevant hits, or when one of those translations holds every content word of a
    query of two or more (one word, with its synonyms, is in nearly every article: 提现)."""
    judged = [is_relevant(hit, query) for hit in hits]
    scripts = analyze.scripts_in(query)
    own = [_own_evidence(hit, scripts) for hit in hits]
    best = max((max(e.cosine for e in evidence) for evidence, ok in zip(own, judged, strict=True)
                if ok and evidence), default=None)
    if best is None:
        return judged
    return [ok and (not evidence or (hit.content_words >= 2 and any(
                        e.coverage >= 1.0 for e in evidence))
                    or max(e.cosine for e in evidence) >= best - (
                        RELATIVE_MARGIN if hit.content_words >= 2 else ONE_WORD_MARGIN))
            for hit, ok, evidence in zip(hits, judged, own, strict=True)]


def normalize_query(text: str) -> str:
    """How searches are grouped in the content-gap report: NFKC, case-folded, one space
    between words, no punctuation at the ends."""
    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return _EDGE_PUNCTUATION.sub("", folded)[:QUERY_LIMIT]


async def find(
    session: AsyncSession, index: ArticleIndex, *, query: str, lang: str, k: int = 10,
    category: str | None = None, relevant_only: bool = False,
) -> list[Found]:
    """The best public articles for ``query``, in the reader's language where one exists (the
    search service falls back across languages by meaning)."""
    text = " ".join(query.split())[:QUERY_LIMIT]
    if not text:
        return []
    await ensure_complete(session, index)
    hits = await index.search(text, lang=lang, k=k, category=category)
    public = await public_pairs(session, [(h.slug, h.lang) for h in hits] +
                                [(h.slug, lang) for h in hits])
    found = []
    for hit, relevant in zip(hits, relevance(hits, text), strict=True):
        # The reader's own language when the article has it (its sections are other ones).
        shown = lang if (hit.slug, lang) in public else hit.lang
        texts = public.get((hit.slug, shown))
        if texts is None or (relevant_only and not relevant):
            continue
        title, summary = texts
        anchor = hit.section.anchor if hit.section and shown == hit.lang else ""
        found.append(Found(
            slug=hit.slug, lang=shown, title=title,
            url=article_url(hit.slug, shown) + (f"#{anchor}" if anchor else ""),
            score=hit.score, cosine=hit.cosine,
            snippet=hit.snippet if shown == hit.lang else summary,
            heading=hit.section.heading if hit.section and anchor else None,
            relevant=relevant))
    return found


async def ensure_complete(session: AsyncSession, index: ArticleIndex) -> None:
    """Rebuild the index in the background when it does not hold one entry per public
    translation (one COUNT per search: cheap next to embedding the question)."""
    if index.rebuilding:
        return
    public = await session.scalar(
        select(func.count()).select_from(ArticleTranslation)
        .join(Article, Article.id == ArticleTranslation.article_id)
        .where(Article.status == "published", ArticleTranslation.status == "published")) or 0
    if public != len(index.service):
        index.rebuild_in_background(await public_documents(session))


async def public_pairs(session: AsyncSession, pairs: Sequence[tuple[str, str]]
                       ) -> dict[tuple[str, str], tuple[str, str]]:
    """Of these (slug, lang) pairs, the ones the public may read now, with their titles and
    summaries (the index can lag behind an unpublish by a moment)."""
    if not pairs:
        return {}
    rows = await session.execute(
        select(Article.slug, ArticleTranslation.lang, ArticleTranslation.title,
               ArticleTranslation.summary)
        .join(ArticleTranslation, ArticleTranslation.article_id == Article.id)
        .where(Article.status == "published", ArticleTranslation.status == "published",
               or_(*(and_(Article.slug == slug, ArticleTranslation.lang == lang)
                     for slug, lang in set(pairs)))))
    return {(slug, lang): (title, summary) for slug, lang, title, summary in rows}


async def log_search(
    session: AsyncSession, *, query: str, lang: str, source: str, found: Sequence[Found],
    log_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Record a search. Instant search sends one ``log_id`` per search box, so the words typed
    one key at a time become one row holding the last query, not one row per keystroke; the
    results page that the box submits to finishes that row. A finished row is never changed
    again: a search from a results page, or a shared results link, is a new row (the gaps
    report would lose the search it replaced)."""
    text = " ".join(query.split())[:QUERY_LIMIT]
    values = {"query": text, "normalized": normalize_query(text), "lang": lang,
              "source": source, "results": sum(1 for f in found if f.relevant),
              "top_score": max((f.cosine for f in found), default=None)}
    if log_id is not None:
        row = await session.get(SearchLog, log_id)
        if row is not None and row.source == "instant":
            for name, value in values.items():
                setattr(row, name, value)
            row.created_at = clock.now()
            return row.id
        if row is not None:
            log_id = None
    row = SearchLog(id=log_id or new_id(), **values)
    session.add(row)
    await session.flush()
    return row.id


async def record_click(session: AsyncSession, log_id: uuid.UUID, slug: str) -> None:
    """The reader opened ``slug`` from the results of search ``log_id`` (first click counts)."""
    await session.execute(update(SearchLog).where(
        SearchLog.id == log_id, SearchLog.clicked_slug.is_(None)).values(clicked_slug=slug))


async def related_articles(
    session: AsyncSession, index: ArticleIndex, article: Article,
    translation: ArticleTranslation, *, lang: str, k: int = 5,
) -> list[Found]:
    """Articles about the same thing: found by the article's own title and summary, those of
    its own category first, topped up with published articles of its section. Each links to
    the top of the article (a search hit's link goes to the matching section) in the reader's
    help center (``lang``), also when it is shown in another language."""
    hits = [f for f in await find(session, index, query=f"{translation.title} "
                                  f"{translation.summary}", lang=lang, k=3 * k + 1,
                                  relevant_only=True)
            if f.slug != article.slug]
    categories: dict[str, uuid.UUID] = {}
    if hits:
        placed = await session.execute(select(Article.slug, Article.category_id).where(
            Article.slug.in_([f.slug for f in hits])))
        categories = {slug: category for slug, category in placed}
    hits.sort(key=lambda f: categories.get(f.slug) != article.category_id)  # stable
    found = [replace(f, url=article_url(f.slug, lang)) for f in hits[:k]]
    if len(found) < k and article.section_id is not None:
        taken = {f.slug for f in found} | {article.slug}
        rows = await session.execute(
            select(Article.slug, ArticleTranslation.lang, ArticleTranslation.title)
            .join(ArticleTranslation, ArticleTranslation.article_id == Article.id)
            .where(Article.section_id == article.section_id, Article.status == "published",
                   ArticleTranslation.status == "published")
            .order_by(Article.position, Article.slug))
        best: dict[str, tuple[str, str]] = {}
        for slug, row_lang, title in rows:
            if slug not in taken and (slug not in best or row_lang == lang):
                best[slug] = (row_lang, title)
        for slug, (row_lang, title) in list(best.items())[:k - len(found)]:
            found.append(Found(slug=slug, lang=row_lang, title=title,
                               url=article_url(slug, lang), score=0.0, cosine=0.0,
                               snippet="", heading=None, relevant=True))
    return found
