"""The scoring sidecar on the real local Kafka: scores, dead letters, crashes, swaps, HTTP."""

import os
import time
import uuid

import numpy as np
import onnxruntime as ort
import orjson
import pytest
import requests
from feature_records import feature_record, feature_rows, produce_features
from model_factory import make_model
from sidecar_harness import SidecarProcess

from core.kafka import consume_messages, create_topics
from core.kafka import producer as kafka_producer
from core.waiting import wait_until
from fraudctl.tasks.query_lag import GroupLag
from udf_server.model_store import promote

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


@pytest.fixture()
def topics(stack):
    tag = uuid.uuid4().hex[:8]
    names = (f"features.{tag}", f"scored.{tag}", f"dlq.{tag}")
    create_topics(stack.bootstrap_servers, names, partitions=3)
    return names


@pytest.fixture()
def producer(stack):
    # partitioned like ksqlDB's Java producer writes the feature topic
    p = kafka_producer(stack.bootstrap_servers, {"linger.ms": 5,
                                                 "partitioner": "murmur2_random"})
    yield p
    p.flush(30)


def _sidecar(stack, model, topics, tmp_path, **kw):
    return SidecarProcess(stack.bootstrap_servers, model, topics, f"g-{topics[0]}", tmp_path,
                          **kw)


def _direct_scores(model_path, rows):
    session = ort.InferenceSession(str(model_path))
    return session.run(["score"], {"features": rows.astype(np.float32)})[0]


def test_every_record_scored_once_with_onnxruntime_score_and_key(stack, topics, producer,
                                                                  tmp_path):
    model = tmp_path / "model.onnx"
    version = make_model(model, seed=1)
    rows = feature_rows(2000)
    sent = produce_features(producer, topics[0], rows)
    producer.flush(30)
    sidecar = _sidecar(stack, model, topics, tmp_path).start()
    try:
        sidecar.wait_ready()
        out = consume_messages(stack.bootstrap_servers, topics[1], len(sent), timeout=60,
                               idle_after=2.0)
    finally:
        assert sidecar.stop() == 0
    assert len(out) == len(sent)
    assert {m.key() for m in out} == set(sent)
    keys = list(sent)
    expected = dict(zip(keys, _direct_scores(model, rows), strict=True))
    for msg in out:
        value = orjson.loads(msg.value())
        assert set(value) == {"USER_KEY", "USER_MASKED", "TS", "AMOUNT", "SCORE", "THRESHOLD",
                              "IS_ANOMALY", "MODEL_VERSION", "SCORED_AT"}
        assert value["SCORE"] == pytest.approx(float(expected[msg.key()]), rel=1e-6, abs=1e-6)
        assert value["IS_ANOMALY"] == (value["SCORE"] > value["THRESHOLD"])
        assert value["MODEL_VERSION"] == version and value["THRESHOLD"] == 2.0
        assert value["AMOUNT"] == pytest.approx(sent[msg.key()][29])
        assert abs(value["SCORED_AT"] / 1000 - time.time()) < 120
    assert consume_messages(stack.bootstrap_servers, topics[2], 0, timeout=2) == []
    # co-partitioned: each scored record sits on its feature record's partition number
    inputs = consume_messages(stack.bootstrap_servers, topics[0], len(sent), timeout=30)
    input_partition = {m.key(): m.partition() for m in inputs}
    assert len(set(input_partition.values())) == 3
    assert all(m.partition() == input_partition[m.key()] for m in out)


BAD_RECORDS = {  # case: (reason code, value)
    "malformed_json": ("malformed_json", b'{"FEATURES": [1, 2,'),
    "not_utf8": ("not_utf8", b'{"FEATURES": "\xff\xfe"}'),
    "missing_field": ("missing_field", b'{"USER_MASKED": "x", "AMOUNT": 1.0}'),
    "wrong_feature_count": ("wrong_feature_count", orjson.dumps({"FEATURES": [0.1] * 29})),
    "non_finite": ("non_finite", b'{"FEATURES": [' + b"1.0," * 29 + b"NaN]}"),
    # a finite double the model's float32 input cannot hold
    "beyond_float32": ("non_finite", orjson.dumps({"FEATURES": [0.5] * 29 + [1e39]})),
    "wrong_type": ("wrong_type", orjson.dumps({"FEATURES": ["1"] * 30})),
    "oversized": ("oversized", orjson.dumps({"FEATURES": [0.0] * 30, "PAD": "x" * 70_000})),
    "not_an_object": ("not_an_object", b"[1, 2, 3]"),
    "null_value": ("null_value", None),
}


def test_bad_records_go_to_the_dead_letter_topic_with_reasons(stack, topics, producer,
                                                              tmp_path):
    model = tmp_path / "model.onnx"
    make_model(model)
    rows = feature_rows(300, seed=2)
    good_keys = set()
    bad_keys = {}
    for i, row in enumerate(rows):
        key, value = feature_record(i, row)
        producer.produce(topics[0], key=key, value=value, partition=i % 3)
        good_keys.add(key)
        if i % 30 == 0:  # bad records interleaved with good ones
            case = list(BAD_RECORDS)[(i // 30) % len(BAD_RECORDS)]
            bad_key = f"bad-{i}".encode()
            producer.produce(topics[0], key=bad_key, value=BAD_RECORDS[case][1],
                             partition=i % 3)
            bad_keys[bad_key] = case
    producer.flush(30)
    assert set(bad_keys.values()) == set(BAD_RECORDS)
    sidecar = _sidecar(stack, model, topics, tmp_path).start()
    try:
        sidecar.wait_ready()
        scored = consume_messages(stack.bootstrap_servers, topics[1], len(good_keys), timeout=60,
                                  idle_after=2.0)
        dead = consume_messages(stack.bootstrap_servers, topics[2], len(bad_keys), timeout=60,
                                idle_after=1.0)
        assert sidecar.metric("dead_lettered_total") == len(bad_keys)
        assert sidecar.proc.poll() is None  # bad records never stop the sidecar
    finally:
        sidecar.stop()
    assert {m.key() for m in scored} == good_keys and len(scored) == len(good_keys)
    assert len(dead) == len(bad_keys)
    for msg in dead:
        headers = {k: v.decode() for k, v in msg.headers()}
        reason, value = BAD_RECORDS[bad_keys[msg.key()]]
        assert headers["fraud.error.reason"] == reason, headers
        assert headers["fraud.source.topic"] == topics[0]
        assert int(headers["fraud.source.partition"]) in (0, 1, 2)
        assert int(headers["fraud.source.offset"]) >= 0
        assert headers["fraud.error.detail"]
        assert msg.value() == value  # the original bytes
        if bad_keys[msg.key()] == "beyond_float32":
            assert "FEATURES[29] is 1e+39" in headers["fraud.error.detail"], headers


@pytest.mark.parametrize("exactly_once", [False, True], ids=["at-least-once", "exactly-once"])
def test_kill_9_mid_stream_loses_nothing(stack, topics, producer, tmp_path, exactly_once):
    model = tmp_path / "model.onnx"
    make_model(model)
    n = 60_000
    sent = produce_features(producer, topics[0], feature_rows(n, seed=3))
    producer.flush(60)
    extra = ("--batch-size", "500")
    first = _sidecar(stack, model, topics, tmp_path, exactly_once=exactly_once,
                     extra=extra).start()
    first.wait_ready()
    deadline = time.monotonic() + 60
    while first.metric("scored_total") < n * 0.2 and time.monotonic() < deadline:
        time.sleep(0.05)
    scored_before_kill = first.metric("scored_total")
    first.kill()
    assert 0 < scored_before_kill < n, "the kill must land mid-stream"

    second = _sidecar(stack, model, topics, tmp_path, exactly_once=exactly_once,
                      extra=extra).start()
    try:
        second.wait_ready()
        isolation = "read_committed" if exactly_once else "read_uncommitted"
        out = consume_messages(stack.bootstrap_servers, topics[1], n, timeout=120,
                               isolation=isolation, idle_after=3.0)
    finally:
        second.stop()
    keys = [m.key() for m in out]
    duplicates = len(keys) - len(set(keys))
    print(f"\n{'exactly' if exactly_once else 'at-least'}-once: killed after "
          f"{scored_before_kill:.0f} scored; {len(keys)} outputs for {n} inputs, "
          f"{duplicates} duplicates")
    assert set(keys) == set(sent), "records were lost"
    if exactly_once:
        assert duplicates == 0


def test_model_swap_under_load_and_corrupt_model_refused(stack, topics, producer, tmp_path):
    model_dir = tmp_path / "models"
    v1 = promote_new(model_dir, tmp_path / "build" / "v1.onnx", seed=1)
    n = 40_000
    rows = feature_rows(n, seed=4)
    sidecar = _sidecar(stack, model_dir, topics, tmp_path,
                       extra=("--batch-size", "500")).start()
    try:
        sidecar.wait_ready()
        half = produce_features(producer, topics[0], rows[: n // 2])
        producer.flush(30)
        while sidecar.metric("scored_total") < n // 4:
            time.sleep(0.05)
        v2 = promote_new(model_dir, tmp_path / "build" / "v2.onnx", seed=2)
        # keep records flowing until the sidecar has swapped (it checks once a second and
        # drains 20,000 records faster than that), then send the last 2,000: every partition
        # sees records on both sides of the swap
        rest: dict = {}
        chunks = iter(np.array_split(rows[n // 2: n - 2000], 36))
        deadline = time.monotonic() + 30
        while sidecar.metric("model_swaps_total") < 1:
            assert time.monotonic() < deadline, "the sidecar did not swap to v2 within 30 s"
            chunk = next(chunks, None)
            if chunk is not None:
                rest |= produce_features(producer, topics[0], chunk,
                                         first_id=n // 2 + 1 + len(rest))
                producer.flush(30)
            time.sleep(0.05)
        for chunk in [*chunks, rows[n - 2000:]]:
            rest |= produce_features(producer, topics[0], chunk, first_id=n // 2 + 1 + len(rest))
        producer.flush(30)
        out = consume_messages(stack.bootstrap_servers, topics[1], n, timeout=90,
                               idle_after=2.0)
        assert sidecar.metric("model_swaps_total") == 1

        corrupt = model_dir / "versions" / "corrupt.onnx"
        corrupt.write_bytes((model_dir / "versions" / f"{v2}.onnx").read_bytes()[:-50] + b"x")
        (model_dir / "current.tmp").symlink_to("versions/corrupt.onnx")
        (model_dir / "current.tmp").replace(model_dir / "current")
        deadline = time.monotonic() + 20
        while sidecar.metric("model_rejected_total") < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sidecar.metric("model_rejected_total") == 1
        more = produce_features(producer, topics[0], feature_rows(100, seed=5),
                                first_id=n + 1)
        producer.flush(30)
        after = consume_messages(stack.bootstrap_servers, topics[1], n + 100, timeout=60,
                                 idle_after=2.0)
        assert sidecar.proc.poll() is None
    finally:
        sidecar.stop()
    assert {m.key() for m in out} == set(half) | set(rest)
    versions_by_partition: dict[int, list[str]] = {}
    for msg in out:
        versions_by_partition.setdefault(msg.partition(), []).append(
            orjson.loads(msg.value())["MODEL_VERSION"])
    for seq in versions_by_partition.values():  # one switch v1 -> v2, never back
        switch = seq.index(v2)
        assert set(seq[:switch]) == {v1} and set(seq[switch:]) == {v2}
    late = [orjson.loads(m.value())["MODEL_VERSION"] for m in after if m.key() in more]
    assert len(late) == 100 and set(late) == {v2}, "after the refused model, v2 keeps serving"


def promote_new(model_dir, build_path, seed):
    make_model(build_path, seed=seed)
    return promote(build_path, model_dir)


def test_http_endpoints(stack, topics, tmp_path):
    model = tmp_path / "model.onnx"
    version = make_model(model, seed=6)
    sidecar = _sidecar(stack, model, topics, tmp_path).start()
    try:
        ready = sidecar.wait_ready()
        assert ready["model_version"] == version and ready["assigned_partitions"] == 3
        assert requests.get(sidecar.url + "/healthz", timeout=5).json() == {"status": "ok"}
        rows = feature_rows(5, seed=7)
        r = requests.post(sidecar.url + "/score", json={"features": rows.tolist()}, timeout=5)
        assert r.status_code == 200
        np.testing.assert_allclose(r.json()["scores"], _direct_scores(model, rows), rtol=1e-6)
        assert r.json()["model_version"] == version
        too_many = {"features": [[0.0] * 30] * 1001}
        assert requests.post(sidecar.url + "/score", json=too_many, timeout=5).status_code == 400
        bad = requests.post(sidecar.url + "/score", json={"features": [[1.0] * 29]}, timeout=5)
        assert bad.status_code == 400 and "30 numbers" in bad.json()["error"]
        metrics = requests.get(sidecar.url + "/metrics", timeout=5).text
        assert f'fraud_sidecar_model_info{{role="champion",version="{version}"}} 1' in metrics
        assert "fraud_sidecar_inference_seconds_bucket" in metrics
    finally:
        assert sidecar.stop() == 0


def _big_records_test(stack, topics, tmp_path, sizes, dlq_config=None):
    """Good records around records of the given sizes; returns (scored, dead, sidecar log,
    metrics) once the good ones are all scored."""
    if dlq_config:  # a dead-letter topic of its own, with the given topic settings
        topics = (topics[0], topics[1], topics[2] + ".limited")
        create_topics(stack.bootstrap_servers, [topics[2]], partitions=1, config=dlq_config)
    model = tmp_path / "model.onnx"
    make_model(model)
    big_producer = kafka_producer(stack.bootstrap_servers, {"message.max.bytes": 1_048_576})
    rows = feature_rows(40, seed=5)
    good_keys = set()
    originals = {}
    for i, row in enumerate(rows):
        key, value = feature_record(i, row)
        big_producer.produce(topics[0], key=key, value=value, partition=0)
        good_keys.add(key)
        if i in (10, 20, 30) and sizes:
            size = sizes.pop(0)
            big_key = f"big-{size}".encode()
            originals[big_key] = os.urandom(size)  # incompressible: lz4 cannot shrink it
            big_producer.produce(topics[0], key=big_key, value=originals[big_key],
                                 partition=0)
    assert big_producer.flush(30) == 0
    sidecar = _sidecar(stack, model, topics, tmp_path).start()
    try:
        sidecar.wait_ready()
        scored = consume_messages(stack.bootstrap_servers, topics[1], len(good_keys),
                                  timeout=60, idle_after=2.0)
        dead = consume_messages(stack.bootstrap_servers, topics[2], 0, timeout=10,
                                idle_after=3.0)
        deadline = time.monotonic() + 15  # a refused delivery is reported a moment later
        while True:
            metrics = {name: sidecar.metric(name) for name in (
                "dead_lettered_total", "dead_letter_failures_total")}
            if metrics["dead_letter_failures_total"] or dlq_config is None or (
                    time.monotonic() > deadline):
                break
            time.sleep(0.5)
        assert sidecar.proc.poll() is None, "an oversized record must never stop the sidecar"
    finally:
        sidecar.stop()
    assert {m.key() for m in scored} == good_keys
    return dead, metrics, originals


def test_records_near_kafkas_size_limits_are_dead_lettered_as_a_prefix(stack, topics,
                                                                        tmp_path):
    """999,000 bytes: under the producer's default limit; 1,040,000: over it (1,000,000) and
    under the broker's (1,048,588). Copied whole, either crashed the sidecar's producer."""
    from udf_server.codec import DEFAULT_DLQ_MAX_VALUE_BYTES

    dead, metrics, originals = _big_records_test(stack, topics, tmp_path,
                                                 [999_000, 1_040_000])
    assert metrics == {"dead_lettered_total": 2, "dead_letter_failures_total": 0}
    by_key = {m.key(): m for m in dead}
    assert set(by_key) == {b"big-999000", b"big-1040000"}
    for size, msg in ((999_000, by_key[b"big-999000"]), (1_040_000, by_key[b"big-1040000"])):
        headers = {k: v.decode() for k, v in msg.headers()}
        assert headers["fraud.error.reason"] == "oversized"
        assert headers["fraud.dlq.truncated"] == "true"
        assert headers["fraud.dlq.original.bytes"] == str(size)
        assert headers["fraud.source.topic"] == topics[0]
        assert msg.value() == originals[msg.key()][:DEFAULT_DLQ_MAX_VALUE_BYTES]


def test_a_dead_letter_is_cut_to_what_its_topic_takes(stack, topics, tmp_path):
    """The dead-letter topic takes at most 20,000 bytes a record: a 100,000-byte record's dead
    letter carries the prefix that fits (a dead letter the brokers refused would abort its
    batch's transaction on every try). Scoring goes on past it."""
    dead, metrics, originals = _big_records_test(stack, topics, tmp_path, [100_000],
                                                 dlq_config={"max.message.bytes": "20000"})
    assert len(dead) == 1
    headers = dict(dead[0].headers())
    assert headers["fraud.dlq.truncated"] == b"true"
    assert headers["fraud.dlq.original.bytes"] == b"100000"
    assert 10_000 < len(dead[0].value()) < 20_000
    assert originals[dead[0].key()].startswith(dead[0].value())
    assert metrics == {"dead_lettered_total": 1, "dead_letter_failures_total": 0}


@pytest.mark.parametrize("exactly_once", [False, True], ids=["at-least-once", "exactly-once"])
def test_its_group_lag_reads_zero_once_a_transactional_input_is_scored(stack, topics,
                                                                        tmp_path, exactly_once):
    """The features query writes in transactions, so a marker follows each partition's last
    record. Once everything is scored the sidecar's group must show nothing behind (committed
    offset = last stable offset, read as a lag monitor reads it), not one record per
    partition for ever."""
    model = tmp_path / "model.onnx"
    make_model(model)
    writer = kafka_producer(stack.bootstrap_servers, {"partitioner": "murmur2_random",
                                                      "transactional.id": f"tx-{topics[0]}"})
    writer.init_transactions(30)
    sent: dict = {}
    for first_id in (1, 1001):  # two transactions, as a query commits them
        writer.begin_transaction()
        sent |= produce_features(writer, topics[0], feature_rows(1000, seed=first_id),
                                 first_id=first_id)
        writer.commit_transaction(30)
    group = f"g-{topics[0]}"
    lag = GroupLag(stack.bootstrap_servers,
                   {"sidecar": (group, [(topics[0], p) for p in range(3)])})
    sidecar = _sidecar(stack, model, topics, tmp_path, exactly_once=exactly_once).start()
    try:
        sidecar.wait_ready()
        out = consume_messages(stack.bootstrap_servers, topics[1], len(sent), timeout=60,
                               isolation="read_committed")
        assert {m.key() for m in out} == set(sent)
        wait_until(lambda: lag() == {"sidecar": 0}, 15, every=0.2,
                   timed_out=lambda: AssertionError(f"still behind: {lag()}"))
    finally:
        assert sidecar.stop() == 0
