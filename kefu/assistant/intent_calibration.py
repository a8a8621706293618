"""Turning classifier scores into a confidence the assistant can threshold, and choosing the
out-of-scope threshold, both on a slice of the training data the classifier did not see."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

# In-scope accuracy the threshold may give up on the calibration slice when the training data
# has out-of-scope examples to trade against, and when it has none (then the threshold can only
# be set from in-scope confidence: reject what the model is least sure of).
MAX_IN_SCOPE_LOSS_WITH_OOS = 0.03
MAX_IN_SCOPE_LOSS_WITHOUT_OOS = 0.02


def holdout_split(labels: Sequence[str], fraction: float,
                  seed: int = 0) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Indices (fit, held out), stratified by label: each label with at least two examples
    gives about ``fraction`` of them, at least one and never all, so that every label is
    still learnt and the held-out slice looks like the data."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_label[label].append(index)
    rng = np.random.default_rng(seed)
    fit: list[int] = []
    held: list[int] = []
    for label in sorted(by_label):
        indices = rng.permutation(by_label[label]).tolist()
        count = min(len(indices) - 1, max(1, round(len(indices) * fraction)))
        held.extend(indices[:count])
        fit.extend(indices[count:])
    return np.array(sorted(fit), dtype=np.int64), np.array(sorted(held), dtype=np.int64)


def fit_temperature(scores: NDArray[np.float64], truth: NDArray[np.int64]) -> float:
    """The softmax temperature that minimises the negative log-likelihood of the true labels
    (rows whose label the classifier does not know, ``truth == -1``, are left out)."""
    known = truth >= 0
    if not known.any():
        return 1.0
    rows, cols = scores[known], truth[known]

    def nll(log_t: float) -> float:
        logp = log_softmax(rows / np.exp(log_t), axis=1)
        return float(-logp[np.arange(len(cols)), cols].mean())

    result = minimize_scalar(nll, bounds=(-6.0, 4.0), method="bounded")
    return float(np.exp(result.x))


def probabilities(scores: NDArray[np.float64], temperature: float) -> NDArray[np.float64]:
    """Softmax over classes at the calibrated temperature."""
    return np.asarray(softmax(scores / temperature, axis=1))


def choose_threshold(confidence: NDArray[np.float64], correct: NDArray[np.bool_],
                     is_oos: NDArray[np.bool_], predicted_oos: NDArray[np.bool_]) -> float:
    """The confidence below which a message counts as out of scope.

    With out-of-scope examples on the slice: the threshold that maximises in-scope accuracy
    plus out-of-scope recall, among those that cost at most MAX_IN_SCOPE_LOSS_WITH_OOS of
    in-scope accuracy. Without them: the highest threshold that costs at most
    MAX_IN_SCOPE_LOSS_WITHOUT_OOS. ``correct`` says whether the unthresholded prediction of an
    in-scope row was right; ``predicted_oos`` whether the classifier already said out of scope.
    """
    in_scope = ~is_oos
    if not in_scope.any():
        return 0.0
    base_accuracy = float(correct[in_scope].mean())
    candidates = np.unique(np.concatenate([[0.0], confidence]))
    has_oos = bool(is_oos.any())
    max_loss = MAX_IN_SCOPE_LOSS_WITH_OOS if has_oos else MAX_IN_SCOPE_LOSS_WITHOUT_OOS
    best, best_value = 0.0, -np.inf
    for threshold in candidates:
        kept = confidence >= threshold
        accuracy = float((correct & kept)[in_scope].mean())
        if base_accuracy - accuracy > max_loss + 1e-12:
            break
        recall = float((predicted_oos | ~kept)[is_oos].mean()) if has_oos else 0.0
        value = accuracy + recall if has_oos else float(threshold)
        if value > best_value:
            best, best_value = float(threshold), value
    return best
