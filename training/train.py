"""`fraudctl train`: split, fit the autoencoder on normal rows, choose the threshold, export ONNX.

Labels are used only to hold out frauds from training, to choose the threshold on validation data
and to evaluate; they are never a training target.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from core.artifact import OUTPUT_NAME
from core.errors import UsageError
from training import metrics as m
from training.baselines import Mahalanobis, baseline_scores
from training.data import Dataset, load_dataset
from training.model import Scaling, standardise
from training.selection import CANDIDATES, Candidate, Trial, choose, judge

Log = Callable[[str], None]


@dataclass
class TrainConfig:
    """Every choice that shapes the model; all of it goes into the model card."""

    hidden: tuple[int, ...] = (20, 8, 20)
    activation: str = "tanh"
    select: bool = True  # try the fixed candidate set (training.selection); False: this one
    epochs: int = 30
    batch_size: int = 256
    learning_rate: float = 2e-3
    patience: int = 3
    l1: float = 0.0
    split: str = "random"  # or "time": train on earlier rows, evaluate on later ones
    validation_fraction: float = 0.2
    test_fraction: float = 0.2
    seed: int = 42
    fpr_target: float = 0.01  # threshold so that this share of normal validation rows alert
    alert_rate: float | None = None  # alternatively: this share of all validation rows alert


@dataclass
class TrainResult:
    model_path: Path
    card_path: Path
    card: dict = field(default_factory=dict)


def split_indices(dataset: Dataset, config: TrainConfig) -> tuple[np.ndarray, ...]:
    """(train, validation, test) row indices, random (seeded) or ordered by TIME."""
    n = len(dataset)
    if config.split == "time":
        order = np.argsort(dataset.features[:, 0], kind="stable")
    elif config.split == "random":
        order = np.random.default_rng(config.seed).permutation(n)
    else:
        raise UsageError(f"unknown split {config.split!r}; use 'random' or 'time'")
    n_test = int(n * config.test_fraction)
    n_val = int(n * config.validation_fraction)
    n_train = n - n_val - n_test
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]


def choose_threshold(val_scores: np.ndarray, val_labels: np.ndarray,
                     config: TrainConfig) -> tuple[float, dict]:
    if config.alert_rate is not None:
        return (m.threshold_for_alert_rate(val_scores, config.alert_rate),
                {"kind": "alert_rate", "target": config.alert_rate})
    normal = val_scores[val_labels == 0] if (val_labels == 0).any() else val_scores
    return (m.threshold_for_fpr(normal, config.fpr_target),
            {"kind": "false_positive_rate", "target": config.fpr_target})


def _epoch_logger(log: Log, epochs: int):
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


@dataclass
class _Split:
    """The rows of one training run: features, labels and the three index sets."""

    x: np.ndarray
    y: np.ndarray
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    @property
    def fit_rows(self) -> np.ndarray:
        """Normal training rows only (unknown labels are left out)."""
        return self.train[self.y[self.train] == 0]

    @property
    def val_normal(self) -> np.ndarray:
        return self.val[self.y[self.val] == 0]


@dataclass
class _Evaluation:
    """The chosen model's threshold and figures, and the baselines beside it."""

    threshold: float
    target: dict
    metrics: dict
    test_labels: np.ndarray
    test_scores: np.ndarray
    baselines: dict
    comparison: list


def train(data_path: str | Path, out_dir: str | Path, config: TrainConfig | None = None,
          log: Log = print) -> TrainResult:
    """Train and export; writes model.onnx, model_card.json, autoencoder.keras and a report.

    The data is read and checked before TensorFlow loads, so a bad file fails in a moment."""
    config = config or TrainConfig()
    started = time.monotonic()
    dataset = load_dataset(data_path, require_labels=True)
    log(dataset.summary())
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    split = _Split(dataset.features, dataset.labels, *split_indices(dataset, config))
    log(f"split {config.split}: train {len(split.train)} ({len(split.fit_rows)} normal used), "
        f"validation {len(split.val)}, test {len(split.test)}")
    best, trials = _select(split, config, log)
    fit_seconds = time.monotonic() - started
    evaluation = _evaluate(best, split, config, log)
    parity = _export(best, split, config, evaluation, dataset.fingerprint, out, log)
    candidates_table = [t.row(t is best) for t in trials]
    from training.evaluate import write_report

    write_report(evaluation.test_labels, evaluation.test_scores, evaluation.threshold,
                 out / "report",
                 title=f"Test split of {dataset.path.name} (model {parity['model_version']})",
                 metrics=evaluation.metrics["test"], baselines=evaluation.baselines,
                 comparison=evaluation.comparison, candidates=candidates_table)
    card = _model_card(dataset, split, config, best, evaluation, parity, candidates_table,
                       {"fit_seconds": round(fit_seconds, 1),
                        "total_seconds": round(time.monotonic() - started, 1)})
    card_path = out / "model_card.json"
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    log(f"model card {card_path}; report {out / 'report' / 'index.html'} "
        f"({card['training']['total_seconds']:.0f}s in all)")
    return TrainResult(out / "model.onnx", card_path, card)


def _select(split: _Split, config: TrainConfig, log: Log) -> tuple[Trial, list[Trial]]:
    """Fit every candidate (or the configured network) and judge each on validation rows;
    returns the chosen trial and all of them."""
    x, y = split.x, split.y
    fit_rows, val_normal = split.fit_rows, split.val_normal
    scaling = Scaling.fit(x[fit_rows])
    z_fit, z_val = standardise(x[fit_rows], scaling), standardise(x[val_normal], scaling)
    distance = Mahalanobis.fit(x[fit_rows], scaling)
    candidates = CANDIDATES if config.select else (
        Candidate("configured", config.hidden, config.activation, config.l1),)
    trials: list[Trial] = []
    for number, candidate in enumerate(candidates, 1):
        if config.select:
            log(f"candidate {number}/{len(candidates)}: {candidate.name}")
        trial = _fit_candidate(candidate, config, scaling, z_fit, z_val, log)
        trials.append(judge(trial, x[split.val], y[split.val]))
        if config.select:  # the same network scored three more ways
            whitened = _whitened(trial, scaling, z_fit)
            for variant in (_with_distance(trial, scaling, distance, x[val_normal]), whitened,
                            _with_distance(whitened, scaling, distance, x[val_normal])):
                trials.append(judge(variant, x[split.val], y[split.val]))
    best = choose(trials)
    for trial in trials:
        figures = ", ".join(f"{k} {v:.4f}" for k, v in
                            (trial.figures.as_row() if trial.figures else {}).items())
        log(f"{'*' if trial is best else ' '} {trial.name}: val_loss {trial.val_loss:.5f}"
            f"{', ' + figures if figures else ''} ({trial.seconds:.1f}s)")
    return best, trials


def _evaluate(best: Trial, split: _Split, config: TrainConfig, log: Log) -> _Evaluation:
    """The threshold (on validation rows), the figures on validation and test, and the
    baselines on the same test rows."""
    x, y = split.x, split.y

    def scores(idx: np.ndarray) -> np.ndarray:
        return best.score_function(x[idx].astype(np.float32))[OUTPUT_NAME].numpy()

    val_scores, test_scores = scores(split.val), scores(split.test)
    threshold, target = choose_threshold(val_scores, y[split.val], config)
    val_known, test_known = y[split.val] >= 0, y[split.test] >= 0
    test_labels = y[split.test][test_known]
    metrics = {
        "validation": m.summary(y[split.val][val_known], val_scores[val_known], threshold,
                                config.fpr_target),
        "test": m.summary(test_labels, test_scores[test_known], threshold, config.fpr_target),
    }
    log(f"threshold {threshold:.5f} ({target['kind']} {target['target']:g} on validation); "
        f"test ROC AUC {metrics['test']['roc_auc']:.4f}, "
        f"average precision {metrics['test']['average_precision']:.4f}")
    baselines = baseline_scores(x[split.fit_rows], x[split.test][test_known], config.seed)
    comparison = m.compare(test_labels,
                           {f"this model ({best.name})": test_scores[test_known], **baselines},
                           config.fpr_target)
    for row in comparison:
        log(f"test: {row['model']}: ROC AUC {row['roc_auc']:.4f}, AP "
            f"{row['average_precision']:.4f}, recall at {config.fpr_target:g} FPR "
            f"{row['recall_at_fpr']:.4f}")
    return _Evaluation(threshold, target, metrics, test_labels, test_scores[test_known],
                       baselines, comparison)


def _export(best: Trial, split: _Split, config: TrainConfig, evaluation: _Evaluation,
            fingerprint: str, out: Path, log: Log) -> dict:
    """model.onnx (checked against Keras on test rows), the Keras model and the constants
    of the score's extra terms; returns the export's parity figures."""
    from training.export import export_onnx, parity_rows

    model_path = out / "model.onnx"
    parity = export_onnx(best.score_function, model_path,
                         parity_rows(split.x[split.test], seed=config.seed),
                         metadata={"threshold_target": json.dumps(evaluation.target),
                                   "training_config": json.dumps(_config_dict(config))},
                         threshold=evaluation.threshold, fingerprint=fingerprint,
                         metrics=evaluation.metrics)
    log(f"exported {model_path} version {parity['model_version']}; parity on "
        f"{parity['parity_rows']} rows: max |ONNX - Keras| = {parity['parity_max_abs_diff']:.2e}")
    best.autoencoder.save(out / "autoencoder.keras")
    if best.ensemble:  # the Mahalanobis term's constants, to rebuild the exported graph
        term = best.ensemble_term
        np.savez(out / "ensemble_term.npz", mean=term.mean, precision=term.precision,
                 ae_scale=term.ae_scale, distance_scale=term.distance_scale)
    if best.whitening is not None:  # likewise the residual whitening's
        np.savez(out / "residual_whitening.npz", mean=best.whitening.mean,
                 precision=best.whitening.precision)
    return parity


def _model_card(dataset: Dataset, split: _Split, config: TrainConfig, best: Trial,
                evaluation: _Evaluation, parity: dict, candidates_table: list,
                timing: dict) -> dict:
    """model_card.json: what was trained on what, how it was chosen, and its figures."""
    return {
        "model_version": parity["model_version"],
        "artifact": "model.onnx",
        "signature": {"input": "features float32 [N,30]", "output": "score float32 [N]",
                      "feature_order": "TIME, V1..V28, AMOUNT"},
        "threshold": evaluation.threshold,
        "threshold_target": evaluation.target,
        "data": {"file": dataset.path.name, "format": dataset.format,
                 "fingerprint": dataset.fingerprint, "rows": len(dataset),
                 "excluded_rows_missing_values": len(dataset.excluded_lines),
                 "frauds": int((split.y == 1).sum())},
        "split": {"kind": config.split, "train": len(split.train),
                  "train_normal": len(split.fit_rows), "validation": len(split.val),
                  "test": len(split.test)},
        "training": {"config": _config_dict(config), "chosen": best.name,
                     "epochs_run": best.epochs_run, "best_val_loss": best.val_loss,
                     "candidates": candidates_table, **timing},
        "metrics": evaluation.metrics,
        "comparison_on_test": evaluation.comparison,
        "export": parity,
        "report": "report/index.html",
    }


def _fit_candidate(candidate: Candidate, config: TrainConfig, scaling, z_fit: np.ndarray,
                   z_val: np.ndarray, log: Log) -> Trial:
    """Fit one autoencoder on the normal training rows (seeded: the same data gives the same
    weights), with early stopping on the normal validation rows."""
    import keras
    import tensorflow as tf

    from training.model import build_autoencoder, make_score_function

    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "3":  # quiet unless `train --verbose`
        tf.get_logger().setLevel("ERROR")
    started = time.monotonic()
    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    autoencoder = build_autoencoder(candidate.hidden, candidate.l1, candidate.activation)
    autoencoder.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="mse")
    history = autoencoder.fit(
        z_fit, z_fit, validation_data=(z_val, z_val), epochs=config.epochs,
        batch_size=config.batch_size, shuffle=True, verbose=0,
        callbacks=[keras.callbacks.EarlyStopping(patience=config.patience,
                                                 restore_best_weights=True),
                   _epoch_logger(log, config.epochs)])
    return Trial(candidate.name, make_score_function(autoencoder, scaling),
                 time.monotonic() - started, float(min(history.history["val_loss"])),
                 len(history.history["loss"]), autoencoder=autoencoder)


def _whitened(trial: Trial, scaling, z_fit: np.ndarray, rows: int = 50_000) -> Trial:
    """A fitted autoencoder scored by its whitened residual, the whitening fitted on (up to
    `rows`) normal training rows."""
    from training.model import ResidualWhitening, make_score_function

    started = time.monotonic()
    sample = z_fit[:rows]
    whitening = ResidualWhitening.fit(
        trial.autoencoder.predict(sample, batch_size=8192, verbose=0) - sample)
    return Trial(f"{trial.name} whitened",
                 make_score_function(trial.autoencoder, scaling, whitening=whitening),
                 trial.seconds + time.monotonic() - started, trial.val_loss, trial.epochs_run,
                 autoencoder=trial.autoencoder, whitening=whitening)


def _with_distance(trial: Trial, scaling, distance: Mahalanobis,
                   x_val_normal: np.ndarray) -> Trial:
    """The ensemble of a scored autoencoder (plain or whitened) with the Mahalanobis distance:
    each term divided by its median on normal validation rows, so both weigh alike."""
    from training.model import EnsembleTerm, make_score_function

    started = time.monotonic()
    ae_median = float(np.median(trial.score_function(
        x_val_normal.astype(np.float32))[OUTPUT_NAME].numpy()))
    distance_median = float(np.median(distance.score(x_val_normal)))
    term = EnsembleTerm(distance.mean, distance.precision, max(ae_median, 1e-9),
                        max(distance_median, 1e-9))
    return Trial(f"{trial.name} + Mahalanobis",
                 make_score_function(trial.autoencoder, scaling, term, trial.whitening),
                 trial.seconds + time.monotonic() - started, trial.val_loss, trial.epochs_run,
                 autoencoder=trial.autoencoder, ensemble_term=term, whitening=trial.whitening)


def _config_dict(config: TrainConfig) -> dict:
    d = asdict(config)
    d["hidden"] = list(config.hidden)
    return d
