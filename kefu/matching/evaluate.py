"""``kefu eval match``: question-matching quality on a labelled TEST file, tuned on DEV only.

The shipped matcher is adapted on DEV (`QuestionMatcher.adapt`: the base model, a stacker, the
cross-encoder or a stacker with the cross-encoder's score, and the threshold, all chosen by
cross-validation inside DEV; with fewer than MIN_ADAPT_PAIRS DEV pairs only the base model's
threshold is tuned), then scores TEST in batches; the JSON line's ``mode`` names the choice.
Latency is measured separately, one pair at a time through ``score`` (embedding both questions
included), on the first LATENCY_PAIRS test pairs after the model is loaded and warm. For
comparison the JSON line also carries the shipped model alone and a char-TF-IDF cosine, each
with its threshold tuned on DEV.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import typer

from kefu.matching.datasets import Pairs, read_pairs_csv
from kefu.matching.features import LEXICAL_NAMES
from kefu.matching.matcher import MIN_ADAPT_PAIRS, QuestionMatcher, best_threshold

LATENCY_PAIRS = 200
MAX_DEV_PAIRS = 6000  # more DEV pairs add little after a few thousand and cost embedding time
TFIDF_COLUMN = -len(LEXICAL_NAMES) + LEXICAL_NAMES.index("tfidf_cosine")


def classification(predicted: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    true_positive = float(np.sum(predicted & (labels == 1)))
    precision = true_positive / max(float(predicted.sum()), 1.0)
    recall = true_positive / max(float((labels == 1).sum()), 1.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": float(np.mean(predicted == (labels == 1))), "f1": f1,
            "precision": precision, "recall": recall}


def dev_sample(pairs: Pairs, limit: int = MAX_DEV_PAIRS) -> Pairs:
    """At most ``limit`` pairs, drawn with a fixed seed so that runs are repeatable."""
    if len(pairs) <= limit:
        return pairs
    chosen = np.sort(np.random.default_rng(0).choice(len(pairs), size=limit, replace=False))
    return pairs.subset(chosen.tolist())


def latency_ms(matcher: QuestionMatcher, pairs: Pairs, count: int) -> list[float]:
    timings = []
    for a, b in zip(pairs.first[:count], pairs.second[:count], strict=True):
        started = time.perf_counter()
        matcher.score(a, b)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def tuned_accuracy(dev_scores: np.ndarray, dev_labels: np.ndarray, test_scores: np.ndarray,
                   test_labels: np.ndarray) -> float:
    """Accuracy on TEST of a score thresholded where it is best on DEV (the baselines)."""
    threshold = best_threshold(dev_scores, dev_labels)
    return float(np.mean((test_scores >= threshold) == (test_labels == 1)))


def read_pairs(path: Path) -> Pairs:
    """``read_pairs_csv`` with the file named in every refusal: bytes that are not UTF-8 or a
    CSV that cannot be parsed are a one-line ValueError, ``FILE: not UTF-8 text (…)``."""
    try:
        return read_pairs_csv(path)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except csv.Error as exc:
        raise ValueError(f"{path}: not a readable CSV ({exc})") from exc


def evaluate_matching(dev: Path, test: Path, *, json_only: bool) -> dict[str, Any]:
    """Adapt on DEV, score TEST, print a summary (unless ``json_only``) and one JSON line.
    ValueError (one line, naming the file) for a malformed CSV."""
    started = time.perf_counter()
    dev_pairs, test_pairs = dev_sample(read_pairs(dev)), read_pairs(test)
    dev_labels, test_labels = np.array(dev_pairs.labels), np.array(test_pairs.labels)
    if dev_labels.min() == dev_labels.max():
        raise ValueError(f"{dev.name}: DEV needs pairs of both labels to tune on")
    shipped = QuestionMatcher.load_default()
    dev_rows = shipped.rows(dev_pairs.first, dev_pairs.second)
    shipped_dev = shipped.probabilities(dev_rows)
    adapted = len(dev_pairs) >= MIN_ADAPT_PAIRS
    matcher = (shipped.adapt(dev_pairs, rows=dev_rows) if adapted
               else shipped.with_threshold(best_threshold(shipped_dev, dev_labels)))
    test_rows = matcher.rows(test_pairs.first, test_pairs.second)
    predicted = matcher.probabilities(test_rows) >= matcher.threshold
    timings = latency_ms(matcher, test_pairs, LATENCY_PAIRS)
    result: dict[str, Any] = {
        **classification(predicted, test_labels),
        "threshold": matcher.threshold,
        "p50_ms": float(np.percentile(timings, 50)),
        "p95_ms": float(np.percentile(timings, 95)),
        "latency_pairs": len(timings),
        "pairs": len(test_pairs),
        "dev_pairs": len(dev_pairs),
        "adapted": adapted,
        "stacked": matcher.adaptation is not None and matcher.adaptation.stacker is not None,
        "mode": matcher.mode,
        "shipped_accuracy": tuned_accuracy(shipped_dev, dev_labels,
                                           shipped.probabilities(test_rows), test_labels),
        "tfidf_accuracy": tuned_accuracy(dev_rows.features[:, TFIDF_COLUMN], dev_labels,
                                         test_rows.features[:, TFIDF_COLUMN], test_labels),
        "majority_accuracy": float(max(test_labels.mean(), 1 - test_labels.mean())),
        "seconds": time.perf_counter() - started,
    }
    if not json_only:
        typer.echo(f"question matching on {test.name}: {result['pairs']} pairs, tuned on "
                   f"{result['dev_pairs']} pairs of {dev.name}")
        label = f"{result['mode']:<16}" if matcher.adaptation else "shipped, tuned  "
        typer.echo(f"  {label} accuracy {result['accuracy']:.3f}  f1 {result['f1']:.3f}"
                   f"  threshold {result['threshold']:.3f}")
        typer.echo(f"  shipped model    accuracy {result['shipped_accuracy']:.3f}")
        typer.echo(f"  char TF-IDF cos  accuracy {result['tfidf_accuracy']:.3f}")
        typer.echo(f"  majority class   accuracy {result['majority_accuracy']:.3f}")
        typer.echo(f"  latency per pair p50 {result['p50_ms']:.1f} ms  p95 "
                   f"{result['p95_ms']:.1f} ms")
    typer.echo(json.dumps(result))
    return result
