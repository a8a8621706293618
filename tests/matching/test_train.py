"""How the training pairs are assembled (the pure parts of `kefu.matching.train`)."""

from __future__ import annotations

from kefu.matching.datasets import Pairs
from kefu.matching.train import identical_pairs, intent_pairs, training_pairs

ROWS = [(f"how do I {verb} my {thing}?", f"{verb}_{thing}")
        for verb in ("reset", "change", "verify", "close")
        for thing in ("password", "card", "account")
        for _ in range(3)]


def test_intent_pairs_are_balanced_and_labelled_by_intent() -> None:
    pairs = intent_pairs(ROWS, 40, seed=0)
    intent = dict(ROWS)
    assert len(pairs) == 40
    assert sum(pairs.labels) == 20
    for a, b, label in zip(pairs.first, pairs.second, pairs.labels, strict=True):
        assert (intent[a] == intent[b]) == bool(label)
    assert intent_pairs(ROWS, 40, seed=0) == pairs  # seeded: training is reproducible


def test_training_pairs_prefer_atec_labels_and_add_identical_pairs() -> None:
    atec = Pairs([f"q{i}" for i in range(2000)], [f"p{i}" for i in range(2000)], [0] * 2000)
    afqmc = Pairs(["q0", "new"], ["p0", "other"], [1, 1])  # q0/p0 also in ATEC, label 0 there
    english = Pairs(["how?"], ["how so?"], [1])
    pairs = training_pairs({"atec": atec, "afqmc_train": afqmc}, english)
    assert len(pairs) == 2000 + 1 + 1 + 2000
    assert ("q0", "p0", 1) not in zip(pairs.first, pairs.second, pairs.labels, strict=True)
    assert ("new", "other", 1) in zip(pairs.first, pairs.second, pairs.labels, strict=True)
    same = identical_pairs(atec + english, count=50)
    assert same.first == same.second
    assert set(same.labels) == {1}
