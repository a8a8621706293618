"""Every knowledge-base test searches with the fast stand-in embedder (see ``support``)."""

from __future__ import annotations

import pytest

from tests.kb.support import use_fast_search


@pytest.fixture(autouse=True)
def fast_search(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_search(monkeypatch)


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at production cost is ~0.3 s per hash; every world hashes six."""
    from argon2 import PasswordHasher

    from kefu.accounts import security

    monkeypatch.setattr(security, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
