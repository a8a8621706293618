"""Persistence: save and load give the same answers; damaged or foreign indexes are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kefu.search import analyze
from kefu.search.engine import SearchEngine
from tests.search.conftest import BagOfWordsEmbedder

QUERIES = ["withdrawl pendng", "提币白名单", "funding rate longs", "谷歌验证器"]


def answers(engine: SearchEngine) -> list[list[tuple[str, str, str]]]:
    return [[(h.slug, h.lang, h.section.anchor if h.section else "") for h in
             engine.search(q, mode=mode)] for q in QUERIES for mode in ("bm25", "hybrid")]


def test_round_trip(fast_engine: SearchEngine, tmp_path: Path) -> None:
    fast_engine.save(tmp_path / "index")
    embedder = BagOfWordsEmbedder()
    loaded = SearchEngine.load(tmp_path / "index", embedder)
    assert answers(loaded) == answers(fast_engine)
    assert len(loaded) == len(fast_engine)
    loaded.upsert(fast_engine.documents())
    assert embedder.embedded == []  # vectors came back from disk


def test_saving_again_replaces_the_previous_generation(fast_engine: SearchEngine,
                                                       tmp_path: Path) -> None:
    fast_engine.save(tmp_path)
    fast_engine.remove("funding-rate", "en")
    fast_engine.save(tmp_path)
    assert len(list(tmp_path.glob("gen-*"))) == 1
    loaded = SearchEngine.load(tmp_path, BagOfWordsEmbedder())
    assert "funding-rate" not in {h.slug for h in loaded.search("funding", mode="bm25")}


def test_missing_index(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no search index"):
        SearchEngine.load(tmp_path, BagOfWordsEmbedder())


def test_index_from_another_model_is_refused(fast_engine: SearchEngine, tmp_path: Path) -> None:
    fast_engine.save(tmp_path)
    other = BagOfWordsEmbedder()
    other.model_id = "another-model"
    with pytest.raises(ValueError, match="rebuild the index"):
        SearchEngine.load(tmp_path, other)


def test_damaged_index_is_refused(fast_engine: SearchEngine, tmp_path: Path) -> None:
    fast_engine.save(tmp_path)
    generation = tmp_path / (tmp_path / "CURRENT").read_text()
    (generation / "lengths.npy").write_bytes(b"not numpy")
    with pytest.raises(ValueError, match="unreadable search index"):
        SearchEngine.load(tmp_path, BagOfWordsEmbedder())


def test_an_index_analyzed_another_way_is_analyzed_again_on_load(
        fast_engine: SearchEngine, tmp_path: Path) -> None:
    """A new user-dictionary word (or stop word) changes the terms, not the vectors: a stored
    index gets the terms again without embedding anything."""
    fast_engine.save(tmp_path)
    generation = tmp_path / (tmp_path / "CURRENT").read_text()
    meta = json.loads((generation / "meta.json").read_text("utf-8"))
    assert meta["analyzer"] == analyze.fingerprint()
    meta["analyzer"] = "an older dictionary"
    meta["vocab"] = [f"stale-{term}" for term in meta["vocab"]]  # as if split differently
    (generation / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
    embedder = BagOfWordsEmbedder()
    loaded = SearchEngine.load(tmp_path, embedder)
    assert answers(loaded) == answers(fast_engine)
    assert embedder.embedded == []
