"""A produce/consume round trip through the real broker."""

import pytest

from core.kafka import consume_messages, create_topics
from core.kafka import producer as kafka_producer

pytestmark = pytest.mark.kafka


def test_produce_consume_round_trip(stack, topic_name):
    create_topics(stack.bootstrap_servers, [topic_name], partitions=3)
    producer = kafka_producer(stack.bootstrap_servers, {"acks": "all"})
    sent = {f"key-{i}".encode(): f"value-{i}".encode() for i in range(500)}
    for key, value in sent.items():
        producer.produce(topic_name, key=key, value=value)
    assert producer.flush(30) == 0

    received = consume_messages(stack.bootstrap_servers, topic_name, len(sent), timeout=60,
                                idle_after=1.0)
    assert {m.key(): m.value() for m in received} == sent
    assert len(received) == len(sent)
    assert {m.partition() for m in received} == {0, 1, 2}
