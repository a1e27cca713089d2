"""Model selection: a small, fixed set of candidates, each judged on the validation split.

Each autoencoder candidate is fitted on the same normal training rows, then scored eight ways
(all inside one ONNX graph): its mean squared residual; the residual whitened (its Mahalanobis
distance under the residuals' covariance on normal training rows); and each of those in an
ensemble with the Mahalanobis distance of the input, at three weights of the distance term.

The choice weighs the three figures users are promised together, never one alone: validation
average precision, ROC AUC and recall at the operating false-positive rate. A candidate whose
ROC AUC is below the original 20-8-20 network's is not shippable. Of the shippable ones, the
winner is the one whose worst shortfall is smallest: on each figure, how far it falls behind
the best shippable candidate, as a share of the way from chance to that best (chance: the fraud
share for AP, 0.5 for ROC AUC, the FPR itself for recall). Without labels in the validation
split, the plain autoencoder with the lowest validation loss wins. Labels choose among models;
they never fit an autoencoder's weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.artifact import OUTPUT_NAME
from training import metrics as m


@dataclass(frozen=True)
class Candidate:
    """One architecture and its settings."""

    name: str
    hidden: tuple[int, ...]
    activation: str = "tanh"
    l1: float = 0.0


CANDIDATES = (
    Candidate("20-8-20 tanh (original)", (20, 8, 20), "tanh"),
    Candidate("24-12-6-12-24 elu", (24, 12, 6, 12, 24), "elu"),
    Candidate("32-16-8-16-32 elu", (32, 16, 8, 16, 32), "elu"),
)


#: the candidate every shipped model must match in validation ROC AUC
ORIGINAL = CANDIDATES[0].name
#: the figures the choice weighs, with what a scorer reaches by chance
FIGURES = ("average_precision", "roc_auc", "recall_at_fpr")


@dataclass(frozen=True)
class ValidationFigures:
    """How a trial scores the validation split's labelled rows."""

    average_precision: float
    roc_auc: float
    recall_at_fpr: float
    fpr: float  # the operating point of recall_at_fpr
    prevalence: float  # the fraud share of the labelled validation rows

    def chance(self, figure: str) -> float:
        return {"average_precision": self.prevalence, "roc_auc": 0.5,
                "recall_at_fpr": self.fpr}[figure]

    def as_row(self) -> dict[str, float]:
        """The figures as the report's and the model card's columns."""
        return {"val_average_precision": self.average_precision, "val_roc_auc": self.roc_auc,
                "val_recall_at_fpr": self.recall_at_fpr}


@dataclass
class Trial:
    """A fitted candidate: its score function and validation figures."""

    name: str
    score_function: object
    seconds: float
    val_loss: float
    epochs_run: int
    autoencoder: object = None
    ensemble_term: object = None  # training.model.EnsembleTerm of an ensemble
    whitening: object = None  # training.model.ResidualWhitening of a whitened error
    classifier: object = None  # the Keras classifier of a supervised trial
    #: None where the validation split lacks frauds or normals (no labels to judge by)
    figures: ValidationFigures | None = None
    #: set by `choose`: ROC AUC at least the original's, and the worst shortfall (0: best on
    #: every figure; 1: no better than chance on one)
    shippable: bool = True
    shortfall: float | None = None

    @property
    def ensemble(self) -> bool:
        return self.ensemble_term is not None

    def row(self, chosen: bool) -> dict:
        judged = {"shippable": self.shippable, "worst_shortfall": self.shortfall} \
            if self.figures else {}
        return {"candidate": self.name, "chosen": chosen, "seconds": round(self.seconds, 1),
                "epochs_run": self.epochs_run, "val_loss": self.val_loss,
                **(self.figures.as_row() if self.figures else {}), **judged}


def judge(trial: Trial, x_val: np.ndarray, y_val: np.ndarray, fpr: float = 0.01) -> Trial:
    """Validation AP, ROC AUC and recall at `fpr`, where the split has frauds and normals."""
    known = y_val >= 0
    labels = y_val[known]
    if (labels == 1).any() and (labels == 0).any():
        scores = trial.score_function(x_val[known].astype(np.float32))[OUTPUT_NAME].numpy()
        at = m.at_threshold(labels, scores, m.threshold_for_fpr(scores[labels == 0], fpr))
        trial.figures = ValidationFigures(m.average_precision(labels, scores),
                                          m.roc_auc(labels, scores), at["recall"], fpr,
                                          float(labels.mean()))
    return trial


def choose(trials: list[Trial]) -> Trial:
    """The shippable trial with the smallest worst shortfall (see the module's docstring);
    without labels, the lowest validation loss of a plain autoencoder (its mean squared
    residual: the loss it was trained on). Marks every judged trial's verdict."""
    judged = [t for t in trials if t.figures is not None]
    if not judged:
        return min((t for t in trials if not t.ensemble and t.whitening is None),
                   key=lambda t: t.val_loss)
    reference = next((t for t in judged if t.name == ORIGINAL), None)
    floor = reference.figures.roc_auc if reference is not None else float("-inf")
    for trial in judged:
        trial.shippable = trial.figures.roc_auc >= floor
    shippable = [t for t in judged if t.shippable]
    best = {f: max(getattr(t.figures, f) for t in shippable) for f in FIGURES}
    for trial in judged:
        trial.shortfall = max(_shortfall(trial.figures, f, best[f]) for f in FIGURES)
    return min(shippable, key=lambda t: (
        t.shortfall, sum(_shortfall(t.figures, f, best[f]) for f in FIGURES), t.seconds))


def _shortfall(figures: ValidationFigures, figure: str, best: float) -> float:
    """How far `figure` falls behind `best`, as a share of the way from chance to `best`."""
    span = best - figures.chance(figure)
    return max(0.0, best - getattr(figures, figure)) / span if span > 0 else 0.0


def reason(chosen: Trial, trials: list[Trial]) -> str:
    """Why `chosen` was chosen, in a sentence for the log, the card and the report."""
    if chosen.figures is None:
        return ("no frauds and normals in the validation split to judge by: the plain "
                "autoencoder with the lowest validation loss")
    judged = [t for t in trials if t.figures is not None]
    refused = sum(not t.shippable for t in judged)
    floor = (f" ({refused} below the original network's validation ROC AUC)"
             if any(t.name == ORIGINAL for t in judged) else "")
    f = chosen.figures
    return (f"smallest worst shortfall ({chosen.shortfall:.3f}) behind the best shippable "
            f"candidate on validation AP {f.average_precision:.4f}, ROC AUC {f.roc_auc:.4f} "
            f"and recall at {f.fpr:g} FPR {f.recall_at_fpr:.4f}, among "
            f"{len(judged) - refused} shippable of {len(judged)} judged{floor}")
