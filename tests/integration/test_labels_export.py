"""`fraudctl labels export` reads the labels topic as ksqlDB keys it (BIGINT key, JSON value)
through a real broker, inside committed transactions, into the labels file training joins."""

import pytest

from core.contract import encode_bigint_key
from core.kafka import create_topics
from core.kafka import producer as kafka_producer
from fraudctl.tasks.labels_export import export_labels
from training.labels import load_labels

pytestmark = pytest.mark.kafka


def _label(label, at="2026-01-02T00:00:00Z", source="chargeback"):
    return f'{{"LABEL":"{label}","LABELLED_AT":"{at}","LABEL_SOURCE":"{source}"}}'.encode()


def test_the_latest_committed_label_of_each_payment_is_exported(stack, topic_name, tmp_path):
    create_topics(stack.bootstrap_servers, [topic_name], partitions=3)
    producer = kafka_producer(stack.bootstrap_servers, {"transactional.id": topic_name,
                                                        "partitioner": "murmur2_random"})
    producer.init_transactions(30)
    producer.begin_transaction()
    for payment in range(1, 301):
        producer.produce(topic_name, key=encode_bigint_key(payment),
                         value=_label("1" if payment % 50 == 0 else "0"))
    producer.produce(topic_name, key=encode_bigint_key(7), value=_label("1", source="review"))
    producer.commit_transaction(30)
    producer.begin_transaction()  # an aborted transaction's labels are not labels
    producer.produce(topic_name, key=encode_bigint_key(999), value=_label("1"))
    producer.abort_transaction(30)

    out = tmp_path / "labels.csv"
    assert export_labels(stack.bootstrap_servers, topic_name, out) == (300, 7)
    lines = out.read_text().splitlines()
    assert lines[0] == '1,"0","2026-01-02T00:00:00Z","chargeback"'
    assert '7,"1","2026-01-02T00:00:00Z","review"' in lines, "the later label wins"
    labels = load_labels(out).by_id
    assert len(labels) == 300 and 999 not in labels and labels[50] == 1 and labels[7] == 1
