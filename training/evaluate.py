"""`fraudctl evaluate`: an ONNX model's metrics on a labelled file; JSON and HTML/PNG report."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from training import metrics as m

PLOTS = ("roc.png", "precision_recall.png", "score_histogram.png", "threshold_sweep.png")


def onnx_scores(model_path: Path, features: np.ndarray, batch: int = 65_536) -> np.ndarray:
    import onnxruntime as ort

    from core.artifact import INPUT_NAME, OUTPUT_NAME

    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    x = features.astype(np.float32)
    return np.concatenate([session.run([OUTPUT_NAME], {INPUT_NAME: x[i:i + batch]})[0]
                           for i in range(0, len(x), batch)])


def evaluate_model(model_path: str | Path, data_path: str | Path, out_dir: str | Path,
                   fpr_target: float = 0.01) -> dict:
    """Score a labelled file with the model's own threshold; write metrics.json and the report."""
    from core.artifact import read_artifact
    from training.baselines import cross_fitted
    from training.data import load_dataset

    info = read_artifact(model_path)
    dataset = load_dataset(data_path, require_labels=True)
    known = dataset.labels >= 0
    scores = onnx_scores(info.path, dataset.features[known])
    labels = dataset.labels[known]
    baselines = cross_fitted(dataset.features[known], labels)
    comparison = m.compare(labels, {"this model": scores, **baselines}, fpr_target)
    result = {"model_version": info.version, "data": str(dataset.path),
              "data_fingerprint": dataset.fingerprint,
              "excluded_rows_missing_values": len(dataset.excluded_lines),
              **m.summary(labels, scores, info.threshold, fpr_target),
              "comparison": comparison}
    write_report(labels, scores, info.threshold, Path(out_dir),
                 title=f"{dataset.path.name} scored by model {info.version}", metrics=result,
                 baselines=baselines, comparison=comparison)
    return result


def write_report(labels: np.ndarray, scores: np.ndarray, threshold: float, out: Path,
                 title: str, metrics: dict, baselines: dict[str, np.ndarray] | None = None,
                 comparison: list[dict] | None = None,
                 candidates: list[dict] | None = None, chosen_because: str = "") -> Path:
    """metrics.json, four PNG plots and index.html in `out`; returns the HTML path.

    `baselines` (scores of other models on the same rows) are drawn beside the model in the ROC
    and precision-recall plots; `comparison` and `candidates` become tables."""
    import matplotlib

    matplotlib.use("Agg")
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float) + "\n")
    plots = _Plots(labels, scores, threshold, baselines or {})
    plots.roc(out / PLOTS[0], metrics.get("roc_auc"))
    plots.precision_recall(out / PLOTS[1])
    plots.histogram(out / PLOTS[2])
    plots.by_threshold(out / PLOTS[3])
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
                   for k, v in metrics.items() if k != "comparison")
    images = "".join(f'<img src="{p}" alt="{p}">' for p in PLOTS)
    tables = _table("Against the baselines (same rows)", comparison)
    tables += _table("Candidates (validation split)"
                     + (f"; chosen for its {chosen_because}" if chosen_because else ""),
                     candidates)
    page = (f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;"
            "text-align:left;vertical-align:top}img{max-width:48%;margin:4px}</style>"
            f"<h1>{html.escape(title)}</h1>{tables}<table>{rows}</table>{images}")
    (out / "index.html").write_text(page)
    return out / "index.html"


class _Plots:
    """The report's four pictures of one model's scores (baselines drawn beside it)."""

    def __init__(self, labels: np.ndarray, scores: np.ndarray, threshold: float,
                 baselines: dict[str, np.ndarray]) -> None:
        self.labels, self.scores, self.threshold = labels, scores, threshold
        self.baselines = {name: m.curves(labels, values) for name, values in baselines.items()}
        self.curves = m.curves(labels, scores)
        self.operating = m.at_threshold(labels, scores, threshold)

    def roc(self, path: Path, auc: float | None) -> None:
        import matplotlib.pyplot as plt

        c, op = self.curves, self.operating
        fig, ax = plt.subplots(figsize=(5, 4.5))
        ax.plot(np.r_[0, c.fpr], np.r_[0, c.tpr], lw=1.5, label="this model")
        for name, other in self.baselines.items():
            ax.plot(np.r_[0, other.fpr], np.r_[0, other.tpr], lw=1, ls="--", label=name)
        ax.plot([0, 1], [0, 1], ls=":", c="grey")
        ax.scatter([op["fpr"]], [op["recall"]], c="red", zorder=3, label="stored threshold")
        auc = auc if auc is not None else m.roc_auc(self.labels, self.scores)
        ax.set(xlabel="false-positive rate", ylabel="recall (true-positive rate)",
               title=f"ROC (AUC {auc:.4f})")
        ax.legend(loc="lower right")
        _save(fig, path)

    def precision_recall(self, path: Path) -> None:
        import matplotlib.pyplot as plt

        c, op = self.curves, self.operating
        fig, ax = plt.subplots(figsize=(5, 4.5))
        ax.plot(c.tpr, c.precision, lw=1.5, label="this model")
        for name, other in self.baselines.items():
            ax.plot(other.tpr, other.precision, lw=1, ls="--", label=name)
        ax.scatter([op["recall"]], [op["precision"]], c="red", zorder=3,
                   label="stored threshold")
        ax.set(xlabel="recall", ylabel="precision", ylim=(0, 1.02),
               title=f"Precision-recall (AP "
                     f"{m.average_precision(self.labels, self.scores):.4f})")
        ax.legend(loc="lower left")
        _save(fig, path)

    def histogram(self, path: Path) -> None:
        import matplotlib.pyplot as plt

        scores, labels = self.scores, self.labels
        fig, ax = plt.subplots(figsize=(6, 4))
        bins = np.logspace(np.log10(max(scores.min(), 1e-4)), np.log10(scores.max() + 1e-9),
                           60)
        ax.hist(scores[labels == 0], bins=bins, alpha=0.6, density=True, label="normal")
        ax.hist(scores[labels == 1], bins=bins, alpha=0.6, density=True, label="fraud")
        ax.axvline(self.threshold, c="red", ls="--", label="threshold")
        ax.set(xscale="log", xlabel="anomaly score", ylabel="density",
               title="Score distribution by class")
        ax.legend()
        _save(fig, path)

    def by_threshold(self, path: Path) -> None:
        import matplotlib.pyplot as plt

        c = self.curves
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(c.thresholds, c.precision, label="precision")
        ax.plot(c.thresholds, c.tpr, label="recall")
        ax.axvline(self.threshold, c="red", ls="--", label="threshold")
        ax.set(xscale="log", xlabel="threshold", ylim=(0, 1.02), title="Precision and recall")
        ax.legend()
        _save(fig, path)


def _table(caption: str, rows: list[dict] | None) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row.values())
                   + "</tr>" for row in rows)
    return f"<h2>{html.escape(caption)}</h2><table><tr>{head}</tr>{body}</table>"


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    import matplotlib.pyplot as plt

    plt.close(fig)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_fmt(v)}" for k, v in value.items())
    return str(value)
