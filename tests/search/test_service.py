"""The process-wide service: persists after each change, reloads at start, safe under threads."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from kefu.kb import indexing
from kefu.search.engine import Doc, Hit
from kefu.search.service import SearchService, get_search_service
from tests.search.conftest import BagOfWordsEmbedder

STAKING = Doc("earn-staking", "en", "Staking rewards", "Stake ETH and get staking rewards.",
              category="earn")


def test_changes_persist_and_reload(tmp_path: Path, fixture_docs: list[Doc]) -> None:
    service = SearchService(tmp_path, embedder=BagOfWordsEmbedder())
    assert service.rebuild(fixture_docs) == 14
    service.index_article(STAKING)
    assert service.remove_article("funding-rate", "en") is True
    assert service.remove_article("funding-rate", "en") is False

    reopened = SearchService(tmp_path, embedder=BagOfWordsEmbedder())
    assert len(reopened) == 14
    assert reopened.search("staking", mode="bm25")[0].slug == "earn-staking"
    assert reopened.search("longs pay shorts", mode="bm25") == []


def test_rebuild_drops_what_is_gone(tmp_path: Path, fixture_docs: list[Doc]) -> None:
    service = SearchService(None, embedder=BagOfWordsEmbedder())
    service.rebuild(fixture_docs)
    assert service.rebuild([STAKING]) == 1
    assert [h.slug for h in service.search("deposit staking", mode="bm25")] == ["earn-staking"]
    assert not list(tmp_path.iterdir())  # index_dir=None writes nothing


def test_rebuild_from_folder(tmp_path: Path) -> None:
    service = SearchService(None, embedder=BagOfWordsEmbedder())
    folder = Path(__file__).parent / "kb_fixture"
    assert service.rebuild_from_folder(folder) == 14


def test_unusable_index_starts_empty(tmp_path: Path) -> None:
    (tmp_path / "CURRENT").write_text("gen-missing")
    service = SearchService(tmp_path, embedder=BagOfWordsEmbedder())
    assert len(service) == 0


def test_one_service_per_folder(tmp_path: Path) -> None:
    first = get_search_service(tmp_path / "a")
    assert get_search_service(tmp_path / "a" / ".." / "a") is first
    assert get_search_service(tmp_path / "b") is not first


def test_searches_run_while_articles_are_indexed(fixture_docs: list[Doc]) -> None:
    service = SearchService(None, embedder=BagOfWordsEmbedder())
    service.rebuild(fixture_docs)
    errors: list[BaseException] = []
    done = threading.Event()

    def search_loop() -> None:
        try:
            while not done.is_set():
                assert service.search("withdrawal pending", mode="hybrid")
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=search_loop) for _ in range(3)]
    for thread in threads:
        thread.start()
    for i in range(10):
        service.index_article(Doc(f"extra-{i}", "en", f"Extra {i}", f"Extra article {i}."))
    done.set()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(service) == 24


def test_warm_up_loads_a_saved_index_and_answers_from_it(
        tmp_path: Path, fixture_docs: list[Doc], monkeypatch: pytest.MonkeyPatch) -> None:
    """At start the app warms the search (``indexing.warm_up``): where an index was saved,
    the process's service is loaded from it and has answered; where none was, nothing is
    built (the first search starts the rebuild)."""
    saved, empty = tmp_path / "saved", tmp_path / "empty"
    SearchService(saved, embedder=BagOfWordsEmbedder()).rebuild(fixture_docs)
    empty.mkdir()
    searched: dict[Path, list[str]] = {}

    class Recording(SearchService):
        def search(self, query: str, **kwargs: Any) -> list[Hit]:
            hits = super().search(query, **kwargs)
            searched.setdefault(self.index_dir or Path(), []).extend(h.slug for h in hits)
            return hits

    monkeypatch.setattr(indexing, "get_search_service",
                        lambda folder: Recording(folder, embedder=BagOfWordsEmbedder()))
    assert indexing.warm_up(saved) is True
    assert "deposit-not-credited" in searched[saved]  # the saved articles answered
    assert indexing.warm_up(empty) is False
    assert empty not in searched
    assert list(empty.iterdir()) == []
