"""The supervised challenger: a small network that learns fraud from labelled payments.

Its inputs are the autoencoder's own (the standardised 31-vector: V1..V28, log amount, time of
day as sin and cos) plus the autoencoder's score (the log of its mean squared residual), so what
the unsupervised model knows about unusual payments is one more feature. Frauds are about 1 in
600: each class weighs alike in the loss (class weights inverse to their counts), and early
stopping follows the validation split's area under the precision-recall curve. The output is a
fraud probability, exported with the autoencoder and the scaling as one ONNX graph (input
`features`, output `score`), so the sidecar, shadow mode and promote treat it as any model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.artifact import INPUT_NAME, OUTPUT_NAME
from training.model import Scaling, standardise_in_graph

#: the classifier's inputs: the standardised vector and the autoencoder's log error
CLASSIFIER_INPUTS = 32


@dataclass(frozen=True)
class ClassifierCandidate:
    """One classifier architecture."""

    name: str
    hidden: tuple[int, ...]
    dropout: float = 0.2


CLASSIFIER_CANDIDATES = (
    ClassifierCandidate("supervised 64-32 relu", (64, 32)),
    ClassifierCandidate("supervised 128-64-32 relu", (128, 64, 32)),
)


def build_classifier(hidden: tuple[int, ...], dropout: float = 0.2):
    """Dense relu layers (with dropout) to one sigmoid unit; layer names are fixed."""
    import keras

    inputs = keras.Input(shape=(CLASSIFIER_INPUTS,), name="inputs")
    x = inputs
    for i, units in enumerate(hidden):
        x = keras.layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="fraud_probability")(x)
    return keras.Model(inputs, outputs, name="classifier")


def class_weights(labels: np.ndarray) -> dict[int, float]:
    """Weights that make both classes count alike in the loss (scikit-learn's 'balanced')."""
    counts = np.bincount(labels.astype(np.int64), minlength=2).astype(np.float64)
    return {c: float(len(labels) / (2.0 * max(counts[c], 1.0))) for c in (0, 1)}


def autoencoder_log_error(autoencoder, standardised: np.ndarray) -> np.ndarray:
    """log(mean squared residual + 1e-6) of each standardised row (the classifier's 32nd
    input; NumPy twin of the graph's)."""
    reconstruction = autoencoder.predict(standardised, batch_size=8192, verbose=0)
    error = np.mean(np.square(reconstruction - standardised), axis=1)
    return np.log(error + 1e-6).astype(np.float32)


def classifier_inputs(autoencoder, standardised: np.ndarray) -> np.ndarray:
    return np.column_stack([standardised, autoencoder_log_error(autoencoder, standardised)])


def make_classifier_score_function(classifier, autoencoder, scaling: Scaling):
    """A tf.function raw features [N,30] -> {"score": [N]}: the fraud probability."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, 30], tf.float32, name=INPUT_NAME)])
    def score(features):
        standardised = standardise_in_graph(features, scaling)
        residual = autoencoder(standardised, training=False) - standardised
        log_error = tf.math.log(tf.reduce_mean(tf.square(residual), axis=1) + 1e-6)
        inputs = tf.concat([standardised, log_error[:, None]], axis=1)
        return {OUTPUT_NAME: classifier(inputs, training=False)[:, 0]}

    return score
