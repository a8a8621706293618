"""A linear model over hashed word-pair terms: which words two questions share, which words only
one has, and which word is swapped for which ("开通" ↔ "关闭", "花呗" ↔ "借呗").

Swaps are what decide most near-duplicate pairs, and they are specific to a domain: a few
thousand labelled pairs of that domain teach them well (measured: BQ 0.79, LCQMC 0.83 accuracy
in 5-fold cross-validation on their dev splits, against 0.71 / 0.66 when trained on ATEC). So
this model is fitted where labelled pairs of the target domain exist (`QuestionMatcher.adapt`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from kefu.matching.features import Question, bucket

WORD_PAIR_BUCKETS = 1 << 18
MAX_SWAPS = 64  # word-swap terms per pair; long English sentences would otherwise explode


def pair_terms(a: Question, b: Question) -> list[str]:
    """Symmetric terms of a pair: shared and one-sided words and characters, and swaps."""
    terms = [f"s:{w}" for w in a.words & b.words] + [f"d:{w}" for w in a.words ^ b.words]
    chars_a, chars_b = frozenset(a.text), frozenset(b.text)
    terms += [f"cs:{c}" for c in chars_a & chars_b] + [f"cd:{c}" for c in chars_a ^ chars_b]
    only_a, only_b = sorted(a.words - b.words), sorted(b.words - a.words)
    swaps = [f"p:{min(x, y)}|{max(x, y)}" for x in only_a for y in only_b]
    return terms + swaps[:MAX_SWAPS]


def term_matrix(pairs: Sequence[tuple[Question, Question]]) -> sp.csr_matrix:
    """Binary hashed bag of pair terms, one row per pair."""
    indptr, indices = [0], []
    for a, b in pairs:
        columns = sorted({bucket(term) % WORD_PAIR_BUCKETS for term in pair_terms(a, b)})
        indices.extend(columns)
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float32)
    return sp.csr_matrix((data, np.array(indices, dtype=np.int64), np.array(indptr)),
                         shape=(len(pairs), WORD_PAIR_BUCKETS))


@dataclass(frozen=True)
class WordPairModel:
    """Logistic regression weights over the hashed pair terms."""

    weights: np.ndarray  # float32, WORD_PAIR_BUCKETS
    bias: float

    @classmethod
    def fit(cls, terms: sp.csr_matrix, labels: np.ndarray, *, c: float = 0.1) -> WordPairModel:
        """Strong regularisation (C=0.1): most swap terms are seen a handful of times."""
        model = LogisticRegression(C=c, max_iter=2000).fit(terms, labels)
        return cls(model.coef_[0].astype(np.float32), float(model.intercept_[0]))

    def decision(self, terms: sp.csr_matrix) -> np.ndarray:
        return np.asarray(terms @ self.weights + self.bias, dtype=np.float64)

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}weights": self.weights, f"{prefix}bias": np.array([self.bias])}

    @classmethod
    def from_arrays(cls, arrays: Any, prefix: str) -> WordPairModel:
        return cls(np.asarray(arrays[f"{prefix}weights"], dtype=np.float32),
                   float(arrays[f"{prefix}bias"][0]))
