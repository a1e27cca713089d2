"""The repository's real Connect templates on the real Connect worker, fed by `fraudctl replay`.

Copies ksql/ and connect/ into a temporary project whose environment points at the test stack,
applies the connectors, replays synthetic Kaggle rows into the file the source tails (the
continuous-stream case), and checks the raw topic; then alerts written to the alerts topic come
out of the FileStreamSink into its file.
"""

import time
import uuid

import orjson
import pytest
from topology_project import copy_repo_project, run_fraudctl

from core.contract import RAW_COLUMNS
from core.kafka import consume_messages
from core.kafka import producer as kafka_producer
from training.synth import synthesize, write_kaggle_csv

pytestmark = [pytest.mark.kafka, pytest.mark.connect]




def test_real_connectors_with_replay_into_the_tailed_file(stack, connect_url, tmp_path):
    if stack.file_dir_local is None:
        pytest.skip("no directory shared with Connect")
    tag = uuid.uuid4().hex[:6]
    root = tmp_path / "repo"
    source_file = stack.file_dir_local / f"raw-{tag}.csv"
    alerts_file = stack.file_dir_local / f"alerts-{tag}.jsonl"
    labels_file = stack.file_dir_local / f"labels-{tag}.csv"
    spec = copy_repo_project(root, tag, {"connect": {"url": connect_url}, "kafka": {
        "bootstrap_servers": stack.bootstrap_servers}}, files={
        "source": stack.connect_path(source_file), "alerts": stack.connect_path(alerts_file),
        "labels": stack.connect_path(labels_file)})
    topics = spec["vars"]["topics"]

    applied = run_fraudctl(root, "apply", "--only", "connect", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    try:
        data = tmp_path / "kaggle.csv"
        frame = synthesize(300, 0.02, seed=5)
        write_kaggle_csv(frame, data)
        replayed = run_fraudctl(root, "replay", "--data", str(data), "--rate", "0",
                                "--limit", "250", "--to", "file", "--file", str(source_file),
                                "--labels-file", str(labels_file), "--label-delay", "0",
                                "--normal-label-share", "0", "--start-id", "1000")
        assert replayed.returncode == 0, replayed.stderr
        assert "replayed 250 lines" in replayed.stderr
        frauds = [1000 + i for i, label in enumerate(frame["Class"][:250]) if label == 1]
        assert frauds, "the sample has frauds"
        labels = consume_messages(stack.bootstrap_servers, topics["labels_raw"], len(frauds),
                                  timeout=60, idle_after=2.0)
        assert sorted(int(m.value().split(b",")[0]) for m in labels) == frauds
        assert all(m.value().split(b",")[1] == b'"1"' for m in labels)

        raw = consume_messages(stack.bootstrap_servers, topics["raw"], 250, timeout=60,
                               idle_after=2.0)
        assert len(raw) == 250
        first = raw[0].value().decode()
        fields = first.split(",")
        assert len(fields) == len(RAW_COLUMNS) and fields[0] == "1000"
        assert fields[1].startswith('"') and fields[-1] == "", "no label in a payment"
        assert [int(m.value().split(b",")[0]) for m in raw] == list(range(1000, 1250))

        alert = orjson.dumps({"ID": 7, "SCORE": 3.2, "MODEL_VERSION": "abc"})
        producer = kafka_producer(stack.bootstrap_servers)
        producer.produce(topics["alerts"], key=(7).to_bytes(8, "big"), value=alert)
        producer.flush(10)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
                alerts_file.exists() and alerts_file.read_text().strip()):
            time.sleep(0.5)
        assert alerts_file.read_text().strip() == alert.decode()
    finally:
        destroyed = run_fraudctl(root, "destroy", "--only", "connect", "--auto-approve")
        assert destroyed.returncode == 0, destroyed.stderr
