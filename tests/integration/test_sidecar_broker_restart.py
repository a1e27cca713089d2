"""Broker stopped and restarted under load: the sidecar recovers by itself and loses nothing."""

import time

import pytest
from confluent_kafka import Producer
from feature_records import feature_rows, produce_features
from model_factory import make_model
from sidecar_harness import SidecarProcess

from core.kafka import consume_messages, create_topics
from infra.local import LocalStack, StackConfig
from infra.local.stack import free_port

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def test_sidecar_survives_a_broker_restart(stack, tmp_path):
    if stack.local_stack is None:
        pytest.skip(f"needs a broker this test may stop; the session stack is {stack.source}")
    broker = LocalStack(StackConfig(run_dir=tmp_path / "broker", kafka_port=free_port(),
                                    controller_port=free_port(), connect_port=free_port()))
    bootstrap = broker.up(timeout=120, log=lambda *a: None, connect=False)["bootstrap_servers"]
    sidecar = None
    try:
        topics = ("features", "scored", "dlq")
        create_topics(bootstrap, topics, partitions=3)
        model = tmp_path / "model.onnx"
        make_model(model)
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
        sent = produce_features(producer, topics[0], feature_rows(30_000, seed=11))
        assert producer.flush(30) == 0
        sidecar = SidecarProcess(bootstrap, model, topics, "restart-group", tmp_path,
                                 extra=("--batch-size", "500")).start()
        sidecar.wait_ready()
        while sidecar.metric("scored_total") < 6000:
            time.sleep(0.05)

        stopped = broker.down(log=lambda *a: None)  # the broker goes away under load
        assert stopped
        time.sleep(3)
        broker.up(timeout=120, log=lambda *a: None, connect=False)
        more = produce_features(producer, topics[0], feature_rows(10_000, seed=12),
                                first_id=30_001)
        assert producer.flush(60) == 0

        out = consume_messages(bootstrap, topics[1], len(sent) + len(more), timeout=180,
                               idle_after=3.0)
        assert sidecar.proc.poll() is None, "the sidecar must recover by itself"
        keys = [m.key() for m in out]
        print(f"\nbroker restart: {len(keys)} outputs for {len(sent) + len(more)} inputs, "
              f"{len(keys) - len(set(keys))} duplicates")
        assert set(keys) == set(sent) | set(more)
    finally:
        if sidecar is not None:
            sidecar.stop()
        broker.down(log=lambda *a: None)
