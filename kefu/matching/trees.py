"""Gradient-boosted trees as plain arrays, evaluated with numpy.

Training uses scikit-learn's HistGradientBoostingClassifier; what ships is only its split
features, thresholds and leaf values (a few hundred KB in an ``.npz``), so loading the model
never unpickles code and does not depend on the scikit-learn version that trained it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

FIELDS = ("feature", "threshold", "missing_left", "left", "right", "value", "roots")


@dataclass(frozen=True)
class TreeEnsemble:
    """Binary-classification trees; every leaf points to itself, so walking ``depth`` steps
    from the roots lands each row on its leaf whatever the tree's shape."""

    feature: np.ndarray  # int32 per node (0 at leaves)
    threshold: np.ndarray  # float64 per node: go left when x <= threshold (+inf at leaves)
    missing_left: np.ndarray  # bool per node: where a NaN goes
    left: np.ndarray  # int32, global node index
    right: np.ndarray  # int32, global node index
    value: np.ndarray  # float64 per node (used at leaves; learning rate already applied)
    roots: np.ndarray  # int32 per tree
    depth: int
    baseline: float
    n_features: int

    @classmethod
    def from_sklearn(cls, model: Any) -> TreeEnsemble:
        """Export a fitted binary ``HistGradientBoostingClassifier`` (numeric features only)."""
        parts: dict[str, list[np.ndarray]] = {name: [] for name in FIELDS if name != "roots"}
        roots, offset, depth = [], 0, 0
        for (predictor,) in model._predictors:
            nodes = predictor.nodes
            if nodes["is_categorical"].any():
                raise ValueError("categorical splits are not supported")
            leaf = nodes["is_leaf"].astype(bool)
            own = np.arange(len(nodes), dtype=np.int64) + offset
            parts["feature"].append(np.where(leaf, 0, nodes["feature_idx"]))
            parts["threshold"].append(np.where(leaf, np.inf, nodes["num_threshold"]))
            parts["missing_left"].append(nodes["missing_go_to_left"].astype(bool))
            parts["left"].append(np.where(leaf, own, nodes["left"].astype(np.int64) + offset))
            parts["right"].append(np.where(leaf, own, nodes["right"].astype(np.int64) + offset))
            parts["value"].append(nodes["value"])
            roots.append(offset)
            offset += len(nodes)
            depth = max(depth, int(nodes["depth"].max()))
        joined = {name: np.concatenate(arrays) for name, arrays in parts.items()}
        return cls(
            feature=joined["feature"].astype(np.int32),
            threshold=joined["threshold"].astype(np.float64),
            missing_left=joined["missing_left"],
            left=joined["left"].astype(np.int32), right=joined["right"].astype(np.int32),
            value=joined["value"].astype(np.float64), roots=np.array(roots, dtype=np.int32),
            depth=depth, baseline=float(np.ravel(model._baseline_prediction)[0]),
            n_features=int(model.n_features_in_),
        )

    def decision(self, features: np.ndarray) -> np.ndarray:
        """Raw log-odds per row, equal to scikit-learn's ``decision_function``."""
        if features.ndim != 2 or features.shape[1] != self.n_features:
            raise ValueError(f"expected {self.n_features} features, got {features.shape}")
        rows = np.arange(len(features))[:, None]
        node = np.broadcast_to(self.roots, (len(features), len(self.roots)))
        for _ in range(self.depth):
            x = features[rows, self.feature[node]]
            go_left = (x <= self.threshold[node]) | (np.isnan(x) & self.missing_left[node])
            node = np.where(go_left, self.left[node], self.right[node])
        return np.asarray(self.value[node].sum(axis=1) + self.baseline)

    def probability(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(1.0 / (1.0 + np.exp(-self.decision(features))))

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        arrays = {f"{prefix}{name}": getattr(self, name) for name in FIELDS}
        arrays[f"{prefix}scalars"] = np.array([self.depth, self.baseline, self.n_features])
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Any, prefix: str) -> TreeEnsemble:
        depth, baseline, n_features = arrays[f"{prefix}scalars"]
        fields = {name: np.asarray(arrays[f"{prefix}{name}"]) for name in FIELDS}
        return cls(**fields, depth=int(depth), baseline=float(baseline),
                   n_features=int(n_features))
