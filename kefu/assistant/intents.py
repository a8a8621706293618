"""Intent classification of customer messages (SPEC §D: language → intent → retrieval).

One linear model over TF-IDF word and character n-grams and the multilingual-e5-small sentence
embedding (see ``intent_features``), trained on any ``text,label`` data. Its scores become a
confidence through a softmax whose temperature is fitted on a held-out slice of the training
data; on the same slice the out-of-scope threshold is chosen. Out-of-scope detection is part of
the model: a label for it in the training data when there is one, and the threshold either way.
The shipped exchange intents live in ``data/intents.csv``; ``kefu assistant train`` retrains.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from numpy.typing import NDArray
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from kefu.assistant.intent_calibration import (
    choose_threshold,
    fit_temperature,
    holdout_split,
    probabilities,
)
from kefu.assistant.intent_data import read_labelled_csv
from kefu.assistant.intent_features import E5QueryEncoder, IntentFeatures, TextEncoder

DATA_DIR = Path(__file__).resolve().parent / "data"
INTENTS_CSV = DATA_DIR / "intents.csv"
OOS_LABEL = "oos"
MODEL_FILE = "intents.joblib"
FORMAT_VERSION = 1

HOLDOUT_FRACTION = 0.2
SVM_CS = (0.05, 0.15, 0.5)
EMBEDDING_WEIGHT = 1.0
RANKED = 5


@dataclass(frozen=True)
class Prediction:
    """The intent of one message. ``confidence`` is the calibrated probability of ``label``
    (for an out-of-scope verdict reached by the threshold: one minus the best in-scope
    probability); ``ranked`` lists the likeliest labels with their probabilities, best first."""

    label: str
    confidence: float
    ranked: list[tuple[str, float]] = field(default_factory=list)


class IntentModel:
    """A trained intent classifier; build it with ``train`` or ``load``."""

    def __init__(self, *, features: IntentFeatures, classifier: LinearSVC, temperature: float,
                 threshold: float, oos_label: str | None, stats: dict[str, Any]) -> None:
        self.features = features
        self.classifier = classifier
        self.temperature = temperature
        self.threshold = threshold
        self.oos_label = oos_label
        self.stats = stats
        self.encoder: TextEncoder = E5QueryEncoder()

    @property
    def labels(self) -> list[str]:
        return [str(label) for label in self.classifier.classes_]

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str], *, oos_label: str | None = None,
              use_embeddings: bool = True, encoder: TextEncoder | None = None) -> IntentModel:
        """Fit on all of ``texts``/``labels`` after calibrating on a held-out fifth of them.

        ``oos_label`` names the out-of-scope label: examples with it are learnt like any
        other label when present, and a confidence threshold sends unsure messages to it in
        any case (without out-of-scope examples, the threshold gives up at most 2 points of
        in-scope accuracy on the held-out slice). ``use_embeddings=False`` trains on n-grams
        alone: seconds instead of minutes, for tests and small setups."""
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        if len(set(labels)) < 2:
            raise ValueError("need examples of at least two labels to train on")
        started = time.perf_counter()
        encoder = encoder or E5QueryEncoder()
        embeddings = encoder.encode(list(texts)) if use_embeddings else None
        label_array = np.array(labels, dtype=object)
        fit_rows, held_rows = holdout_split(labels, HOLDOUT_FRACTION)
        calibration = _calibrate(texts, label_array, embeddings, fit_rows, held_rows, oos_label,
                                 use_embeddings)
        features, matrix = _features(texts, embeddings, np.arange(len(texts)), use_embeddings)
        classifier = _classifier(matrix, label_array, calibration.svm_c)
        stats = {"examples": len(texts), "labels": len(classifier.classes_),
                 "holdout_accuracy": calibration.accuracy, "svm_c": calibration.svm_c,
                 "embeddings": use_embeddings, "train_s": round(time.perf_counter() - started, 2)}
        model = cls(features=features, classifier=classifier,
                    temperature=calibration.temperature, threshold=calibration.threshold,
                    oos_label=oos_label, stats=stats)
        model.encoder = encoder
        return model

    def predict(self, text: str) -> Prediction:
        """The intent of one message."""
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        """Intents of several messages at once (embedded in one batch)."""
        probs = self._probabilities(texts)
        return [self._prediction(row) for row in probs]

    def save(self, path: Path) -> None:
        """Write the model to ``path`` atomically: a reader never sees half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {"format": FORMAT_VERSION, "features": self.features,
                 "classifier": self.classifier, "temperature": self.temperature,
                 "threshold": self.threshold, "oos_label": self.oos_label, "stats": self.stats}
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "wb") as stream:
                joblib.dump(state, stream)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> IntentModel:
        """Read a model written by ``save``; ValueError if it is from another format."""
        state = joblib.load(path)
        if not isinstance(state, dict) or state.get("format") != FORMAT_VERSION:
            raise ValueError(f"{path}: not an intent model of format {FORMAT_VERSION}")
        return cls(features=state["features"], classifier=state["classifier"],
                   temperature=state["temperature"], threshold=state["threshold"],
                   oos_label=state["oos_label"], stats=state["stats"])

    def _probabilities(self, texts: Sequence[str]) -> NDArray[np.float64]:
        embeddings = self.encoder.encode(list(texts)) if self.features.use_embeddings else None
        rows = self.features.transform(texts, embeddings)
        return probabilities(_scores(self.classifier, rows), self.temperature)

    def _prediction(self, probs: NDArray[np.float64]) -> Prediction:
        labels = self.classifier.classes_
        order = np.argsort(-probs)[:RANKED]
        ranked = [(str(labels[i]), float(probs[i])) for i in order]
        label, confidence = ranked[0]
        if self.oos_label is not None and label != self.oos_label and confidence < self.threshold:
            return Prediction(self.oos_label, 1.0 - confidence, ranked)
        return Prediction(label, confidence, ranked)


def train_default(model_dir: Path) -> dict[str, Any]:
    """Train the exchange intent model on the shipped ``intents.csv`` and save it in
    ``model_dir``; returns the training statistics (``kefu assistant train`` prints them)."""
    rows = read_labelled_csv(INTENTS_CSV)
    model = IntentModel.train(rows.texts, rows.labels, oos_label=OOS_LABEL)
    model.stats["source_sha256"] = _sha256(INTENTS_CSV)
    path = model_dir / MODEL_FILE
    model.save(path)
    return {**model.stats, "threshold": round(model.threshold, 4), "path": str(path)}


def load_default(model_dir: Path) -> IntentModel:
    """The exchange intent model from ``model_dir``, trained first when it is missing, of an
    older format, or trained on a different ``intents.csv`` than the one installed."""
    path = model_dir / MODEL_FILE
    if path.is_file():
        try:
            model = IntentModel.load(path)
        except (ValueError, EOFError, KeyError, AttributeError, ModuleNotFoundError):
            model = None
        if model is not None and model.stats.get("source_sha256") == _sha256(INTENTS_CSV):
            return model
    train_default(model_dir)
    return IntentModel.load(path)


@dataclass(frozen=True)
class _Calibration:
    svm_c: float
    temperature: float
    threshold: float
    accuracy: float | None


def _features(texts: Sequence[str], embeddings: NDArray[np.float32] | None,
              rows: NDArray[np.int64], use_embeddings: bool) -> tuple[IntentFeatures, Any]:
    features = IntentFeatures(use_embeddings=use_embeddings, embedding_weight=EMBEDDING_WEIGHT)
    matrix = features.fit_transform([texts[i] for i in rows],
                                    embeddings[rows] if embeddings is not None else None)
    return features, matrix


def _classifier(matrix: Any, labels: NDArray[Any], svm_c: float) -> LinearSVC:
    classifier = LinearSVC(C=svm_c, max_iter=5000)
    with warnings.catch_warnings():
        # liblinear's dual solver may stop short of its tolerance on large label sets; the
        # scores are still usable and the held-out slice measures them as they are.
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(matrix, labels)
    return classifier


def _calibrate(texts: Sequence[str], labels: NDArray[Any], embeddings: NDArray[np.float32] | None,
               fit_rows: NDArray[np.int64], held_rows: NDArray[np.int64], oos_label: str | None,
               use_embeddings: bool) -> _Calibration:
    """Fit on ``fit_rows`` with each candidate regularisation, keep the one most accurate on
    ``held_rows`` (noisy labels want a smaller C than clean ones), and on its held-out scores
    fit the temperature and choose the out-of-scope threshold."""
    if len(held_rows) == 0:
        return _Calibration(SVM_CS[len(SVM_CS) // 2], 1.0, 0.0, None)
    features, matrix = _features(texts, embeddings, fit_rows, use_embeddings)
    held = features.transform([texts[i] for i in held_rows],
                              embeddings[held_rows] if embeddings is not None else None)
    best: tuple[float, float, LinearSVC] | None = None
    for svm_c in SVM_CS:
        classifier = _classifier(matrix, labels[fit_rows], svm_c)
        accuracy = float((classifier.predict(held) == labels[held_rows]).mean())
        if best is None or accuracy > best[0]:
            best = (accuracy, svm_c, classifier)
    assert best is not None
    accuracy, svm_c, classifier = best
    scores = _scores(classifier, held)
    known = {str(label): index for index, label in enumerate(classifier.classes_)}
    truth = np.array([known.get(str(label), -1) for label in labels[held_rows]], dtype=np.int64)
    temperature = fit_temperature(scores, truth)
    if oos_label is None:
        return _Calibration(svm_c, temperature, 0.0, round(accuracy, 4))
    probs = probabilities(scores, temperature)
    predicted = probs.argmax(axis=1)
    threshold = choose_threshold(probs.max(axis=1), predicted == truth,
                                 labels[held_rows] == oos_label,
                                 predicted == known.get(oos_label, -2))
    return _Calibration(svm_c, temperature, threshold, round(accuracy, 4))


def _scores(classifier: LinearSVC, matrix: Any) -> NDArray[np.float64]:
    """One score per class and row; a two-class SVM gives one margin, spread here over both."""
    raw = np.asarray(classifier.decision_function(matrix), dtype=np.float64)
    if raw.ndim == 1:
        return np.column_stack([-raw / 2.0, raw / 2.0])
    return raw


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
