"""The broker killed (-9) under load: the exactly-once sidecar recovers by itself, and a
read_committed reader sees every input scored exactly once. With no broker at all, the sidecar
says so (log and /healthz) and still stops within seconds of SIGTERM."""

import signal
import time

import pytest
import requests
from feature_records import feature_rows, produce_features
from model_factory import make_model
from sidecar_harness import SidecarProcess

from core.kafka import consume_messages, create_topics
from core.kafka import producer as kafka_producer
from infra.local import LocalStack, StackConfig
from infra.local.stack import free_port
from udf_server.service import STALL_AFTER

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


@pytest.fixture()
def broker(stack, tmp_path):
    """A broker of this test's own (it is killed)."""
    if stack.local_stack is None:
        pytest.skip(f"needs a broker this test may stop; the session stack is {stack.source}")
    own = LocalStack(StackConfig(run_dir=tmp_path / "broker", kafka_port=free_port(),
                                 controller_port=free_port(), connect_port=free_port()))
    own.up(timeout=120, log=lambda *a: None, connect=False)
    yield own
    own.down(log=lambda *a: None)


def _topics_and_model(broker, tmp_path):
    """The sidecar's three topics on `broker` and a model to score with."""
    bootstrap = broker.endpoints()["bootstrap_servers"]
    topics = ("features", "scored", "dlq")
    create_topics(bootstrap, topics, partitions=3)
    model = tmp_path / "model.onnx"
    make_model(model)
    return bootstrap, topics, model


def test_exactly_once_sidecar_survives_a_broker_kill(broker, tmp_path):
    bootstrap, topics, model = _topics_and_model(broker, tmp_path)
    producer = kafka_producer(bootstrap, {"linger.ms": 5})
    sent = produce_features(producer, topics[0], feature_rows(30_000, seed=11))
    assert producer.flush(30) == 0
    sidecar = SidecarProcess(bootstrap, model, topics, "restart-group", tmp_path,
                             extra=("--batch-size", "500")).start()
    try:
        sidecar.wait_ready()
        while sidecar.metric("scored_total") < 6000:
            time.sleep(0.05)
        assert broker.stop_process("kafka", signal.SIGKILL, log=lambda *a: None)
        time.sleep(3)
        broker.up(timeout=120, log=lambda *a: None, connect=False)
        more = produce_features(producer, topics[0], feature_rows(10_000, seed=12),
                                first_id=30_001)
        assert producer.flush(60) == 0
        out = consume_messages(bootstrap, topics[1], len(sent) + len(more), timeout=180,
                               idle_after=5.0, isolation="read_committed")
        assert sidecar.proc.poll() is None, "the sidecar must recover by itself"
        keys = [m.key() for m in out]
        print(f"\nbroker kill -9: {len(keys)} committed outputs for {len(sent) + len(more)} "
              f"inputs, {len(keys) - len(set(keys))} duplicates, "
              f"{sidecar.metric('transaction_recoveries_total'):.0f} transaction recoveries")
        assert set(keys) == set(sent) | set(more), "records were lost"
        assert len(keys) == len(set(keys)), "records were scored twice"
    finally:
        sidecar.stop()


def test_without_a_broker_the_sidecar_says_so_and_stops_on_sigterm(broker, tmp_path):
    bootstrap, topics, model = _topics_and_model(broker, tmp_path)
    sidecar = SidecarProcess(bootstrap, model, topics, "stall-group", tmp_path).start()
    try:
        sidecar.wait_ready()
        assert requests.get(sidecar.url + "/healthz", timeout=5).json() == {"status": "ok"}
        broker.stop_process("kafka", signal.SIGKILL, log=lambda *a: None)
        deadline = time.monotonic() + STALL_AFTER + 30
        health = None
        while time.monotonic() < deadline:
            answer = requests.get(sidecar.url + "/healthz", timeout=5)
            if answer.status_code == 503:
                health = answer.json()
                break
            time.sleep(1)
        assert health is not None and health["status"] == "stalled", "healthz must say it"
        assert health["reason"] and health["seconds"] >= STALL_AFTER
        assert "no progress for" in sidecar.log_path.read_text()
    except BaseException:
        sidecar.proc.kill()
        raise
    started = time.monotonic()
    code = sidecar.stop(timeout=20)
    print(f"\nno broker: healthz {health}; stopped {time.monotonic() - started:.1f}s after "
          "SIGTERM")
    assert code == 0
    assert time.monotonic() - started < 15
