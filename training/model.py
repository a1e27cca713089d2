"""The autoencoder and its in-graph preprocessing, so the exported model takes raw features.

Preprocessing (inside the graph, constants fitted on normal training rows):
TIME becomes time of day as (sin, cos) - absolute seconds mean nothing in production -, AMOUNT
becomes log1p(AMOUNT), V1..V28 stay; the 31 values are standardised. The score is the reconstruction
error of the standardised vector: its mean squared residual or, whitened, the residual's
Mahalanobis distance under the residuals' covariance on normal rows. For an ensemble, the
Mahalanobis distance of the vector itself is added, each term divided by its median on normal
validation rows (every term computed inside the one exported graph).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.artifact import INPUT_NAME, OUTPUT_NAME

SECONDS_IN_DAY = 86_400.0
ENGINEERED = 31  # V1..V28, log amount, sin and cos of time of day


def engineer(features: np.ndarray) -> np.ndarray:
    """NumPy twin of the in-graph transform before scaling (used to fit the scaling constants)."""
    angle = np.mod(features[:, 0], SECONDS_IN_DAY) / SECONDS_IN_DAY * 2.0 * np.pi
    amount = np.log1p(np.maximum(features[:, 29], 0.0))
    return np.column_stack([features[:, 1:29], amount, np.sin(angle), np.cos(angle)]).astype(
        np.float32)


@dataclass(frozen=True)
class Scaling:
    """Standardisation constants of the engineered features."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray) -> Scaling:
        eng = engineer(features).astype(np.float64)
        return cls(eng.mean(axis=0).astype(np.float32),
                   np.maximum(eng.std(axis=0), 1e-6).astype(np.float32))


def build_autoencoder(hidden: tuple[int, ...], l1: float = 0.0, activation: str = "tanh"):
    """A symmetric dense autoencoder over the standardised 31-vector; layer names are fixed.

    `activation="tanh"`: tanh layers around a relu bottleneck (the original design); any
    other Keras activation (e.g. "elu") is used for every hidden layer."""
    import keras

    inputs = keras.Input(shape=(ENGINEERED,), name="standardised")
    x = inputs
    for i, units in enumerate(hidden):
        is_bottleneck = i == len(hidden) // 2
        layer_activation = activation if activation != "tanh" else (
            "relu" if is_bottleneck else "tanh")
        x = keras.layers.Dense(
            units, activation=layer_activation, name=f"hidden_{i}",
            activity_regularizer=keras.regularizers.L1(l1) if (l1 and i == 0) else None)(x)
    outputs = keras.layers.Dense(ENGINEERED, activation="linear", name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="autoencoder")


@dataclass(frozen=True)
class ResidualWhitening:
    """The reconstruction error measured as a Mahalanobis distance of the residual
    (reconstruction minus input) under its covariance on normal rows: features the model
    reconstructs closely count more than those it cannot."""

    mean: np.ndarray
    precision: np.ndarray

    @classmethod
    def fit(cls, residuals: np.ndarray) -> ResidualWhitening:
        return cls(*mean_and_precision(residuals))


def mean_and_precision(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and inverse covariance (slightly regularised) of `rows`, as float32: what a
    Mahalanobis distance needs."""
    r = rows.astype(np.float64)
    cov = np.cov(r, rowvar=False) + 1e-6 * np.eye(r.shape[1])
    return r.mean(axis=0).astype(np.float32), np.linalg.inv(cov).astype(np.float32)


@dataclass(frozen=True)
class EnsembleTerm:
    """A Mahalanobis term added to the reconstruction error: each divided by its scale."""

    mean: np.ndarray  # of the standardised vector on normal training rows
    precision: np.ndarray  # inverse covariance of it
    ae_scale: float
    distance_scale: float


def make_score_function(autoencoder, scaling: Scaling, ensemble: EnsembleTerm | None = None,
                        whitening: ResidualWhitening | None = None):
    """A tf.function raw features [N,30] -> {"score": [N]}: the graph that gets exported.

    The error is the mean squared residual or, with `whitening`, the residual's Mahalanobis
    distance (per feature); with `ensemble`, the input's Mahalanobis distance is added."""
    import tensorflow as tf

    def mahalanobis(x, centre: np.ndarray, precision: np.ndarray):
        """Per row: the mean of (x - centre) P (x - centre), as Mahalanobis.score does."""
        off = x - centre
        return tf.reduce_mean(tf.matmul(off, precision) * off, axis=1)

    @tf.function(input_signature=[tf.TensorSpec([None, 30], tf.float32, name=INPUT_NAME)])
    def score(features):
        standardised = standardise_in_graph(features, scaling)
        residual = autoencoder(standardised, training=False) - standardised
        if whitening is None:
            error = tf.reduce_mean(tf.square(residual), axis=1)
        else:
            error = mahalanobis(residual, whitening.mean, whitening.precision)
        if ensemble is None:
            return {OUTPUT_NAME: error}
        distance = mahalanobis(standardised, ensemble.mean, ensemble.precision)
        return {OUTPUT_NAME: error / np.float32(ensemble.ae_scale)
                + distance / np.float32(ensemble.distance_scale)}

    return score


def standardise_in_graph(features, scaling: Scaling):
    """The graph's twin of `standardise` (raw features [N,30] -> standardised [N,31]), for use
    inside a tf.function: NumPy constants become graph constants at trace time."""
    import tensorflow as tf

    two_pi = np.float32(2.0 * np.pi)
    angle = tf.math.floormod(features[:, 0], SECONDS_IN_DAY) / SECONDS_IN_DAY * two_pi
    amount = tf.math.log(1.0 + tf.maximum(features[:, 29], 0.0))  # no Log1p in ONNX
    engineered = tf.concat([features[:, 1:29], amount[:, None], tf.sin(angle)[:, None],
                            tf.cos(angle)[:, None]], axis=1)
    return (engineered - scaling.mean) / scaling.std


def standardise(features: np.ndarray, scaling: Scaling) -> np.ndarray:
    return ((engineer(features) - scaling.mean) / scaling.std).astype(np.float32)
