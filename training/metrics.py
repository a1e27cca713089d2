"""Detection metrics in NumPy: ROC, precision-recall, thresholds. Higher score = more anomalous."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Curves:
    """Operating points for every distinct threshold, highest threshold first."""

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    positives: int
    negatives: int

    @property
    def tpr(self) -> np.ndarray:
        return self.tp / max(self.positives, 1)

    @property
    def fpr(self) -> np.ndarray:
        return self.fp / max(self.negatives, 1)

    @property
    def precision(self) -> np.ndarray:
        return self.tp / np.maximum(self.tp + self.fp, 1)


def curves(labels: np.ndarray, scores: np.ndarray) -> Curves:
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    last_of_run = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp = np.cumsum(y)[last_of_run]
    fp = (last_of_run + 1) - tp
    return Curves(s[last_of_run], tp, fp, int(y.sum()), int(len(y) - y.sum()))


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    c = curves(labels, scores)
    fpr, tpr = np.r_[0.0, c.fpr], np.r_[0.0, c.tpr]
    return float(np.trapezoid(tpr, fpr))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Sum over thresholds of (recall step) x precision, as scikit-learn defines it."""
    c = curves(labels, scores)
    recall = np.r_[0.0, c.tpr]
    return float(np.sum(np.diff(recall) * c.precision))


def threshold_for_fpr(normal_scores: np.ndarray, fpr: float) -> float:
    """The smallest threshold with at most `fpr` of normal scores strictly above it."""
    return float(np.quantile(normal_scores, 1.0 - fpr, method="higher"))


def threshold_for_alert_rate(scores: np.ndarray, rate: float) -> float:
    return float(np.quantile(scores, 1.0 - rate, method="higher"))


def at_threshold(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Confusion matrix, precision, recall and FPR when `score > threshold` raises an alert."""
    alert = scores > threshold
    tp = int((alert & (labels == 1)).sum())
    fp = int((alert & (labels == 0)).sum())
    fn = int((~alert & (labels == 1)).sum())
    tn = int((~alert & (labels == 0)).sum())
    return {"threshold": float(threshold), "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": tp / (tp + fp) if tp + fp else 0.0,
            "recall": tp / (tp + fn) if tp + fn else 0.0,
            "fpr": fp / (fp + tn) if fp + tn else 0.0,
            "alert_rate": float(alert.mean()) if len(alert) else 0.0}


def summary(labels: np.ndarray, scores: np.ndarray, threshold: float,
            fpr_target: float = 0.01) -> dict[str, object]:
    """Everything the model card and the report show for one labelled set."""
    normal = scores[labels == 0]
    at_fpr = threshold_for_fpr(normal, fpr_target)
    return {"rows": len(labels), "frauds": int(labels.sum()),
            "roc_auc": roc_auc(labels, scores),
            "average_precision": average_precision(labels, scores),
            "at_threshold": at_threshold(labels, scores, threshold),
            f"at_fpr_{fpr_target:g}": at_threshold(labels, scores, at_fpr)}


def compare(labels: np.ndarray, scores: dict[str, np.ndarray], fpr: float) -> list[dict]:
    """ROC AUC, AP and recall at the given FPR of several scorers on the same rows."""
    rows = []
    for name, values in scores.items():
        at = at_threshold(labels, values, threshold_for_fpr(values[labels == 0], fpr))
        rows.append({"model": name, "roc_auc": roc_auc(labels, values),
                     "average_precision": average_precision(labels, values),
                     "recall_at_fpr": at["recall"], "fpr": fpr})
    return rows
