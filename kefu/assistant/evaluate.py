"""``kefu eval intents``: train the intent model on one labelled CSV, score another.

Any ``text,label`` CSV works (any UTF-8 text, any label names), so held-out test splits kept
outside the repository can measure Kefu through this command. The model trains on TRAIN only;
its calibration slice is carved out of TRAIN, never TEST.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import typer
from sklearn.metrics import f1_score

from kefu.assistant.intent_data import read_labelled_csv
from kefu.assistant.intents import IntentModel

# What the model chose on its held-out fifth of TRAIN, reported so that a score can be traced
# to the settings behind it.
CHOSEN = ("svm_c", "embedding_weight", "anchors", "svm_share", "neighbour_scale",
          "prior_weight", "holdout_macro_f1")


def score_predictions(truth: Sequence[str], predicted: Sequence[str], *,
                      oos_label: str | None) -> dict[str, float]:
    """Accuracy and macro-F1 over the labels of the test set (a prediction of a label the
    test set lacks still counts as a miss); with ``oos_label``, also in-scope accuracy (exact
    label on rows that are not out of scope) and out-of-scope recall and precision."""
    true = np.array(truth, dtype=object)
    pred = np.array(predicted, dtype=object)
    scores = {
        "accuracy": float((true == pred).mean()),
        "macro_f1": float(f1_score(true, pred, labels=sorted(set(truth)), average="macro",
                                   zero_division=0)),
    }
    if oos_label is not None:
        is_oos, said_oos = true == oos_label, pred == oos_label
        in_scope = ~is_oos
        scores["in_scope_accuracy"] = (float((true == pred)[in_scope].mean())
                                       if in_scope.any() else 0.0)
        scores["oos_recall"] = float(said_oos[is_oos].mean()) if is_oos.any() else 0.0
        scores["oos_precision"] = float(is_oos[said_oos].mean()) if said_oos.any() else 0.0
    return scores


def predict_one_at_a_time(model: IntentModel,
                          texts: Sequence[str]) -> tuple[list[str], list[float]]:
    """Labels and per-message latencies in milliseconds, as the assistant sees them: one
    message per call, after the model is loaded and warmed up by one call."""
    if texts:
        model.predict(texts[0])
    labels: list[str] = []
    latencies: list[float] = []
    for text in texts:
        start = time.perf_counter()
        labels.append(model.predict(text).label)
        latencies.append((time.perf_counter() - start) * 1000.0)
    return labels, latencies


def evaluate_intents(train: Path, test: Path, *, oos_label: str | None,
                     json_only: bool) -> dict[str, object]:
    """Train on TRAIN, score TEST; print a short summary (unless ``json_only``) and then
    exactly one JSON line with the scores, latency percentiles, training time and the settings
    the model chose (``chosen``)."""
    train_rows = read_labelled_csv(train)
    test_rows = read_labelled_csv(test)
    started = time.perf_counter()
    model = IntentModel.train(train_rows.texts, train_rows.labels, oos_label=oos_label)
    train_s = time.perf_counter() - started
    predicted, latencies = predict_one_at_a_time(model, test_rows.texts)
    result: dict[str, object] = dict(score_predictions(test_rows.labels, predicted,
                                                        oos_label=oos_label))
    result.update({
        "p50_ms": float(np.percentile(latencies, 50)),
        "p95_ms": float(np.percentile(latencies, 95)),
        "train_s": train_s,
        "n_train": len(train_rows.texts),
        "n_test": len(test_rows.texts),
        "labels": len(model.labels),
        "oos_threshold": model.threshold,
    })
    result = {key: round(value, 4) if isinstance(value, float) else value
              for key, value in result.items()}
    result["chosen"] = {key: model.stats[key] for key in CHOSEN}
    if not json_only:
        typer.echo(_summary(result))
    typer.echo(json.dumps(result, ensure_ascii=False))
    return result


def _summary(result: dict[str, object]) -> str:
    lines = [f"intents: trained on {result['n_train']} rows ({result['labels']} labels) in "
             f"{result['train_s']} s, scored {result['n_test']} rows",
             f"  accuracy {result['accuracy']}  macro-F1 {result['macro_f1']}  "
             f"latency p50 {result['p50_ms']} ms  p95 {result['p95_ms']} ms"]
    if "oos_recall" in result:
        lines.append(f"  in-scope accuracy {result['in_scope_accuracy']}  out-of-scope recall "
                     f"{result['oos_recall']}  precision {result['oos_precision']}  "
                     f"(threshold {result['oos_threshold']})")
    return "\n".join(lines)
