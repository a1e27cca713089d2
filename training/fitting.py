"""Fitting the networks a training run compares: autoencoder candidates, the ways each is
scored (whitened, with the Mahalanobis distance), and the supervised classifier. Seeded: the
same data gives the same weights."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from core.artifact import OUTPUT_NAME
from training.baselines import Mahalanobis
from training.classifier import (
    ClassifierCandidate,
    build_classifier,
    class_weights,
    make_classifier_score_function,
)
from training.model import (
    EnsembleTerm,
    ResidualWhitening,
    build_autoencoder,
    make_score_function,
)
from training.selection import Candidate, Trial

if TYPE_CHECKING:
    from training.train import TrainConfig

Log = Callable[[str], None]


def epoch_logger(log: Log, epochs: int):
    import keras

    class EpochLog(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            log(f"epoch {epoch + 1}/{epochs}  loss {logs.get('loss', float('nan')):.5f}  "
                f"val_loss {logs.get('val_loss', float('nan')):.5f}  "
                f"({time.monotonic() - self._start:.1f}s)")

    return EpochLog()


def relative_early_stopping(patience: int, min_improvement: float):
    """Stop once the validation loss has not fallen by `min_improvement` of its best value for
    `patience` epochs, and keep the best epoch's weights (Keras' EarlyStopping takes an
    absolute delta, which means something else for every network and data set)."""
    import keras

    class RelativeEarlyStopping(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.best, self.best_weights, self.waited = float("inf"), None, 0

        def on_epoch_end(self, epoch, logs=None):
            loss = (logs or {}).get("val_loss")
            if loss is None:
                return
            if loss < self.best:
                improved = loss < self.best * (1.0 - min_improvement)
                self.best, self.best_weights = loss, self.model.get_weights()
                if improved:
                    self.waited = 0
                    return
            self.waited += 1
            if self.waited >= patience:
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    return RelativeEarlyStopping()


def fit_autoencoder(candidate: Candidate, config: TrainConfig, scaling, z_fit: np.ndarray,
                   z_val: np.ndarray, log: Log) -> Trial:
    """Fit one autoencoder on the normal training rows (seeded: the same data gives the same
    weights), with early stopping on the normal validation rows."""
    import keras

    _seed(config.seed)
    started = time.monotonic()
    autoencoder = build_autoencoder(candidate.hidden, candidate.l1, candidate.activation)
    autoencoder.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="mse")
    history = autoencoder.fit(
        z_fit, z_fit, validation_data=(z_val, z_val), epochs=config.epochs,
        batch_size=config.batch_size, shuffle=True, verbose=0,
        callbacks=[relative_early_stopping(config.patience, config.min_improvement),
                   epoch_logger(log, config.epochs)])
    return Trial(candidate.name, make_score_function(autoencoder, scaling),
                 time.monotonic() - started, float(min(history.history["val_loss"])),
                 len(history.history["loss"]), autoencoder=autoencoder)


def whitened(trial: Trial, scaling, z_fit: np.ndarray, rows: int = 50_000) -> Trial:
    """A fitted autoencoder scored by its whitened residual, the whitening fitted on (up to
    `rows`) normal training rows."""
    started = time.monotonic()
    sample = z_fit[:rows]
    whitening = ResidualWhitening.fit(
        trial.autoencoder.predict(sample, batch_size=8192, verbose=0) - sample)
    return Trial(f"{trial.name} whitened",
                 make_score_function(trial.autoencoder, scaling, whitening=whitening),
                 trial.seconds + time.monotonic() - started, trial.val_loss, trial.epochs_run,
                 autoencoder=trial.autoencoder, whitening=whitening)


def with_distance(trial: Trial, scaling, distance: Mahalanobis, x_val_normal: np.ndarray,
                   weight: float = 0.5) -> Trial:
    """The ensemble of a scored autoencoder (plain or whitened) with the Mahalanobis distance:
    each term divided by its median on normal validation rows, then weighted: the distance by
    `weight`, the error by 1 - `weight` (0.5: both alike)."""
    started = time.monotonic()
    ae_median = float(np.median(trial.score_function(
        x_val_normal.astype(np.float32))[OUTPUT_NAME].numpy()))
    distance_median = float(np.median(distance.score(x_val_normal)))
    # score = 2(1-w) error / its median + 2w distance / its median (w = 0.5: the plain sum)
    term = EnsembleTerm(distance.mean, distance.precision,
                        max(ae_median, 1e-9) / (2 * (1 - weight)),
                        max(distance_median, 1e-9) / (2 * weight))
    named = "" if weight == 0.5 else f" (distance weight {weight:g})"
    return Trial(f"{trial.name} + Mahalanobis{named}",
                 make_score_function(trial.autoencoder, scaling, term, trial.whitening),
                 trial.seconds + time.monotonic() - started, trial.val_loss, trial.epochs_run,
                 autoencoder=trial.autoencoder, ensemble_term=term, whitening=trial.whitening)




def fit_classifier(candidate: ClassifierCandidate, config: TrainConfig, autoencoder, scaling,
                   train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray],
                   log: Log) -> Trial:
    """Fit one classifier on labelled training rows (`train`, `val`: its inputs and labels,
    see training.classifier), early-stopped on the validation rows' precision-recall AUC."""
    import keras

    _seed(config.seed)
    started = time.monotonic()
    classifier = build_classifier(candidate.hidden, candidate.dropout)
    classifier.compile(optimizer=keras.optimizers.Adam(config.learning_rate / 2),
                       loss="binary_crossentropy",
                       metrics=[keras.metrics.AUC(curve="PR", name="pr_auc")])
    history = classifier.fit(
        train[0], train[1].astype(np.float32), validation_data=(val[0], val[1]),
        epochs=config.epochs, batch_size=max(config.batch_size, 1024), shuffle=True, verbose=0,
        class_weight=class_weights(train[1]),
        callbacks=[keras.callbacks.EarlyStopping(monitor="val_pr_auc", mode="max",
                                                 patience=config.patience,
                                                 restore_best_weights=True),
                   epoch_logger(log, config.epochs)])
    return Trial(candidate.name, make_classifier_score_function(classifier, autoencoder,
                                                                scaling),
                 time.monotonic() - started, float(min(history.history["val_loss"])),
                 len(history.history["loss"]), autoencoder=autoencoder, classifier=classifier)


def _seed(seed: int) -> None:
    """A fresh Keras session with seeded, deterministic ops (quiet unless `train --verbose`)."""
    import keras
    import tensorflow as tf

    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "3":
        tf.get_logger().setLevel("ERROR")
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
