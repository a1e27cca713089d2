"""Every KSQL template on a real ksqlDB, with values checked against a known input.

Raw lines go into the raw topic (as Connect writes them); the features the server writes are
compared field by field with the contract. Scored records go into the scored topic as the
sidecar writes them (explicit timestamps and scores), and every monitoring table's counts,
sums and ratios are compared with the same figures computed here from that input. A line the
DELIMITED format cannot read must show up in ksqlDB's processing log.
"""

from __future__ import annotations

import base64
import time
import uuid

import orjson
import pytest
from confluent_kafka import Producer
from topology_project import copy_repo_project, run_fraudctl

from infra.kafka import consume_messages
from infra.ksql_client import KsqlClient, pull_rows
from infra.rest import RestConfig

pytestmark = [pytest.mark.ksqldb, pytest.mark.slow]


def _raw_line(payment_id: int, user: str, label: str, time_s: float, amount: float) -> str:
    features = ",".join(f"{(payment_id % 7) * 0.1 + i / 100:.2f}" for i in range(1, 29))
    return f'{payment_id},"2026-11-27T10:00:00Z","{user}",{time_s},{features},{amount},{label}'


def _mask(text: str, keep: int = 2) -> str:
    def one(c: str) -> str:
        return "X" if c.isupper() else "x" if c.islower() else "n" if c.isdigit() else "-"
    return "".join(one(c) for c in text[:-keep]) + text[-keep:]


def _wait_rows(client: KsqlClient, sql: str, done, timeout: float = 90.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    rows: list[dict] = []
    while time.monotonic() < deadline:
        rows = pull_rows(client, sql)
        if done(rows):
            return rows
        time.sleep(1.0)
    return rows


@pytest.fixture()
def pipeline(stack, ksqldb_url, tmp_path):
    tag = uuid.uuid4().hex[:6]
    root = tmp_path / "repo"
    spec = copy_repo_project(root, tag, {"ksqldb": {"url": ksqldb_url}, "kafka": {
        "bootstrap_servers": stack.bootstrap_servers}}, base_env="compose")
    applied = run_fraudctl(root, "apply", "--only", "ksql", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    yield spec, KsqlClient(RestConfig(ksqldb_url))
    run_fraudctl(root, "destroy", "--only", "ksql", "--auto-approve", "--delete-topics")


def test_features_are_keyed_masked_and_in_contract_order(stack, pipeline):
    spec, _client = pipeline
    topics = spec["vars"]["topics"]
    good = [(101, "Kai", '"0"', 0.0, 149.62), (102, "Mai9", "", 12.5, 3.0),
            (103, "Hans-Peter", '"1"', 40.0, 0.0)]
    lines = [_raw_line(*row) for row in good]
    lines += [
        '104,"2026-11-27T10:00:00Z","Kai",1,' + "0.1," * 27 + ',5.0,"0"',  # V28 empty
        _raw_line(105, "Kai", '"0"', 1.0, -5.0),  # negative amount
        _raw_line(106, "Kai", '"0"', -1.0, 5.0),  # negative TIME
        _raw_line(107, "Kai", '"7"', 2.0, 5.0),  # unknown label: kept, CLASS null
    ]
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers})
    for line in lines:
        producer.produce(topics["raw"], value=line.encode())
    producer.flush(10)

    messages = consume_messages(stack.bootstrap_servers, topics["features"], 4, timeout=90,
                                idle_after=5.0)
    by_key = {int.from_bytes(m.key(), "big", signed=True): orjson.loads(m.value())
              for m in messages}
    assert sorted(by_key) == [101, 102, 103, 107]
    for payment_id, user, label, time_s, amount in good:
        value = by_key[payment_id]
        raw = _raw_line(payment_id, user, label, time_s, amount).split(",")
        assert value["USER_MASKED"] == _mask(user)
        assert value["TS"] == "2026-11-27T10:00:00Z"
        assert value["AMOUNT"] == amount
        assert value["CLASS"] == (label.strip('"') or None)
        assert value["FEATURES"] == [float(x) for x in raw[3:33]], "TIME, V1..V28, AMOUNT"
        assert len(value["FEATURES"]) == 30
    assert by_key[107]["CLASS"] is None


def test_unreadable_raw_lines_reach_the_processing_log(stack, pipeline):
    spec, client = pipeline
    topics = spec["vars"]["topics"]
    marker = uuid.uuid4().hex[:8]
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers})
    bad = {f'x{marker},"2026-11-27T10:00:00Z","Kai",1,' + "0.1," * 28 + '5.0,"0"',  # bad ID
           f"{marker},too,few,columns"}
    for line in sorted(bad):
        producer.produce(topics["raw"], value=line.encode())
    producer.flush(10)

    def logged_lines(rows: list[dict]) -> list[str]:
        lines = []
        for row in rows:
            error = (row.get("MESSAGE") or {}).get("DESERIALIZATIONERROR") or {}
            if error.get("topic") == topics["raw"] and error.get("RECORDB64"):
                lines.append(base64.b64decode(error["RECORDB64"]).decode())
        return lines

    rows = _wait_rows(client, "SELECT * FROM KSQL_PROCESSING_LOG;",
                      lambda rows: bad <= set(logged_lines(rows)))
    assert sorted(logged_lines(rows)) == sorted(bad)


def _scored(payment_id: int, user: str, score: float, label: str | None, version: str,
            latency_ms: int, ts: int) -> tuple[dict, int, int]:
    threshold = 1.0
    value = {"USER_MASKED": _mask(user), "TS": "2026-11-27T10:00:00Z", "AMOUNT": 10.0 + payment_id,
             "CLASS": label, "SCORE": score, "THRESHOLD": threshold,
             "IS_ANOMALY": score > threshold, "MODEL_VERSION": version,
             "SCORED_AT": ts + latency_ms}
    return value, payment_id, ts


def test_alerts_and_every_monitoring_table_match_the_input(stack, pipeline):
    spec, client = pipeline
    topics = spec["vars"]["topics"]
    prefix = spec["prefix"].upper()
    now = int(time.time() * 1000)
    base = now - now % 60_000 + 5_000  # inside one 1-minute window (a late split still sums)
    records = [
        _scored(1, "Kai", 3.0, "1", "v1", 40, base),      # TP
        _scored(2, "Kai", 2.0, "0", "v1", 60, base + 1),  # FP
        _scored(3, "Kai", 1.5, None, "v1", 20, base + 2),  # alert, unlabelled
        _scored(4, "Ola", 0.2, "1", "v1", 30, base + 3),  # FN
        _scored(5, "Ola", 0.1, "0", "v1", 51, base + 4),  # TN
        _scored(6, "Ola", 0.3, "0", "v2", 10, base + 5),  # TN, other model
    ]
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers})
    for value, key, ts in records:
        producer.produce(topics["scored"], key=key.to_bytes(8, "big", signed=True),
                         value=orjson.dumps(value), timestamp=ts)
    producer.flush(10)

    alerts = consume_messages(stack.bootstrap_servers, topics["alerts"], 3, timeout=90,
                              idle_after=5.0)
    assert sorted(int.from_bytes(m.key(), "big") for m in alerts) == [1, 2, 3]
    assert {orjson.loads(m.value())["SCORE"] for m in alerts} == {3.0, 2.0, 1.5}

    def per_version(table: str, expect_events: dict[str, int], column: str = "EVENTS"):
        def done(rows):
            totals: dict[str, int] = {}
            for r in rows:
                totals[r["MODEL_VERSION"]] = totals.get(r["MODEL_VERSION"], 0) + r[column]
            return totals == expect_events
        rows = _wait_rows(client, f"SELECT * FROM {prefix}{table};", done)
        assert done(rows), f"{table}: {rows}"
        merged: dict[str, dict] = {}
        for r in rows:  # one window per version here; sum if the records split across two
            m = merged.setdefault(r["MODEL_VERSION"], {})
            for k, v in r.items():
                if isinstance(v, int | float) and k not in ("WINDOWSTART", "WINDOWEND"):
                    m[k] = m.get(k, 0) + v
        return merged

    rate = per_version("MONITOR_ALERT_RATE", {"v1": 5, "v2": 1})
    assert rate["v1"]["ALERTS"] == 3 and rate["v2"]["ALERTS"] == 0

    accuracy = per_version("MONITOR_ACCURACY", {"v1": 4, "v2": 1}, column="LABELLED")
    assert (accuracy["v1"]["TP"], accuracy["v1"]["FP"], accuracy["v1"]["FN"],
            accuracy["v1"]["TN"]) == (1, 1, 1, 1)
    assert accuracy["v1"]["PRECISION"] == pytest.approx(0.5)
    assert accuracy["v1"]["RECALL"] == pytest.approx(0.5)
    assert accuracy["v2"]["TN"] == 1

    drift = per_version("MONITOR_SCORE_DRIFT", {"v1": 5, "v2": 1})
    v1_scores = [3.0, 2.0, 1.5, 0.2, 0.1]
    assert drift["v1"]["SCORE_SUM"] == pytest.approx(sum(v1_scores))
    assert drift["v1"]["SCORE_SUM_SQUARES"] == pytest.approx(sum(s * s for s in v1_scores))
    assert drift["v1"]["SCORE_MAX"] == pytest.approx(3.0)
    assert drift["v1"]["SCORE_MIN"] == pytest.approx(0.1)

    latency = per_version("MONITOR_LATENCY", {"v1": 5, "v2": 1})
    assert latency["v1"]["LATENCY_MS_MAX"] == 60 and latency["v1"]["LATENCY_MS_MIN"] == 20
    assert latency["v1"]["LATENCY_MS_MEAN"] == pytest.approx(40.2)  # DOUBLE, not BIGINT /
    assert latency["v2"]["LATENCY_MS_MEAN"] == pytest.approx(10.0)
    buckets = _wait_rows(client, f"SELECT * FROM {prefix}MONITOR_LATENCY;", lambda rows: True)
    merged: dict[str, int] = {}
    for row in buckets:
        if row["MODEL_VERSION"] == "v1":
            for bucket, n in row["LATENCY_MS_BUCKETS"].items():
                merged[bucket] = merged.get(bucket, 0) + n
    assert merged == {"40": 1, "60": 1, "20": 1, "30": 1, "51": 1}

    escalation = _wait_rows(client, f"SELECT * FROM {prefix}USER_ALERT_ESCALATION;",
                            lambda rows: any(r["ALERTS"] >= 3 for r in rows))
    kai = [r for r in escalation if r["USER_MASKED"] == _mask("Kai")]
    assert kai and max(r["ALERTS"] for r in kai) == 3
    assert max(r["AMOUNT_TOTAL"] for r in kai) == pytest.approx(11.0 + 12.0 + 13.0)
    assert not [r for r in escalation if r["USER_MASKED"] == _mask("Ola")]
