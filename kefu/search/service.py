"""The one search service of a process: help center, ticket deflection, agents' suggested
answers and the assistant all search through it.

Writes are serialized by a lock and persisted to `index_dir` right after they change the index;
searches take no lock (they read the engine's current immutable snapshot). Callers on an event
loop run `search` in a worker thread (`anyio.to_thread.run_sync`): a query costs a few
milliseconds of BM25 plus ~12 ms to embed, released from the GIL in the C engine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from kefu.core.logging import get_logger
from kefu.search.corpus import load_articles
from kefu.search.embedding import Embedder
from kefu.search.engine import SearchEngine
from kefu.search.index import Doc, Hit, Mode

log = get_logger("kefu.search")


class SearchService:
    """One engine, loaded from `index_dir` at start when an index is there, saved after every
    change. With `index_dir=None` the index lives in memory only (tests, evaluations)."""

    def __init__(self, index_dir: Path | None, *, embedder: Embedder | None = None) -> None:
        self.index_dir = index_dir
        self._lock = threading.Lock()
        self._engine = self._open(index_dir, embedder)

    @staticmethod
    def _open(index_dir: Path | None, embedder: Embedder | None) -> SearchEngine:
        if index_dir is not None and (index_dir / "CURRENT").is_file():
            try:
                return SearchEngine.load(index_dir, embedder)
            except ValueError as exc:
                log.warning("search_index_unusable", index_dir=str(index_dir), error=str(exc))
        return SearchEngine(embedder)

    def __len__(self) -> int:
        return len(self._engine)

    def index_article(self, doc: Doc) -> None:
        """Add or update one translation (call after an article is saved or published)."""
        with self._lock:
            self._engine.upsert([doc])
            self._persist()

    def remove_article(self, slug: str, lang: str) -> bool:
        """Drop one translation (unpublished or deleted); False when it was not indexed."""
        with self._lock:
            removed = self._engine.remove(slug, lang)
            if removed:
                self._persist()
            return removed

    def rebuild(self, docs: Iterable[Doc]) -> int:
        """Make the index hold exactly `docs` (`kefu search reindex`); vectors of unchanged
        sections are reused. Returns the number of documents indexed."""
        with self._lock:
            self._engine.replace_all(docs)
            self._persist()
            return len(self._engine)

    def rebuild_from_folder(self, folder: Path) -> int:
        """Rebuild from article files in the docs/kb-format.md layout (the demo KB)."""
        return self.rebuild(Doc.from_article(article) for article in load_articles(folder))

    def search(self, query: str, *, lang: str | None = None, k: int = 10,
               mode: Mode = "hybrid", category: str | None = None) -> list[Hit]:
        return self._engine.search(query, lang=lang, k=k, mode=mode, category=category)

    def _persist(self) -> None:
        if self.index_dir is not None:
            self._engine.save(self.index_dir)


@cache
def _service_for(index_dir: Path | None) -> SearchService:
    return SearchService(index_dir)


def get_search_service(index_dir: Path | None) -> SearchService:
    """The process's service for an index folder (one per resolved path; None = in memory)."""
    return _service_for(index_dir.resolve() if index_dir is not None else None)
