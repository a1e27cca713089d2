"""`fraudctl train`: split, fit, choose among candidates, choose the threshold, export ONNX.

Two kinds of model, both exported to the same contract (input `features`, output `score`):
- `autoencoder` (the default): fitted on normal rows only. Labels hold out frauds from
  training, choose among candidates, set the threshold and evaluate; they are never a target.
- `supervised`: a classifier trained on the labelled rows (the Kaggle `Class` column, or the
  labels the pipeline collected, joined by payment ID: `--labels`), reading the features and
  the original autoencoder's score (training.classifier).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from core.artifact import OUTPUT_NAME
from core.errors import DataError, UsageError
from training import metrics as m
from training.baselines import Mahalanobis, baseline_scores
from training.classifier import CLASSIFIER_CANDIDATES, class_weights, classifier_inputs
from training.data import Dataset, check_labels, load_dataset
from training.fitting import Log, fit_autoencoder, fit_classifier, whitened, with_distance
from training.labels import load_labels, with_labels
from training.model import Scaling, standardise
from training.selection import CANDIDATES, Candidate, Trial, choose, judge, reason

#: the weights of the Mahalanobis term tried in each ensemble (0.5: both terms alike)
DISTANCE_WEIGHTS = (0.25, 0.5, 0.75)

#: the model kinds `train --kind` builds; the autoencoder is the default
AUTOENCODER, SUPERVISED = "autoencoder", "supervised"
KINDS = (AUTOENCODER, SUPERVISED)
DESCRIPTIONS = {
    AUTOENCODER: ("Card-fraud anomaly score of raw features (autoencoder reconstruction error, "
                  "alone or with a Mahalanobis distance)"),
    SUPERVISED: ("Card-fraud probability of raw features (a classifier trained on labelled "
                 "payments, reading the features and an autoencoder's score)"),
}
#: labelled frauds a supervised model needs in its training split
MIN_SUPERVISED_FRAUDS = 20


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
    #: an autoencoder's epoch counts as progress only if validation loss falls by this share
    min_improvement: float = 0.0025
    l1: float = 0.0
    split: str = "random"  # or "time": train on earlier rows, evaluate on later ones
    validation_fraction: float = 0.2
    test_fraction: float = 0.2
    seed: int = 42
    fpr_target: float = 0.01  # threshold so that this share of normal validation rows alert
    alert_rate: float | None = None  # alternatively: this share of all validation rows alert
    kind: str = AUTOENCODER  # or SUPERVISED: a classifier trained on the labels
    labels: str | None = None  # a labels file joined to a raw-format file by payment ID


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
    dataset = load_dataset(data_path, require_labels=config.labels is None)
    if config.labels:
        dataset, joined = with_labels(dataset, load_labels(config.labels))
        log(joined)
        check_labels(dataset)
    log(dataset.summary())
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    split = _Split(dataset.features, dataset.labels, *split_indices(dataset, config))
    log(f"split {config.split}: train {len(split.train)} ({len(split.fit_rows)} normal used), "
        f"validation {len(split.val)}, test {len(split.test)}")
    best, trials, companions = _select(split, config, log)
    fit_seconds = time.monotonic() - started
    evaluation = _evaluate(best, split, config, log, companions)
    parity = _export(best, split, config, evaluation, dataset.fingerprint, out, log)
    candidates_table = [t.row(t is best) for t in trials]
    from training.evaluate import write_report

    write_report(evaluation.test_labels, evaluation.test_scores, evaluation.threshold,
                 out / "report",
                 title=f"Test split of {dataset.path.name} (model {parity['model_version']})",
                 metrics=evaluation.metrics["test"], baselines=evaluation.baselines,
                 comparison=evaluation.comparison, candidates=candidates_table,
                 chosen_because=reason(best, trials))
    card = _model_card(dataset, split, config, best, evaluation, parity, candidates_table,
                       {"why_chosen": reason(best, trials), "fit_seconds": round(fit_seconds, 1),
                        "total_seconds": round(time.monotonic() - started, 1)})
    card_path = out / "model_card.json"
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    log(f"model card {card_path}; report {out / 'report' / 'index.html'} "
        f"({card['training']['total_seconds']:.0f}s in all)")
    return TrainResult(out / "model.onnx", card_path, card)


def _select(split: _Split, config: TrainConfig,
            log: Log) -> tuple[Trial, list[Trial], dict[str, Trial]]:
    """Fit the candidates of the run's kind and judge each on validation rows; returns the
    chosen trial, all of them, and the models to put beside it on the test rows."""
    x, fit_rows = split.x, split.fit_rows
    scaling = Scaling.fit(x[fit_rows])
    z_fit = standardise(x[fit_rows], scaling)
    z_val = standardise(x[split.val_normal], scaling)
    if config.kind == SUPERVISED:
        trials, companions = _supervised_trials(split, config, scaling, z_fit, z_val, log)
    else:
        trials, companions = _autoencoder_trials(split, config, scaling, z_fit, z_val, log), {}
    eligible = [t for t in trials if t.name not in {c.name for c in companions.values()}]
    best = choose(eligible)
    for trial in trials:
        figures = ", ".join(f"{k} {v:.4f}" for k, v in
                            (trial.figures.as_row() if trial.figures else {}).items())
        verdict = "" if trial.shippable else "; not shippable"
        log(f"{'*' if trial is best else ' '} {trial.name}: val_loss {trial.val_loss:.5f}"
            f"{', ' + figures if figures else ''} ({trial.seconds:.1f}s{verdict})")
    log(f"chosen: {best.name}: {reason(best, eligible)}")
    return best, eligible, companions


def _autoencoder_trials(split: _Split, config: TrainConfig, scaling: Scaling,
                        z_fit: np.ndarray, z_val: np.ndarray, log: Log) -> list[Trial]:
    """Every autoencoder candidate (or the configured one), each scored eight ways."""
    x, y, val_normal = split.x, split.y, split.val_normal
    distance = Mahalanobis.fit(x[split.fit_rows], scaling)
    candidates = CANDIDATES if config.select else (
        Candidate("configured", config.hidden, config.activation, config.l1),)
    trials: list[Trial] = []
    for number, candidate in enumerate(candidates, 1):
        if config.select:
            log(f"candidate {number}/{len(candidates)}: {candidate.name}")
        trial = fit_autoencoder(candidate, config, scaling, z_fit, z_val, log)
        variants = [trial]
        if config.select:  # the same network scored seven more ways
            white = whitened(trial, scaling, z_fit)
            variants += [white] + [with_distance(error, scaling, distance, x[val_normal], w)
                                   for error in (trial, white) for w in DISTANCE_WEIGHTS]
        trials += [judge(v, x[split.val], y[split.val], config.fpr_target) for v in variants]
    return trials


def _supervised_trials(split: _Split, config: TrainConfig, scaling: Scaling,
                       z_fit: np.ndarray, z_val: np.ndarray,
                       log: Log) -> tuple[list[Trial], dict[str, Trial]]:
    """The original autoencoder (on normal rows: its score is one more input), then each
    classifier candidate on the labelled training rows."""
    x, y = split.x, split.y
    train_rows, val_rows = split.train[y[split.train] >= 0], split.val[y[split.val] >= 0]
    frauds = int((y[train_rows] == 1).sum())
    if frauds < MIN_SUPERVISED_FRAUDS or not (y[val_rows] == 1).any():
        raise DataError(f"a supervised model needs labelled frauds: the training split has "
                        f"{frauds} (at least {MIN_SUPERVISED_FRAUDS}) and the validation "
                        f"split {int((y[val_rows] == 1).sum())}; give more labels (--labels) "
                        "or train the autoencoder")
    log(f"autoencoder (its score is an input): {CANDIDATES[0].name}")
    autoencoder = judge(fit_autoencoder(CANDIDATES[0], config, scaling, z_fit, z_val, log),
                        x[split.val], y[split.val], config.fpr_target)
    inputs = {name: (classifier_inputs(autoencoder.autoencoder,
                                       standardise(x[rows], scaling)), y[rows])
              for name, rows in (("train", train_rows), ("val", val_rows))}
    weights = class_weights(y[train_rows])
    log(f"labelled rows: {len(train_rows)} for training ({frauds} frauds; class weights "
        f"{weights[0]:.2f} genuine, {weights[1]:.1f} fraud), {len(val_rows)} for validation")
    trials = [autoencoder]
    for number, candidate in enumerate(CLASSIFIER_CANDIDATES, 1):
        log(f"candidate {number}/{len(CLASSIFIER_CANDIDATES)}: {candidate.name}")
        trial = fit_classifier(candidate, config, autoencoder.autoencoder, scaling,
                               inputs["train"], inputs["val"], log)
        trial.seconds += autoencoder.seconds
        trials.append(judge(trial, x[split.val], y[split.val], config.fpr_target))
    return trials, {f"autoencoder {autoencoder.name} (unsupervised)": autoencoder}


def _evaluate(best: Trial, split: _Split, config: TrainConfig, log: Log,
              companions: dict[str, Trial] | None = None) -> _Evaluation:
    """The threshold (on validation rows), the figures on validation and test, and the
    baselines (and `companions`: the supervised model's autoencoder) on the same test rows."""
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
    test_rows = x[split.test][test_known].astype(np.float32)
    baselines = {name: trial.score_function(test_rows)[OUTPUT_NAME].numpy()
                 for name, trial in (companions or {}).items()}
    baselines |= baseline_scores(x[split.fit_rows], x[split.test][test_known], config.seed)
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
                         metrics=evaluation.metrics, description=DESCRIPTIONS[config.kind])
    log(f"exported {model_path} version {parity['model_version']}; parity on "
        f"{parity['parity_rows']} rows: max |ONNX - Keras| = {parity['parity_max_abs_diff']:.2e}")
    best.autoencoder.save(out / "autoencoder.keras")
    if best.classifier is not None:  # the supervised model reads the autoencoder's score
        best.classifier.save(out / "classifier.keras")
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
        "kind": config.kind,
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


def _config_dict(config: TrainConfig) -> dict:
    d = asdict(config)
    d["hidden"] = list(config.hidden)
    return d
