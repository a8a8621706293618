"""K-fold cross-validation of the intent model on one labelled set: how far one split tells.

    .venv/bin/python bench/intents_cv.py [--data ../shared/data] [--folds 5] [--seed 1]
        [--train-size N]

Reads BANKING77's `train.csv`, splits it into stratified folds, trains `IntentModel` (the code
`kefu eval intents` runs, tuning included) on all folds but one and scores the one left out.
`--train-size N` trains on a stratified N of each training part instead (a learning curve).
Each message is embedded once for all folds. Prints each fold's accuracy, then the mean and
its standard error as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from intents import banking77_rows  # bench/intents.py, beside this script
from numpy.typing import NDArray
from sklearn.model_selection import StratifiedKFold, train_test_split

from kefu.assistant.intents import IntentModel, label_anchor
from kefu.core.e5 import get_engine


class CachedEncoder:
    """e5 query vectors of a fixed set of texts, computed once in one batch."""

    def __init__(self, texts: Sequence[str]) -> None:
        unique = list(dict.fromkeys(texts))
        self._vectors = dict(zip(unique, get_engine().query(unique), strict=True))

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return np.array([self._vectors[text] for text in texts], dtype=np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--train-size", type=int, default=None)
    args = parser.parse_args()
    rows = banking77_rows(args.data)
    texts = np.array([text for text, _ in rows], dtype=object)
    labels = np.array([label for _, label in rows], dtype=object)
    names = [name for label in sorted(set(labels)) if (name := label_anchor(label))]
    encoder = CachedEncoder([*texts, *names])
    accuracies = []
    folds = StratifiedKFold(args.folds, shuffle=True, random_state=args.seed)
    for fold, (train, test) in enumerate(folds.split(texts, labels)):
        if args.train_size:
            train, _ = train_test_split(train, train_size=args.train_size,
                                        stratify=labels[train], random_state=0)
        started = time.perf_counter()
        model = IntentModel.train(list(texts[train]), list(labels[train]), encoder=encoder)
        predicted = np.array([p.label for p in model.predict_many(list(texts[test]))])
        accuracies.append(float(np.mean(predicted == labels[test])))
        print(f"fold {fold}: accuracy {accuracies[-1]:.4f}  trained on {len(train)} in "
              f"{time.perf_counter() - started:.0f} s  (C {model.stats['svm_c']}, "
              f"embedding weight {model.stats['embedding_weight']})", flush=True)
    print(json.dumps({"set": "banking77", "folds": args.folds, "train_size": args.train_size,
                      "accuracies": accuracies, "mean": float(np.mean(accuracies)),
                      "standard_error": float(np.std(accuracies, ddof=1)
                                              / np.sqrt(len(accuracies)))}))


if __name__ == "__main__":
    main()
