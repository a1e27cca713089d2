"""`fraudctl train --kind supervised`: a classifier trained on labels (the Kaggle Class
column, or the pipeline's labels joined by payment ID) exported to the same ONNX contract,
beside the autoencoder and the baselines."""

import json

import pytest
from cli_runner import run_cli

from core.artifact import read_artifact
from core.contract import label_line
from training.evaluate import evaluate_model
from training.synth import synthesize, to_raw_lines, write_kaggle_csv

pytestmark = pytest.mark.slow
ROWS, FRAUD_RATE = 30_000, 0.01



@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """Raw payments without labels, and a labels file as `labels export` writes it: every
    fraud's chargeback and a fifth of the genuine payments' confirmations."""
    base = tmp_path_factory.mktemp("supervised")
    frame = synthesize(ROWS, FRAUD_RATE, seed=11)
    raw = base / "payments.csv"
    raw.write_text("\n".join(to_raw_lines(frame, keep_labels=False)) + "\n")
    lines = [label_line(i + 1, str(int(c)), "2026-01-02T00:00:00Z", "chargeback")
             for i, c in enumerate(frame["Class"]) if c == 1 or i % 5 == 0]
    labels = base / "labels.csv"
    labels.write_text("\n".join(lines) + "\n")
    return base, raw, labels, frame


def test_a_supervised_model_trained_on_collected_labels_meets_the_contract(labelled):
    base, raw, labels, frame = labelled
    out = base / "model"
    result = run_cli("train", "--kind", "supervised", "--data", str(raw), "--labels",
                       str(labels), "--out", str(out), "--epochs", "12")
    assert result.returncode == 0, result.stdout + result.stderr
    frauds = int(frame["Class"].sum())
    assert f"matched payments of payments.csv ({frauds} frauds)" in result.stdout
    artifact = read_artifact(out / "model.onnx")  # input features, output score, metadata
    card = json.loads((out / "model_card.json").read_text())
    assert card["kind"] == "supervised" and artifact.version == card["model_version"]
    assert card["training"]["config"]["labels"] == str(labels)
    assert (out / "classifier.keras").exists() and (out / "autoencoder.keras").exists()
    rows = {r["model"].split(" (")[0]: r for r in card["comparison_on_test"]}
    model = next(r for name, r in rows.items() if name == "this model")
    autoencoder = next(r for name, r in rows.items() if name.startswith("autoencoder"))
    assert {"Mahalanobis distance", "IsolationForest"} <= set(rows)
    assert model["average_precision"] > autoencoder["average_precision"], card
    assert "why_chosen" in card["training"] and "smallest worst shortfall" in result.stdout
    # on fresh payments, with their labels, as `fraudctl evaluate` scores any model
    fresh = base / "fresh.csv"
    write_kaggle_csv(synthesize(50_000, FRAUD_RATE, seed=12), fresh)
    evaluated = evaluate_model(out / "model.onnx", fresh, base / "evaluation")
    assert evaluated["roc_auc"] >= 0.95 and evaluated["average_precision"] >= 0.6, evaluated


def test_a_kaggle_file_trains_on_its_class_column(labelled, tmp_path):
    _, _, _, frame = labelled
    data = tmp_path / "kaggle.csv"
    write_kaggle_csv(frame, data)
    result = run_cli("train", "--kind", "supervised", "--data", str(data), "--out",
                       str(tmp_path / "m"), "--epochs", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((tmp_path / "m" / "model_card.json").read_text())["kind"] == "supervised"


def test_labels_that_are_not_labels_are_refused_with_their_line(labelled, tmp_path):
    _, raw, _, _ = labelled
    bad = tmp_path / "labels.csv"
    bad.write_text('1,"1","2026-01-02T00:00:00Z","chargeback"\n2,"maybe","x","y"\n')
    result = run_cli("train", "--kind", "supervised", "--data", str(raw), "--labels",
                       str(bad), "--out", str(tmp_path / "m"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "labels.csv line 2, column LABEL: '\"maybe\"'" in result.stderr or (
        "labels.csv line 2, column LABEL: 'maybe'" in result.stderr), result.stderr
    few = tmp_path / "few.csv"
    few.write_text('1,"1","2026-01-02T00:00:00Z","chargeback"\n2,"0","x","y"\n')
    result = run_cli("train", "--kind", "supervised", "--data", str(raw), "--labels",
                       str(few), "--out", str(tmp_path / "m2"))
    assert result.returncode == 1 and "needs labelled frauds" in result.stderr, result.stderr
