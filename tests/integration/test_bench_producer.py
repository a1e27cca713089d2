"""The end-to-end bench's load on a real broker: every payment it sends has an ID of its own,
laps over the generated rows included (a repeated ID would match its label once per copy in
the label join, multiplying the label path's work)."""

import uuid

import pytest

from core.kafka import consume_messages, create_topics
from fraudctl.tasks.bench_e2e import PacedProducer, raw_payload, synthetic_file, without_ids

pytestmark = pytest.mark.kafka


def test_the_load_gives_each_payment_a_new_id_lap_after_lap(stack, tmp_path):
    topic = f"raw.{uuid.uuid4().hex[:8]}"
    create_topics(stack.bootstrap_servers, [topic], partitions=1)
    lines = raw_payload(synthetic_file(10, tmp_path), 10)
    sent = PacedProducer(stack.bootstrap_servers, topic).run(
        without_ids(lines), rate=0, limit=25, first_id=11)
    out = [m.value() for m in consume_messages(stack.bootstrap_servers, topic, 25, timeout=30)]
    assert sent == 25 and len(out) == 25
    assert [int(v.split(b",", 1)[0]) for v in out] == list(range(11, 36))
    # the rest of each line is the generated row's, in turn
    assert [v.split(b",", 1)[1] for v in out] == [lines[i % 10].split(b",", 1)[1]
                                                   for i in range(25)]
