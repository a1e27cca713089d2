"""Model selection: a small, fixed set of candidates, each judged on the validation split.

Each autoencoder candidate is fitted on the same normal training rows, then scored four ways
(all inside one ONNX graph): its mean squared residual; the residual whitened (its Mahalanobis
distance under the residuals' covariance on normal training rows); and each of those in an
ensemble with the Mahalanobis distance of the input. The
winner has the best average precision on validation when the validation split has frauds, and
otherwise (no labels) the lowest validation reconstruction loss among the plain autoencoders.
Labels choose among models; they never fit weights.
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


@dataclass(frozen=True)
class ValidationFigures:
    """How a trial scores the validation split's labelled rows."""

    average_precision: float
    roc_auc: float

    def as_row(self) -> dict[str, float]:
        """The figures as the report's and the model card's columns."""
        return {"val_average_precision": self.average_precision, "val_roc_auc": self.roc_auc}


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
    #: None where the validation split lacks frauds or normals (no labels to judge by)
    figures: ValidationFigures | None = None

    @property
    def ensemble(self) -> bool:
        return self.ensemble_term is not None

    def row(self, chosen: bool) -> dict:
        return {"candidate": self.name, "chosen": chosen, "seconds": round(self.seconds, 1),
                "epochs_run": self.epochs_run, "val_loss": self.val_loss,
                **(self.figures.as_row() if self.figures else {})}


def judge(trial: Trial, x_val: np.ndarray, y_val: np.ndarray) -> Trial:
    """Validation ROC AUC and average precision, where the split has frauds and normals."""
    known = y_val >= 0
    labels = y_val[known]
    if (labels == 1).any() and (labels == 0).any():
        scores = trial.score_function(x_val[known].astype(np.float32))[OUTPUT_NAME].numpy()
        trial.figures = ValidationFigures(m.average_precision(labels, scores),
                                          m.roc_auc(labels, scores))
    return trial


def choose(trials: list[Trial]) -> Trial:
    """Best validation AP; without labels, the lowest validation loss of a plain autoencoder
    (its mean squared residual: the loss it was trained on)."""
    judged = [t for t in trials if t.figures is not None]
    if judged:
        return max(judged, key=lambda t: (t.figures.average_precision, -t.seconds))
    return min((t for t in trials if not t.ensemble and t.whitening is None),
               key=lambda t: t.val_loss)
