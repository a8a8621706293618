"""Pure pair-feature logic: normalisation, the mismatch detectors, string measures, the numpy
tree evaluator and threshold search."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from kefu.matching.features import (
    LEXICAL_NAMES,
    Idf,
    PairFeaturizer,
    common_lengths,
    edit_distance,
    entities,
    negation_count,
    normalize,
    numbers,
    question_classes,
)
from kefu.matching.matcher import best_threshold
from kefu.matching.network import NetworkEnsemble, PairNetwork
from kefu.matching.trees import TreeEnsemble


@pytest.fixture(scope="module")
def featurizer() -> PairFeaturizer:
    return PairFeaturizer(Idf(np.ones(1 << 18, dtype=np.float32)))


def feature(row: np.ndarray, name: str) -> float:
    return float(row[LEXICAL_NAMES.index(name)])


def test_normalize_folds_width_case_and_punctuation() -> None:
    assert normalize("ＵＳＤＴ　提币？") == normalize("usdt提币") == "usdt提币"


def test_numbers_reads_digits_and_chinese_numerals_before_a_measure_word() -> None:
    assert numbers("花呗分3期") == numbers("花呗分三期") == frozenset({"3"})
    assert numbers("分十二期还款") == frozenset({"12"})
    assert numbers("一直都是这样") == frozenset()  # 一 without a measure word is not a number
    assert numbers("转账0.50元") == numbers("转账0.5元") == frozenset({"0.5"})
    assert numbers("验证码007") == frozenset({"7"})


def test_negation_ignores_a_not_a_question_forms() -> None:
    assert negation_count("花呗能不能提前还款") == 0
    assert negation_count("花呗不能提前还款") == 1
    assert negation_count("why can't i withdraw") == 1
    assert negation_count("how do i withdraw") == 0


def test_entities_and_question_classes() -> None:
    assert entities("借呗怎么还款") == frozenset({"借呗"})
    assert question_classes("为什么提币没到账") != question_classes("怎么提币")


def test_string_measures() -> None:
    assert edit_distance("花呗还款", "借呗还款") == 1
    assert common_lengths("花呗怎么还款", "借呗如何还款") == (2, 3)


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=12), st.text(max_size=12))
def test_edit_distance_is_a_symmetric_bounded_distance(a: str, b: str) -> None:
    distance = edit_distance(a, b)
    assert distance == edit_distance(b, a)
    assert (distance == 0) == (a == b)
    assert abs(len(a) - len(b)) <= distance <= max(len(a), len(b))


def test_identical_pair_has_full_overlap(featurizer: PairFeaturizer) -> None:
    q = featurizer.question("花呗怎么提前还款？")
    row = featurizer.lexical(q, q)
    assert feature(row, "exact_same") == 1.0
    assert feature(row, "char2_jaccard") == 1.0
    assert feature(row, "tfidf_cosine") == pytest.approx(1.0)
    assert feature(row, "edit_ratio") == 1.0


def test_mismatch_flags(featurizer: PairFeaturizer) -> None:
    def row(a: str, b: str) -> np.ndarray:
        return featurizer.lexical(featurizer.question(a), featurizer.question(b))

    assert feature(row("花呗分3期怎么还", "花呗分6期怎么还"), "number_differ") == 1.0
    assert feature(row("花呗分3期怎么还", "花呗分三期怎么还"), "number_differ") == 0.0
    assert feature(row("花呗怎么还款", "借呗怎么还款"), "entity_disjoint") == 1.0
    assert feature(row("提币能到账吗", "提币没到账"), "negation_parity") == 1.0
    assert feature(row("怎么提币", "为什么提币"), "question_class_same") == 0.0
    english = row("Why can't I withdraw?", "How do I withdraw?")
    assert feature(english, "negation_parity") == 1.0
    assert feature(english, "question_class_same") == 0.0
    assert feature(row("How do I withdraw?", "how do i withdraw"), "exact_same") == 1.0


def test_tree_ensemble_equals_scikit_learn_and_survives_round_trip() -> None:
    rng = np.random.default_rng(0)
    features = rng.random((600, 6))
    features[rng.random(features.shape) < 0.05] = np.nan
    labels = (np.nan_to_num(features[:, 0]) + 0.3 * rng.random(600) > 0.6).astype(int)
    model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(features, labels)
    trees = TreeEnsemble.from_sklearn(model)
    np.testing.assert_allclose(trees.decision(features), model.decision_function(features),
                               atol=1e-9)
    again = TreeEnsemble.from_arrays(trees.to_arrays("x_"), "x_")
    np.testing.assert_array_equal(again.decision(features), trees.decision(features))
    with pytest.raises(ValueError, match="expected 6 features"):
        trees.decision(features[:, :5])


def test_network_equals_scikit_learn_and_survives_round_trip() -> None:
    rng = np.random.default_rng(1)
    features = rng.normal(size=(400, 8)) * 5 + 3
    labels = (features[:, 0] - features[:, 1] + rng.normal(scale=4, size=400) > 0).astype(int)
    scaler = StandardScaler().fit(features)
    model = MLPClassifier((16,), solver="lbfgs", max_iter=2000, random_state=0).fit(
        scaler.transform(features), labels)
    network = PairNetwork.from_sklearn(scaler, model)
    probability = model.predict_proba(scaler.transform(features))[:, 1]
    # weights are rounded to float16 on export: equal to scikit-learn up to that rounding
    np.testing.assert_allclose(1 / (1 + np.exp(-network.decision(features))), probability,
                               atol=0.01)
    ensemble = NetworkEnsemble((network, network))
    again = NetworkEnsemble.from_arrays(ensemble.to_arrays("n_"), "n_")
    np.testing.assert_array_equal(again.decision(features), network.decision(features))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=30))
# neighbouring floats: their midpoint rounds to the lower one (found by Hypothesis in a run)
@example([(0.0, False), (5e-324, True)])
@example([(0.25, False), (float(np.nextafter(0.25, 1.0)), True)])
@example([(1e20, False)])
def test_best_threshold_reaches_the_best_accuracy_of_any_cut(
        items: list[tuple[float, bool]]) -> None:
    scores = np.array([s for s, _ in items])
    labels = np.array([int(y) for _, y in items])
    cuts = np.concatenate([scores, [np.inf]])
    best = max(np.mean((scores >= cut) == labels) for cut in cuts)
    assert np.mean((scores >= best_threshold(scores, labels)) == labels) == pytest.approx(best)
