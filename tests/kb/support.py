"""Knowledge-base test support: a fast stand-in for the embedding model and plain factories.

The real multilingual model costs seconds per article on a busy test machine; these tests are
about publishing, permissions and pages, not about meaning, so search gets a deterministic
bag-of-words embedder (texts that share words are close). Its cosines are spread wider than
e5's, so the relevance floors move with it: the tests' questions score 0.5-0.9 against the
articles they are about and below 0.35 against the others."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from fastapi import FastAPI

from kefu.accounts.actor import Actor
from kefu.accounts.models import Agent
from kefu.kb import finder, indexing, schemas, service
from kefu.kb.indexing import ArticleIndex
from kefu.kb.models import Article
from kefu.search import analyze
from kefu.search.service import SearchService


class BagOfWordsEmbedder:
    model_id = "test-bag-of-words"
    dim = 64

    def _vector(self, text: str) -> npt.NDArray[np.float32]:
        total = np.full(self.dim, 1e-3, dtype=np.float32)
        for term in analyze.terms(text):
            seed = int.from_bytes(hashlib.blake2b(term.encode(), digest_size=8).digest(), "big")
            total += np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return (total / np.linalg.norm(total)).astype(np.float32)

    def query(self, text: str) -> npt.NDArray[np.float32]:
        return self._vector(text)

    def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])


@cache
def _fast_service(folder: Path | None) -> SearchService:
    return SearchService(folder, embedder=BagOfWordsEmbedder())


BAG_OF_WORDS_FLOOR = 0.45


def use_fast_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the knowledge base search with the stand-in embedder (one service per folder)."""
    monkeypatch.setattr(indexing, "get_search_service",
                        lambda folder: _fast_service(folder.resolve() if folder else None))
    monkeypatch.setattr(finder, "COSINE_FLOOR", BAG_OF_WORDS_FLOOR)
    monkeypatch.setattr(finder, "WORD_MATCH_FLOOR", BAG_OF_WORDS_FLOOR)
    monkeypatch.setattr(finder, "CROSS_LINGUAL_FLOOR", BAG_OF_WORDS_FLOOR)


def publisher(agent: Agent) -> Actor:
    return Actor(kind="agent", agent=agent)


DEPOSITS = schemas.CategoryWrite(
    names={"en": "Deposits", "zh-CN": "充值"},
    descriptions={"en": "Crediting and confirmations.", "zh-CN": "到账与确认数。"},
    position=10, ticket_category="deposit",
    sections=[schemas.SectionWrite(slug="troubleshooting",
                                   names={"en": "Troubleshooting", "zh-CN": "问题排查"})])

DEPOSIT_EN = """Most deposits arrive within minutes once the network confirms them.

## Check the confirmations
Each network needs a number of confirmations before a deposit is credited.

## Still missing?
Contact support with the TxID.
"""
DEPOSIT_ZH = """大多数充值在网络确认后几分钟内到账。

## 检查确认数
每个网络都需要一定数量的区块确认，充值才会到账。
"""


async def make_category(app: FastAPI, agent: Agent, slug: str = "deposits",
                        data: schemas.CategoryWrite = DEPOSITS) -> None:
    async with app.state.db.transaction() as session:
        await service.put_category(session, publisher(agent), slug=slug, data=data,
                                   index=ArticleIndex.for_settings(app.state.settings))


async def make_article(
    app: FastAPI, agent: Agent, *, slug: str = "deposit-not-credited", lang: str = "en",
    title: str = "My deposit has not arrived", body: str = DEPOSIT_EN,
    summary: str = "Why a deposit can take longer.", category: str = "deposits",
    section: str | None = "troubleshooting", tags: Sequence[str] = ("deposit",),
    publish: bool = True, translations: dict[str, tuple[str, str]] | None = None,
) -> Article:
    """An article through the real services; ``translations`` maps more languages to
    (title, body). Published in every language when ``publish``."""
    actor = publisher(agent)
    index = ArticleIndex.for_settings(app.state.settings)
    async with app.state.db.transaction() as session:
        article = await service.create_article(session, actor, schemas.ArticleCreate(
            slug=slug, category=category, section=section, tags=list(tags), lang=lang,
            title=title, summary=summary, body_md=body), index=index)
        for code, (other_title, other_body) in (translations or {}).items():
            await service.save_translation(session, actor, article, code,
                                           schemas.TranslationWrite(title=other_title,
                                                                    body_md=other_body),
                                           index=index)
        if publish:
            for code in [lang, *(translations or {})]:
                await service.publish(session, actor, article, lang=code, index=index)
        return article
