"""The ksqlDB server settings the pipeline's throughput relies on (docs/BENCHMARKS.md,
"Batched fetches", "ksqlDB's own JSON reader" and "The last hops every 250 ms, and fewer,
larger produce requests"), read back from the real server the tests started
(`SHOW PROPERTIES`): the stack writes them where ksqlDB reads them, under names it accepts."""

import uuid

import pytest

from core.kafka import producer as kafka_producer
from infra.ksql_client import KsqlClient, ServerError, push_rows
from infra.local.stack import QUERY_SERVER_SETTINGS
from infra.rest import RestConfig

pytestmark = pytest.mark.ksqldb


@pytest.fixture()
def started_ksqldb(stack, ksqldb_url) -> KsqlClient:
    """A client of the ksqlDB the tests started: one given by KSQLDB_URL keeps its own settings."""
    if stack.source == "environment":
        pytest.skip("a server the tests did not start (KSQLDB_URL) keeps its own settings")
    return KsqlClient(RestConfig(ksqldb_url))


def test_queries_batch_fetches_and_produces_and_read_json_sr_with_ksqldbs_reader(started_ksqldb):
    answer = started_ksqldb.execute("SHOW PROPERTIES;")
    server = {p["name"]: p["value"] for p in answer[0]["properties"] if p["level"] == "SERVER"}
    # the figures docs/BENCHMARKS.md measured, spelled out: an emptied constant fails here too
    assert QUERY_SERVER_SETTINGS == {"ksql.streams.consumer.fetch.min.bytes": "65536",
                                     "ksql.streams.consumer.fetch.max.wait.ms": "50",
                                     "ksql.json_sr.converter.deserializer.enabled": "false",
                                     "ksql.streams.producer.batch.size": "262144"}
    assert {key: server.get(key) for key in QUERY_SERVER_SETTINGS} == QUERY_SERVER_SETTINGS


def test_json_sr_is_read_by_column_names_without_a_registry_lookup(started_ksqldb, stack,
                                                                   topic_name):
    """What the reader setting changes, seen on the real server: ksqlDB's own JSON reader skips
    the framing's schema id and reads the columns by name, so a record framed with an id the
    registry never issued is read; with Schema Registry's converter (the setting at true, here
    for one query), which looks the id up, the same query reads nothing."""
    client = started_ksqldb
    stream = f"READER_{uuid.uuid4().hex[:8].upper()}"
    client.execute(f"CREATE STREAM {stream} (ID BIGINT KEY, AMOUNT DOUBLE) WITH (KAFKA_TOPIC="
                   f"'{topic_name}', KEY_FORMAT='KAFKA', VALUE_FORMAT='JSON_SR', PARTITIONS=1);")
    try:
        producer = kafka_producer(stack.bootstrap_servers)
        unknown_id = (2**31 - 1).to_bytes(4, "big")
        producer.produce(topic_name, key=(7).to_bytes(8, "big"),
                         value=b"\x00" + unknown_id + b'{"AMOUNT": 12.5}')
        assert producer.flush(30) == 0
        select = f"SELECT ID, AMOUNT FROM {stream} EMIT CHANGES"
        assert push_rows(client, select, limit=1) == [{"ID": 7, "AMOUNT": 12.5}]
        with pytest.raises(ServerError, match="0 of 1 row"):
            push_rows(client, select, limit=1, timeout=15,
                      properties={"ksql.json_sr.converter.deserializer.enabled": "true"})
    finally:
        client.execute(f"DROP STREAM IF EXISTS {stream} DELETE TOPIC;")
