"""A supervised challenger in shadow beside an autoencoder champion, on the real stack: both
trained by `fraudctl train`, served by the real sidecar, their verdicts counted by ksqlDB from
labels that arrive later. Each version's precision and recall in the monitoring tables equal
the figures computed here from the scored records and the labels the pipeline received; then
the challenger is promoted and takes over without a restart."""

import json
import time
import uuid

import orjson
import pytest
from cli_runner import run_cli
from sidecar_harness import SidecarProcess
from topology_project import copy_repo_project, run_fraudctl

from core.kafka import TopicTail, consume_messages
from infra.ksql_client import KsqlClient, pull_rows
from infra.rest import RestConfig
from training.synth import synthesize, write_kaggle_csv
from udf_server.model_store import promote

pytestmark = [pytest.mark.ksqldb, pytest.mark.slow]
PAYMENTS = 1_000


def _train(*args: str) -> None:
    result = run_cli("train", *args)
    assert result.returncode == 0, result.stdout + result.stderr


def _confusion(scored: dict[int, dict], labels: dict[int, str], verdict: str) -> dict:
    counts = {"TP": 0, "FP": 0, "FN": 0, "TN": 0}
    for payment, label in labels.items():
        alert = scored[payment][verdict]
        counts[("T" if alert == (label == "1") else "F") + ("P" if alert else "N")] += 1
    return counts


def _totals(client, prefix, version, labelled, timeout=180.0):
    deadline = time.monotonic() + timeout
    rows: list = []
    while time.monotonic() < deadline:
        rows = pull_rows(client, f"SELECT * FROM {prefix}MONITOR_ACCURACY_TOTALS WHERE "
                                 f"MODEL_VERSION = '{version}';")
        if rows and rows[0]["LABELLED"] >= labelled:
            return rows[0]
        time.sleep(2.0)
    raise AssertionError(f"{version}: {rows} after {timeout:.0f}s, {labelled} labels wanted")


def _alerts_counted(client, prefix, version, events, timeout=60.0):
    """ALERTS of `version` over its alert-rate windows, once they count all `events`."""
    deadline = time.monotonic() + timeout
    while True:
        rows = pull_rows(client, f"SELECT * FROM {prefix}MONITOR_ALERT_RATE WHERE "
                                 f"MODEL_VERSION = '{version}';")
        if sum(r["EVENTS"] for r in rows) >= events or time.monotonic() > deadline:
            return sum(r["ALERTS"] for r in rows)
        time.sleep(2.0)


def test_a_supervised_challenger_in_shadow_is_measured_beside_the_champion(stack, ksqldb_url,
                                                                           tmp_path):
    training = tmp_path / "training.csv"
    write_kaggle_csv(synthesize(8_000, 0.03, seed=31), training)
    _train("--data", str(training), "--out", str(tmp_path / "ae"), "--fast", "--epochs", "4")
    _train("--kind", "supervised", "--data", str(training), "--out", str(tmp_path / "sup"),
           "--epochs", "6")
    champion_dir, challenger = tmp_path / "champion", tmp_path / "sup" / "model.onnx"
    champion = promote(tmp_path / "ae" / "model.onnx", champion_dir)
    shadow = json.loads((tmp_path / "sup" / "model_card.json").read_text())["model_version"]

    tag = uuid.uuid4().hex[:6]
    root = tmp_path / "repo"
    spec = copy_repo_project(root, tag, {"ksqldb": {"url": ksqldb_url}, "kafka": {
        "bootstrap_servers": stack.bootstrap_servers}}, base_env="compose")
    topics, prefix = spec["vars"]["topics"], spec["prefix"].upper()
    applied = run_fraudctl(root, "apply", "--only", "ksql", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    sidecar = SidecarProcess.for_pipeline(stack.bootstrap_servers, champion_dir, topics,
                                          f"shadow-{tag}", tmp_path,
                                          extra=("--shadow-model", str(challenger))).start()
    client = KsqlClient(RestConfig(ksqldb_url))
    try:
        sidecar.wait_ready()
        payments = tmp_path / "payments.csv"
        write_kaggle_csv(synthesize(PAYMENTS, 0.05, seed=32), payments)
        replayed = run_fraudctl(root, "replay", "--data", str(payments), "--rate", "0",
                                "--start-id", "1", "--label-delay", "1",
                                "--normal-label-share", "0.3")
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        scored = {int.from_bytes(m.key(), "big"): orjson.loads(m.value()) for m in
                  consume_messages(stack.bootstrap_servers, topics["scored"], PAYMENTS,
                                   timeout=180, idle_after=3.0)}
        assert len(scored) == PAYMENTS
        assert {(v["MODEL_VERSION"], v["SHADOW_MODEL_VERSION"]) for v in scored.values()} == {
            (champion, shadow)}
        tail = TopicTail(stack.bootstrap_servers, topics["labels_raw"], from_start=True)
        labels = {int(m.value().split(b",")[0]): m.value().split(b",")[1].strip(b'"').decode()
                  for m in tail.read()}
        tail.close()
        frauds = sum(label == "1" for label in labels.values())
        assert frauds >= 30 and len(labels) > frauds, (frauds, len(labels))

        for version, verdict in ((champion, "IS_ANOMALY"), (shadow, "SHADOW_IS_ANOMALY")):
            row = _totals(client, prefix, version, len(labels))
            expected = _confusion(scored, labels, verdict)
            assert {k: row[k] for k in expected} == expected, (version, row)
            assert row["EVENTS"] == PAYMENTS and row["LABELLED"] == len(labels)
            tp, fp, fn = expected["TP"], expected["FP"], expected["FN"]
            assert row["PRECISION"] == pytest.approx(tp / (tp + fp) if tp + fp else None)
            assert row["RECALL"] == pytest.approx(tp / (tp + fn))
            print(f"{verdict}: version {version}: {expected}, precision {row['PRECISION']:.3f},"
                  f" recall {row['RECALL']:.3f} (as ksqlDB counted them)")
        would_alert = sum(v["SHADOW_IS_ANOMALY"] for v in scored.values())
        assert _alerts_counted(client, prefix, shadow, PAYMENTS) == would_alert, (
            "the challenger's alert rate counts what it would have alerted")

        # promoted, the challenger scores the next payments as the champion
        assert promote(challenger, champion_dir) == shadow
        deadline = time.monotonic() + 30
        while sidecar.wait_ready()["model_version"] != shadow:
            assert time.monotonic() < deadline, "the sidecar did not load the promoted model"
            time.sleep(0.5)
        more = tmp_path / "more.csv"
        write_kaggle_csv(synthesize(50, 0.05, seed=33), more)
        assert run_fraudctl(root, "replay", "--data", str(more), "--rate", "0", "--start-id",
                            "5001", "--no-labels").returncode == 0
        later = [orjson.loads(m.value()) for m in consume_messages(
            stack.bootstrap_servers, topics["scored"], PAYMENTS + 50, timeout=120,
            idle_after=3.0) if int.from_bytes(m.key(), "big") > 5000]
        assert len(later) == 50 and {v["MODEL_VERSION"] for v in later} == {shadow}
    finally:
        sidecar.stop()
        run_fraudctl(root, "destroy", "--only", "ksql", "--auto-approve", "--delete-topics")
