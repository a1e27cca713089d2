"""Simple unsupervised baselines the autoencoder must beat, fitted on the same normal rows.

- Mahalanobis distance of the engineered, standardised features (V1..V28, log amount, time of
  day as sin/cos: the model's own inputs) under the normal rows' covariance;
- IsolationForest (300 trees) on the same engineered features.

Both see only normal training rows; labels choose nothing here. Every evaluation puts them
beside the model, so a user sees whether the autoencoder earns its place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.model import Scaling, mean_and_precision, standardise

ISOLATION_TREES = 300


@dataclass(frozen=True)
class Mahalanobis:
    """The squared Mahalanobis distance per feature: mean of (z - mu) P (z - mu)."""

    scaling: Scaling
    mean: np.ndarray
    precision: np.ndarray

    @classmethod
    def fit(cls, normal_features: np.ndarray, scaling: Scaling | None = None) -> Mahalanobis:
        scaling = scaling or Scaling.fit(normal_features)
        return cls(scaling, *mean_and_precision(standardise(normal_features, scaling)))

    def score(self, features: np.ndarray) -> np.ndarray:
        d = standardise(features, self.scaling) - self.mean
        return (np.einsum("ij,jk,ik->i", d, self.precision, d) / d.shape[1]).astype(np.float32)


def isolation_forest_scores(normal_features: np.ndarray, features: np.ndarray,
                            seed: int = 0) -> np.ndarray:
    """Anomaly scores (higher: more anomalous) of an IsolationForest fitted on normal rows."""
    from sklearn.ensemble import IsolationForest

    scaling = Scaling.fit(normal_features)
    forest = IsolationForest(n_estimators=ISOLATION_TREES, random_state=seed, n_jobs=1)
    forest.fit(standardise(normal_features, scaling))
    return (-forest.score_samples(standardise(features, scaling))).astype(np.float32)


def baseline_scores(normal_features: np.ndarray, features: np.ndarray,
                    seed: int = 0) -> dict[str, np.ndarray]:
    """{name: scores of `features`} for every baseline, fitted on `normal_features`."""
    return {"Mahalanobis distance": Mahalanobis.fit(normal_features).score(features),
            f"IsolationForest ({ISOLATION_TREES} trees)": isolation_forest_scores(
                normal_features, features, seed)}


def cross_fitted(features: np.ndarray, labels: np.ndarray,
                 seed: int = 0) -> dict[str, np.ndarray]:
    """Baseline scores for every row of one labelled file, out of fold: each half is scored by
    baselines fitted on the other half's normal rows (no row scores itself)."""
    half = np.random.default_rng(seed).random(len(features)) < 0.5
    result: dict[str, np.ndarray] = {}
    for part in (half, ~half):
        other_normal = features[~part & (labels == 0)]
        for name, scores in baseline_scores(other_normal, features[part], seed).items():
            result.setdefault(name, np.zeros(len(features), np.float32))[part] = scores
    return result
