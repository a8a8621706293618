"""Every knowledge-base test searches with the fast stand-in embedder (see ``support``)."""

from __future__ import annotations

import pytest

from tests.kb.support import use_fast_search


@pytest.fixture(autouse=True)
def fast_search(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_search(monkeypatch)

