"""The sidecar's alert-path and monitoring outputs on the real local Kafka: the champion's alerts
on the flagged topic and per-batch monitoring counts, in the same transactions as the scored
records (read committed), and an alert storm held back without losing a count."""

import uuid

import orjson
import pytest
from feature_records import feature_rows, produce_features
from model_factory import make_model
from sidecar_harness import SidecarProcess

from core.contract import C_LATENCY_BUCKETS_MS, latency_bucket_column
from core.kafka import consume_messages, create_topics
from core.kafka import producer as kafka_producer

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
PAYMENTS = 3000


def _run(stack, tmp_path, threshold: float, *extra: str) -> dict:
    """Score PAYMENTS feature records with a model of `threshold`; every output topic read
    committed, and the sidecar's suppressed-alerts metric."""
    tag = uuid.uuid4().hex[:8]
    names = {k: f"{k}.{tag}" for k in ("features", "scored", "dlq", "flagged", "counts")}
    create_topics(stack.bootstrap_servers, list(names.values()), partitions=3)
    producer = kafka_producer(stack.bootstrap_servers, {"partitioner": "murmur2_random"})
    sent = produce_features(producer, names["features"], feature_rows(PAYMENTS, seed=3))
    producer.flush(30)
    model = tmp_path / f"model-{tag}.onnx"
    make_model(model, seed=1, threshold=threshold)
    sidecar = SidecarProcess(stack.bootstrap_servers, model,
                             (names["features"], names["scored"], names["dlq"]), f"g-{tag}",
                             tmp_path, extra=("--flagged-topic", names["flagged"],
                                              "--counts-topic", names["counts"], *extra))
    sidecar.start()
    try:
        sidecar.wait_ready()

        def read(topic: str, at_least: int) -> list:
            return consume_messages(stack.bootstrap_servers, topic, at_least, timeout=60,
                                    idle_after=3.0)

        scored = read(names["scored"], len(sent))
        out = {"scored": scored, "flagged": read(names["flagged"], 0),
               "counts": read(names["counts"], 1),
               "suppressed": sidecar.metric("alerts_suppressed_total"),
               "log": sidecar.log()}
    finally:
        assert sidecar.stop() == 0
    return out


def _totals(rows: list) -> dict[str, float]:
    totals: dict[str, float] = {}
    for msg in rows:
        for k, v in orjson.loads(msg.value()).items():
            if isinstance(v, int | float):
                totals[k] = totals.get(k, 0) + v
    return totals


def test_alerts_go_to_the_flagged_topic_and_every_payment_is_counted(stack, tmp_path):
    out = _run(stack, tmp_path, threshold=1.6)
    scored = {m.key(): orjson.loads(m.value()) for m in out["scored"]}
    assert len(out["scored"]) == len(scored) == PAYMENTS
    alerts = {k for k, v in scored.items() if v["IS_ANOMALY"]}
    assert 0 < len(alerts) < 0.25 * PAYMENTS, "a model below the storm share"
    flagged = [m.key() for m in out["flagged"]]
    assert sorted(flagged) == sorted(alerts), "each alert once, nothing else"
    assert all(orjson.loads(m.value()) == scored[m.key()] for m in out["flagged"])

    totals = _totals(out["counts"])
    assert totals["EVENTS"] == PAYMENTS and totals["ALERTS"] == len(alerts)
    assert totals["ALERTS_SUPPRESSED"] == 0 and out["suppressed"] == 0
    assert totals["SCORE_SUM"] == pytest.approx(sum(v["SCORE"] for v in scored.values()))
    assert sum(totals[latency_bucket_column(e)] for e in C_LATENCY_BUCKETS_MS) == PAYMENTS
    version = next(iter(scored.values()))["MODEL_VERSION"]
    for msg in out["counts"]:
        row = orjson.loads(msg.value())
        assert msg.key() == version.encode()
        assert msg.timestamp()[1] == row["PAYMENT_TIME"], "the row's time is a payment's time"
        assert row["LATENCY_MS_MIN"] <= row["LATENCY_MS_SUM"] / row["EVENTS"] \
            <= row["LATENCY_MS_MAX"]


def test_an_alert_storm_holds_alerts_back_and_counts_them(stack, tmp_path):
    # every payment scores above -1: the model flags all of them
    out = _run(stack, tmp_path, -1.0, "--alert-storm-share", "0.25",
               "--alert-storm-window", "1000")
    scored = [orjson.loads(m.value()) for m in out["scored"]]
    assert len(scored) == PAYMENTS and all(v["IS_ANOMALY"] for v in scored), (
        "the verdicts stay in the scored records")
    totals = _totals(out["counts"])
    flagged = len(out["flagged"])
    assert totals["ALERTS"] == PAYMENTS, "the monitoring counts every alert"
    assert totals["ALERTS_SUPPRESSED"] == PAYMENTS - flagged == out["suppressed"]
    assert flagged < 1000, "held back from the batch in which 1,000 payments were seen"
    assert "alert storm" in out["log"]
    print(f"storm: {PAYMENTS} alerts, {flagged} sent down the alert path before the storm "
          f"began, {int(totals['ALERTS_SUPPRESSED'])} held back")
