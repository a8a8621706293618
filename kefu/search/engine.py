"""The search engine: BM25 and multilingual vectors over article sections, fused by rank.

Articles are indexed at section granularity (title + one `##` section), so a hit can point at
the part of an article that answers, and scores are aggregated to articles by their best
section. Each translation is its own document; results carry one hit per slug, in the asker's
language when that translation exists.

Hybrid ranking is reciprocal rank fusion (RRF) with one language-aware rule: BM25 can only
match articles written in the query's script, so for a slug that has no version the query's
words could match, the vector rank stands in for the missing BM25 rank. Without it, a Chinese
query would bury an English-only article under every Chinese article that shares a word.

Writes are not concurrent-safe (the service serializes them); searches read an immutable
snapshot and may run in any number of threads while a write builds the next one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from kefu.search.corpus import Section
from kefu.search.embedding import E5Embedder, Embedder
from kefu.search.index import (
    MODES,
    Doc,
    Hit,
    IndexedDoc,
    Mode,
    build_snapshot,
    index_doc,
    passage_text,
)
from kefu.search.ranking import rank
from kefu.search.store import load_index, save_index


class SearchEngine:
    """In-memory hybrid index over articles. See the module docstring for the ranking."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        self.embedder: Embedder = embedder if embedder is not None else E5Embedder()
        self._docs: dict[tuple[str, str], IndexedDoc] = {}
        self._vectors: dict[str, npt.NDArray[np.float32]] = {}
        self._snapshot = build_snapshot([], {}, self.embedder.dim)

    def __len__(self) -> int:
        return len(self._docs)

    def documents(self) -> list[Doc]:
        return [indexed.doc for indexed in self._docs.values()]

    def upsert(self, docs: Iterable[Doc]) -> None:
        """Add or replace documents (by slug and lang); only changed sections are re-embedded.
        Every document is validated first, so a bad one changes nothing."""
        indexed = self._prepare(docs)
        if indexed:
            self._store(indexed)
            self._rebuild()

    def remove(self, slug: str, lang: str) -> bool:
        """Drop one translation; False when it was not indexed."""
        if self._docs.pop((slug, lang), None) is None:
            return False
        self._rebuild()
        return True

    def replace_all(self, docs: Iterable[Doc]) -> None:
        """Make the index hold exactly these documents (a rebuild that keeps cached vectors)."""
        docs = list(docs)
        indexed = self._prepare(docs)
        wanted = {(doc.slug, doc.lang) for doc in docs}
        stale = [key for key in self._docs if key not in wanted]
        for key in stale:
            del self._docs[key]
        self._store(indexed)
        if indexed or stale:
            self._rebuild()

    def _prepare(self, docs: Iterable[Doc]) -> list[IndexedDoc]:
        """Analyze and embed the documents that are new or differ from what is indexed."""
        changed = [doc for doc in docs if (existing := self._docs.get((doc.slug, doc.lang)))
                   is None or existing.doc != doc]
        indexed = [index_doc(doc, self.embedder.model_id) for doc in changed]
        self._embed_missing(indexed)
        return indexed

    def _store(self, indexed: Iterable[IndexedDoc]) -> None:
        for item in indexed:
            self._docs[(item.doc.slug, item.doc.lang)] = item

    def _embed_missing(self, indexed: Sequence[IndexedDoc]) -> None:
        missing: dict[str, str] = {}
        for item in indexed:
            for section, plain, digest in zip(item.sections, item.plains, item.hashes,
                                              strict=True):
                if digest not in self._vectors:
                    missing[digest] = passage_text(item.doc, section, plain)
        if not missing:
            return
        vectors = self.embedder.passages(list(missing.values()))
        for digest, vector in zip(missing, vectors, strict=True):
            self._vectors[digest] = vector

    def _rebuild(self) -> None:
        docs = sorted(self._docs.values(), key=lambda d: (d.doc.slug, d.doc.lang))
        live = {digest for item in docs for digest in item.hashes}
        self._vectors = {digest: v for digest, v in self._vectors.items() if digest in live}
        self._snapshot = build_snapshot(docs, self._vectors, self.embedder.dim)

    def search(self, query: str, *, lang: str | None = None, k: int = 10, mode: Mode = "hybrid",
               category: str | None = None) -> list[Hit]:
        """The k best articles for a query, one hit per slug, best first. `lang` is the asker's
        language (preferred translation); without it, the query's script decides."""
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r}: use one of {', '.join(MODES)}")
        snapshot = self._snapshot
        if k <= 0 or not query.strip() or not snapshot.docs:
            return []
        return rank(snapshot, self.embedder, query, lang=lang, k=k, mode=mode, category=category)

    def save(self, path: Path) -> None:
        """Write the index to a folder (JSON + .npy, no pickle), replacing it atomically."""
        save_index(path, list(self._docs.values()), self._vectors, self.embedder)

    @classmethod
    def load(cls, path: Path, embedder: Embedder | None = None) -> SearchEngine:
        """Read an index written by `save`; ValueError when it is missing, damaged, or was built
        with another embedding model (then rebuild it)."""
        engine = cls(embedder)
        docs, vectors = load_index(path, engine.embedder)
        engine._docs = {(item.doc.slug, item.doc.lang): item for item in docs}
        engine._vectors = vectors
        engine._rebuild()
        return engine


__all__ = ["Doc", "Hit", "Mode", "SearchEngine", "Section"]
