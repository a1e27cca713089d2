"""Every KSQL template on a real ksqlDB, with values checked against a known input.

Raw lines go into the raw topic (as Connect writes them); the features the server writes are
compared field by field with the contract (the user's pseudonymous key included, for two users
whose masks collide). Scored records go into the scored topic as the sidecar writes them
(explicit timestamps and scores), labels into the labels topic as `replay` or Connect writes
them, some days late; every monitoring table's counts, sums and ratios are compared with the
same figures computed here from that input. A line the DELIMITED format cannot read must show
up in ksqlDB's processing log.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid

import numpy as np
import orjson
import pytest
from topology_project import copy_repo_project, run_fraudctl

from core.contract import C_LATENCY_BUCKETS_MS, label_line
from core.kafka import consume_messages
from core.kafka import producer as kafka_producer
from infra.ksql_client import KsqlClient, pull_rows
from infra.rest import RestConfig
from udf_server.monitor_counts import Verdicts, count_rows

pytestmark = [pytest.mark.ksqldb, pytest.mark.slow]


def _raw_line(payment_id: int, user: str, label: str, time_s: float, amount: float) -> str:
    features = ",".join(f"{(payment_id % 7) * 0.1 + i / 100:.2f}" for i in range(1, 29))
    return f'{payment_id},"2026-11-27T10:00:00Z","{user}",{time_s},{features},{amount},{label}'


def _user_key(user: str) -> str:
    """The contract's pseudonym: MD5 (hex) of the salt followed by the user ID."""
    return hashlib.md5((os.environ["FRAUD_USER_KEY_SALT"] + user).encode()).hexdigest()


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
            (103, "Hans-Peter", '"1"', 40.0, 0.0), (108, "Mai", "", 3.0, 7.5)]
    lines = [_raw_line(*row) for row in good]
    lines += [
        '104,"2026-11-27T10:00:00Z","Kai",1,' + "0.1," * 27 + ',5.0,"0"',  # V28 empty
        _raw_line(105, "Kai", '"0"', 1.0, -5.0),  # negative amount
        _raw_line(106, "Kai", '"0"', -1.0, 5.0),  # negative TIME
        _raw_line(107, "Kai", '"7"', 2.0, 5.0),  # a label in the line: ignored
    ]
    producer = kafka_producer(stack.bootstrap_servers)
    for line in lines:
        producer.produce(topics["raw"], value=line.encode())
    producer.flush(10)

    messages = consume_messages(stack.bootstrap_servers, topics["features"], 5, timeout=90,
                                idle_after=5.0)
    by_key = {int.from_bytes(m.key(), "big", signed=True): orjson.loads(m.value())
              for m in messages}
    assert sorted(by_key) == [101, 102, 103, 107, 108]
    for payment_id, user, label, time_s, amount in good:
        value = by_key[payment_id]
        raw = _raw_line(payment_id, user, label, time_s, amount).split(",")
        assert set(value) == {"USER_KEY", "USER_MASKED", "TS", "AMOUNT", "FEATURES"}, (
            "the label stays out of the model's input path")
        assert value["USER_KEY"] == _user_key(user)
        assert value["USER_MASKED"] == _mask(user)
        assert value["TS"] == "2026-11-27T10:00:00Z"
        assert value["AMOUNT"] == amount
        assert value["FEATURES"] == [float(x) for x in raw[3:33]], "TIME, V1..V28, AMOUNT"
        assert len(value["FEATURES"]) == 30
    kai, mai = by_key[101], by_key[108]
    assert kai["USER_MASKED"] == mai["USER_MASKED"] == "Xai", "the masks collide"
    assert kai["USER_KEY"] != mai["USER_KEY"], "the keys do not"


def test_unreadable_raw_lines_reach_the_processing_log(stack, pipeline):
    spec, client = pipeline
    topics = spec["vars"]["topics"]
    marker = uuid.uuid4().hex[:8]
    producer = kafka_producer(stack.bootstrap_servers)
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


def _scored(payment_id: int, user: str, score: float, version: str, latency_ms: int,
            ts: int) -> tuple[dict, int, int]:
    threshold = 1.0
    value = {"USER_KEY": _user_key(user), "USER_MASKED": _mask(user),
             "TS": "2026-11-27T10:00:00Z", "AMOUNT": 10.0 + payment_id,
             "SCORE": score, "THRESHOLD": threshold,
             "IS_ANOMALY": score > threshold, "MODEL_VERSION": version,
             "SCORED_AT": ts + latency_ms}
    return value, payment_id, ts


DAY_MS = 86_400_000


def test_alerts_and_every_monitoring_table_match_the_input(stack, pipeline):
    spec, client = pipeline
    topics = spec["vars"]["topics"]
    prefix = spec["prefix"].upper()
    # the payments were made two days ago (the broker refuses timestamps in the future, so the
    # late label is the one that is "now"), inside one 1-minute window
    two_days_ago = int(time.time() * 1000) - 2 * DAY_MS
    base = two_days_ago - two_days_ago % 60_000 + 5_000
    records = [
        _scored(1, "Kai", 3.0, "v1", 40, base),      # alert, labelled fraud: TP
        _scored(2, "Kai", 2.0, "v1", 60, base + 1),  # alert, labelled genuine: FP
        _scored(3, "Kai", 1.5, "v1", 20, base + 2),  # alert, its labels never count
        _scored(4, "Ola", 0.2, "v1", 30, base + 3),  # labelled fraud: FN
        _scored(5, "Ola", 0.1, "v1", 51, base + 4),  # labelled genuine two days later: TN
        _scored(6, "Ola", 0.3, "v2", 10, base + 5),  # TN, other model
        _scored(7, "Mai", 2.5, "v3", 15, base + 6),  # alerts of Mai, whose mask is Kai's
        _scored(8, "Mai", 2.6, "v3", 25, base + 7),
    ]
    # as the sidecar does: Java's partitioner, so a payment's scored record lands on the
    # partition where ksqlDB puts its label (the join needs both on the same partition); the
    # alerts also to the flagged topic, and each version's batch counted by the sidecar's own
    # code into the counts topic
    producer = kafka_producer(stack.bootstrap_servers, {"partitioner": "murmur2_random"})
    for value, key, ts in records:
        for topic in (topics["scored"], *((topics["flagged"],) if value["IS_ANOMALY"] else ())):
            producer.produce(topic, key=key.to_bytes(8, "big", signed=True),
                             value=orjson.dumps(value), timestamp=ts)
    for version in ("v1", "v2", "v3"):
        batch = [(value, ts) for value, _key, ts in records if value["MODEL_VERSION"] == version]
        for scored_at in sorted({value["SCORED_AT"] for value, _ts in batch}):
            # one "batch" per scoring time: the sidecar stamps a batch with one SCORED_AT
            same = [(v, ts) for v, ts in batch if v["SCORED_AT"] == scored_at]
            verdicts = Verdicts(version, np.array([v["SCORE"] for v, _ in same]),
                                np.array([v["IS_ANOMALY"] for v, _ in same]))
            for row in count_rows(np.array([ts for _, ts in same]), scored_at, verdicts):
                producer.produce(topics["monitor_counts"], key=row.key, value=row.value,
                                 timestamp=row.timestamp)
    producer.flush(10)

    def labels(*items: tuple[int, str, int]) -> None:
        for payment_id, label, ts in items:
            producer.produce(topics["labels_raw"], timestamp=ts, value=label_line(
                payment_id, label, "2026-11-27T10:00:00Z", "test").encode())
        producer.flush(10)

    labels((1, "1", base + 1_000), (2, "0", base + 2_000), (4, "1", base + 3_000),
           (6, "0", base + 4_000),
           (3, "7", base + 5_000),                # not a label: dropped by the labels stream
           (999, "1", base + 6_000),              # no such payment: never joined
           (3, "1", base - 2 * 3_600_000))        # before the join window: never joined

    alerts = consume_messages(stack.bootstrap_servers, topics["alerts"], 5, timeout=90,
                              idle_after=5.0)
    assert sorted(int.from_bytes(m.key(), "big") for m in alerts) == [1, 2, 3, 7, 8]
    assert {orjson.loads(m.value())["SCORE"] for m in alerts} == {3.0, 2.0, 1.5, 2.5, 2.6}

    def per_version(table: str, expect: dict[str, int], column: str = "EVENTS"):
        def done(rows):
            totals: dict[str, int] = {}
            for r in rows:
                totals[r["MODEL_VERSION"]] = totals.get(r["MODEL_VERSION"], 0) + r[column]
            return totals == expect
        rows = _wait_rows(client, f"SELECT * FROM {prefix}{table};", done)
        assert done(rows), f"{table}: {rows}"
        merged: dict[str, dict] = {}
        for r in rows:  # one window per version here; sum if the records split across two
            m = merged.setdefault(r["MODEL_VERSION"], {})
            for k, v in r.items():
                if isinstance(v, int | float) and k not in ("WINDOWSTART", "WINDOWEND"):
                    m[k] = m.get(k, 0) + v
        return merged

    events = {"v1": 5, "v2": 1, "v3": 2}
    rate = per_version("MONITOR_ALERT_RATE", events)
    assert (rate["v1"]["ALERTS"], rate["v2"]["ALERTS"], rate["v3"]["ALERTS"]) == (3, 0, 2)

    per_version("MONITOR_ACCURACY", {"v1": 3, "v2": 1, "v3": 0}, column="LABELLED")
    labels((5, "0", base + 4 + 2 * DAY_MS - 60_000))  # two days after its payment: counts
    accuracy = per_version("MONITOR_ACCURACY", {"v1": 4, "v2": 1, "v3": 0}, column="LABELLED")
    assert {v: accuracy[v]["EVENTS"] for v in events} == events
    v1 = accuracy["v1"]
    assert (v1["TP"], v1["FP"], v1["FN"], v1["TN"]) == (1, 1, 1, 1)
    assert v1["PRECISION"] == pytest.approx(0.5) and v1["RECALL"] == pytest.approx(0.5)
    assert v1["LABELLED_SHARE"] == pytest.approx(4 / 5)
    assert v1["LABEL_DELAY_MS_MAX"] == 2 * DAY_MS - 60_000
    assert accuracy["v2"]["TN"] == 1 and accuracy["v2"]["LABELLED_SHARE"] == pytest.approx(1.0)
    assert accuracy["v3"]["LABELLED"] == 0
    window = [r for r in _wait_rows(client, f"SELECT * FROM {prefix}MONITOR_ACCURACY;",
                                    lambda rows: True) if r["MODEL_VERSION"] == "v1"]
    assert [r["WINDOWSTART"] for r in window] == [base - base % 60_000], (
        "the late label counts in its payment's window")

    totals = _wait_rows(client, f"SELECT * FROM {prefix}MONITOR_ACCURACY_TOTALS "
                                "WHERE MODEL_VERSION = 'v1';",
                        lambda rows: rows and rows[0]["LABELLED"] == 4)
    assert len(totals) == 1 and totals[0]["EVENTS"] == 5
    assert (totals[0]["TP"], totals[0]["FP"], totals[0]["FN"], totals[0]["TN"]) == (1, 1, 1, 1)
    assert totals[0]["PRECISION"] == pytest.approx(0.5)
    for version in events:  # a key lookup finds each version, on whichever partition it is
        found = pull_rows(client, f"SELECT MODEL_VERSION FROM {prefix}MONITOR_ACCURACY_TOTALS "
                                  f"WHERE MODEL_VERSION = '{version}';")
        assert found == [{"MODEL_VERSION": version}], version

    drift = per_version("MONITOR_SCORE_DRIFT", events)
    v1_scores = [3.0, 2.0, 1.5, 0.2, 0.1]
    assert drift["v1"]["SCORE_SUM"] == pytest.approx(sum(v1_scores))
    assert drift["v1"]["SCORE_SUM_SQUARES"] == pytest.approx(sum(s * s for s in v1_scores))
    assert drift["v1"]["SCORE_MAX"] == pytest.approx(3.0)
    assert drift["v1"]["SCORE_MIN"] == pytest.approx(0.1)

    latency = per_version("MONITOR_LATENCY", events)
    assert latency["v1"]["LATENCY_MS_MAX"] == 60 and latency["v1"]["LATENCY_MS_MIN"] == 20
    assert latency["v1"]["LATENCY_MS_MEAN"] == pytest.approx(40.2)  # DOUBLE, not BIGINT /
    assert latency["v2"]["LATENCY_MS_MEAN"] == pytest.approx(10.0)
    buckets = _wait_rows(client, f"SELECT * FROM {prefix}MONITOR_LATENCY;", lambda rows: True)
    merged: dict[str, int] = {}
    for row in buckets:
        if row["MODEL_VERSION"] == "v1":
            for bucket, n in row["LATENCY_MS_BUCKETS"].items():
                merged[bucket] = merged.get(bucket, 0) + n
    # latencies 40, 60, 20, 30, 51 ms: three in [20, 50), two in [50, 100)
    assert {b: n for b, n in merged.items() if n} == {"20": 3, "50": 2}
    assert set(merged) == {str(edge) for edge in C_LATENCY_BUCKETS_MS}

    # Kai and Mai share the mask "Xai"; grouped by mask they would add up to 5 alerts
    escalation = _wait_rows(client, f"SELECT * FROM {prefix}USER_ALERT_ESCALATION;",
                            lambda rows: any(r["ALERTS"] >= 3 for r in rows))
    kai = [r for r in escalation if r["USER_KEY"] == _user_key("Kai")]
    assert kai and max(r["ALERTS"] for r in kai) == 3
    assert {r["USER_MASKED"] for r in kai} == {"Xai"}
    assert max(r["AMOUNT_TOTAL"] for r in kai) == pytest.approx(11.0 + 12.0 + 13.0)
    assert not [r for r in escalation if r["USER_KEY"] != _user_key("Kai")], (
        "Mai (2 alerts) and Ola (none) stay below the escalation threshold")
