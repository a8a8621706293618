"""The knowledge base's link to the search service (``kefu.search``): which translations are in
the index, and asking it questions.

Search is CPU work (an embedding per query, BM25 over the articles), so every call runs in a
worker thread. Index changes run after commit: a rolled-back publish never reaches search.
The index lives under ``DATA_DIR/search`` and is one per process (``get_search_service`` caches
it per folder). It is derived data: when it does not hold as many translations as are public
(a fresh data folder, a restored backup, articles loaded by ``kefu demo``), the next search
starts a rebuild in the background (``finder.ensure_complete``) and answers from what is
indexed meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import anyio
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.config import Settings
from kefu.core.logging import get_logger
from kefu.db import after_commit
from kefu.search.engine import Doc, Hit
from kefu.search.service import SearchService, get_search_service

log = get_logger("kefu.kb")


def index_dir(settings: Settings) -> Path:
    return settings.data_dir / "search"


class ArticleIndex:
    """The published translations, searchable."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._rebuilding: asyncio.Task[None] | None = None

    @classmethod
    def for_settings(cls, settings: Settings) -> ArticleIndex:
        return cls(index_dir(settings))

    @property
    def service(self) -> SearchService:
        return get_search_service(self.folder)

    def apply_after_commit(
        self, session: AsyncSession, *, upserts: Sequence[Doc],
        removals: Sequence[tuple[str, str]],
    ) -> None:
        if upserts or removals:
            after_commit(session, partial(self.apply, list(upserts), list(removals)))

    async def apply(self, upserts: list[Doc], removals: list[tuple[str, str]]) -> None:
        await anyio.to_thread.run_sync(self._apply, upserts, removals)

    def _apply(self, upserts: list[Doc], removals: list[tuple[str, str]]) -> None:
        service = self.service
        for slug, lang in removals:
            service.remove_article(slug, lang)
        for doc in upserts:
            service.index_article(doc)

    async def rebuild(self, docs: Sequence[Doc]) -> None:
        await anyio.to_thread.run_sync(self.service.rebuild, list(docs))

    @property
    def rebuilding(self) -> bool:
        return self._rebuilding is not None and not self._rebuilding.done()

    def rebuild_in_background(self, docs: Sequence[Doc]) -> None:
        """Start making the index hold exactly ``docs``, unless a rebuild is under way."""
        if self.rebuilding:
            return
        log.info("search_index_rebuild", documents=len(docs))
        self._rebuilding = asyncio.get_running_loop().create_task(self._rebuild_logged(docs))

    async def _rebuild_logged(self, docs: Sequence[Doc]) -> None:
        try:
            await self.rebuild(docs)
        except Exception:
            log.exception("search_index_rebuild_failed")

    async def settled(self) -> None:
        """Wait for a background rebuild (tests, shutdown)."""
        if self._rebuilding is not None:
            await asyncio.shield(self._rebuilding)

    async def search(self, query: str, *, lang: str | None, k: int = 10,
                     category: str | None = None) -> list[Hit]:
        return await anyio.to_thread.run_sync(
            partial(self.service.search, query, lang=lang, k=k, mode="hybrid",
                    category=category))


def warm_up(folder: Path) -> bool:
    """Load what the first search needs, so that the help center's first visitor does not wait
    for it: the saved index and the embedding model (~0.7 s on 2 cores), the Chinese
    segmenter's dictionary (~0.1 s). Only where an index has been built (``kefu search
    reindex``, or a search since); False when there is none."""
    if not (folder / "CURRENT").is_file():
        return False
    service = get_search_service(folder)
    for query in ("deposit", "充值"):
        service.search(query, k=1)
    return True


def article_index(request: Request) -> ArticleIndex:
    """FastAPI dependency: the app's index (one object, so one background rebuild at a
    time)."""
    state = request.app.state
    index: ArticleIndex | None = getattr(state, "kb_index", None)
    if index is None:
        index = state.kb_index = ArticleIndex.for_settings(state.settings)
    return index
