"""Shared search fixtures: the fixture knowledge base, one real-model engine over it for the
whole session (embedding is the slow part), and a fast stand-in embedder for tests that are
about bookkeeping rather than meaning."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from kefu.search import analyze
from kefu.search.corpus import load_articles
from kefu.search.engine import Doc, SearchEngine

FIXTURE_KB = Path(__file__).parent / "kb_fixture"


class BagOfWordsEmbedder:
    """Deterministic stand-in for e5: the normalized sum of one random vector per index term.
    Texts sharing words are close, so rankings are meaningful, and it counts what it embeds."""

    model_id = "test-bag-of-words"
    dim = 64

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def _vector(self, text: str) -> npt.NDArray[np.float32]:
        total = np.full(self.dim, 1e-3, dtype=np.float32)
        for term in analyze.terms(text):
            seed = int.from_bytes(hashlib.blake2b(term.encode(), digest_size=8).digest(), "big")
            total += np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return (total / np.linalg.norm(total)).astype(np.float32)

    def query(self, text: str) -> npt.NDArray[np.float32]:
        return self._vector(text)

    def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.embedded.extend(texts)
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros(
            (0, self.dim), dtype=np.float32)


@pytest.fixture(scope="session")
def fixture_docs() -> list[Doc]:
    return [Doc.from_article(article) for article in load_articles(FIXTURE_KB)]


@pytest.fixture(scope="session")
def fixture_engine(fixture_docs: list[Doc]) -> SearchEngine:
    """The fixture KB indexed with the real multilingual model (built once per session)."""
    engine = SearchEngine()
    engine.upsert(fixture_docs)
    return engine


@pytest.fixture
def fast_engine(fixture_docs: list[Doc]) -> SearchEngine:
    engine = SearchEngine(BagOfWordsEmbedder())
    engine.upsert(fixture_docs)
    return engine
