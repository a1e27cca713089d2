"""The ksqlDB client against response bodies from the ksqlDB REST documentation.

The real server runs in tests/ksqldb/ (the local stack's ksqlDB in CI). These tests replay
documented bodies from a local HTTP server for what a healthy single server rarely shows:
commands still QUEUED when /ksql answers, and a server that does not answer in time.

Sources (ksqlDB docs, "ksql endpoint" page of the REST API reference, and the REST entity
classes SourceDescription / RunningQuery in the ksqlDB repository):
- CREATE response: array of {statementText, commandId, commandStatus{status,message},
  commandSequenceNumber} ("Example response" for POST /ksql).
- Errors: HTTP 4xx with error_code (40001 BAD_STATEMENT), message, statementText, entities.
- LIST ... EXTENDED: sourceDescriptions[] with name, type, statement, topic, readQueries and
  writeQueries (RunningQuery: queryString, sinks, id, state).
"""

import itertools
import time

import pytest
from http_stub import StubServer

from infra.ksql_client import KsqlClient, KsqlStatementError
from infra.rest import RestConfig
from infra.topology.plan import LiveState

CREATED = {"statementText": "CREATE STREAM pageviews_home AS SELECT * FROM pageviews_original "
                            "WHERE pageid='home';",
           "commandId": "stream/PAGEVIEWS_HOME/create",
           "commandStatus": {"status": "SUCCESS", "message": "Stream created and running"},
           "commandSequenceNumber": 10, "warnings": []}
BAD_STATEMENT = {"@type": "statement_error", "error_code": 40001,
                 "message": "line 1:8: mismatched input 'STREEM' expecting {'STREAM', 'TABLE'}",
                 "statementText": "CREATE STREEM X;", "entities": []}
QUERY = {"queryString": "CREATE STREAM FRAUD_ALERTS AS SELECT ...", "sinks": ["FRAUD_ALERTS"],
         "sinkKafkaTopics": ["transactions.alerts"], "id": "CSAS_FRAUD_ALERTS_3",
         "statusCount": {"RUNNING": 1}, "queryType": "PERSISTENT", "state": "RUNNING"}
SOURCES = {"@type": "source_descriptions", "statementText": "LIST STREAMS EXTENDED;",
           "warnings": [], "sourceDescriptions": [
               {"name": "FRAUD_TRANSACTIONS_SCORED", "type": "STREAM",
                "topic": "transactions.scored",
                "statement": "CREATE STREAM FRAUD_TRANSACTIONS_SCORED (ID BIGINT KEY) WITH "
                             "(KAFKA_TOPIC='transactions.scored', VALUE_FORMAT='JSON');",
                "readQueries": [QUERY], "writeQueries": [], "fields": [], "keyFormat": "KAFKA",
                "valueFormat": "JSON", "partitions": 3, "replication": 1},
               {"name": "FRAUD_ALERTS", "type": "STREAM", "topic": "transactions.alerts",
                "statement": QUERY["queryString"], "readQueries": [], "writeQueries": [QUERY],
                "fields": [], "keyFormat": "KAFKA", "valueFormat": "JSON", "partitions": 3,
                "replication": 1}]}
NO_TABLES = {"@type": "source_descriptions", "statementText": "LIST TABLES EXTENDED;",
             "warnings": [], "sourceDescriptions": []}


def _answer_as_documented():
    """Answers /ksql with the documented bodies; CREATE results count up from sequence 11."""
    sequence = itertools.count(11)

    def answer(method, path, body):
        statement = body["ksql"]
        if statement.startswith("LIST STREAMS"):
            return 200, [SOURCES]
        if statement.startswith("LIST TABLES"):
            return 200, [NO_TABLES]
        if "STREEM" in statement:
            return 400, BAD_STATEMENT
        return 200, [dict(CREATED, commandSequenceNumber=next(sequence))]

    return answer


@pytest.fixture()
def server():
    stub = StubServer(_answer_as_documented(), content_type="application/vnd.ksql.v1+json")
    yield stub
    stub.close()


def test_statements_are_chained_by_command_sequence_number(server):
    client = KsqlClient(RestConfig(server.url, retries=0))
    client.execute("CREATE STREAM A (X INT) WITH (KAFKA_TOPIC='a', VALUE_FORMAT='JSON');")
    client.execute("CREATE STREAM B AS SELECT * FROM A;")
    first, second = (r["body"] for r in server.requests)
    assert "commandSequenceNumber" not in first
    assert second["commandSequenceNumber"] == 11
    assert server.requests[0]["accept"] == "application/vnd.ksql.v1+json"


def test_statement_error_body_is_parsed(server):
    client = KsqlClient(RestConfig(server.url, retries=0))
    with pytest.raises(KsqlStatementError) as info:
        client.execute("CREATE STREEM X;")
    err = info.value
    assert err.error_code == 40001 and err.status == 400
    assert err.statement == "CREATE STREEM X;"
    assert "mismatched input 'STREEM'" in str(err) and err.entities == []


def test_live_state_reads_statements_and_query_links(server):
    live = LiveState.read(KsqlClient(RestConfig(server.url, retries=0)), None)
    scored, alerts = live.ksql["FRAUD_TRANSACTIONS_SCORED"], live.ksql["FRAUD_ALERTS"]
    assert scored.read_by == ["FRAUD_ALERTS"] and scored.write_queries == []
    assert alerts.write_queries == ["CSAS_FRAUD_ALERTS_3"]
    assert scored.statement.startswith("CREATE STREAM FRAUD_TRANSACTIONS_SCORED")
    assert live.connectors is None


def test_a_queued_command_is_followed_up_until_it_is_executed():
    polls = iter(["QUEUED", "EXECUTING", "SUCCESS"])

    def answer(method, path, body):
        if method == "POST":
            return 200, [dict(CREATED, commandStatus={"status": "QUEUED", "message": ""})]
        return 200, {"status": next(polls), "message": "Stream created and running"}

    stub = StubServer(answer, content_type="application/vnd.ksql.v1+json")
    try:
        KsqlClient(RestConfig(stub.url, retries=0)).execute("CREATE STREAM B AS SELECT 1;")
        assert [r["path"] for r in stub.requests] == [
            "/ksql", "/status/stream/PAGEVIEWS_HOME/create",
            "/status/stream/PAGEVIEWS_HOME/create", "/status/stream/PAGEVIEWS_HOME/create"]
    finally:
        stub.close()


def test_a_queued_command_that_fails_later_is_an_error():
    def answer(method, path, body):
        if method == "POST":
            return 200, [dict(CREATED, commandStatus={"status": "QUEUED", "message": ""})]
        return 200, {"status": "ERROR", "message": "Topic already exists with 3 partitions"}

    stub = StubServer(answer, content_type="application/vnd.ksql.v1+json")
    try:
        with pytest.raises(KsqlStatementError, match="ERROR: Topic already exists"):
            KsqlClient(RestConfig(stub.url, retries=0)).execute("CREATE STREAM B AS SELECT 1;")
    finally:
        stub.close()


def _slow_then_documented(delay: float):
    first = [True]

    def answer(method, path, body):
        if first[0]:
            first[0] = False
            time.sleep(delay)
        return _answer_as_documented()(method, path, body)

    return answer


def test_a_statement_that_changes_things_is_not_sent_again_after_a_read_timeout():
    from infra.rest import UncertainOutcome

    stub = StubServer(_slow_then_documented(1.5), content_type="application/vnd.ksql.v1+json")
    try:
        client = KsqlClient(RestConfig(stub.url, retries=3, backoff=0.01, timeout=0.5))
        with pytest.raises(UncertainOutcome, match=r"may have reached it.*fraudctl plan"):
            client.execute("CREATE STREAM B AS SELECT * FROM A;")
        time.sleep(1.2)  # let the stub finish the slow answer
        assert len(stub.requests) == 1, "a CREATE that may have run must not be sent twice"
    finally:
        stub.close()


def test_a_read_only_statement_is_retried_after_a_read_timeout():
    stub = StubServer(_slow_then_documented(1.5), content_type="application/vnd.ksql.v1+json")
    try:
        client = KsqlClient(RestConfig(stub.url, retries=3, backoff=0.01, timeout=0.5))
        assert client.execute("LIST STREAMS EXTENDED;")[0] == SOURCES
        assert len(stub.requests) >= 2
    finally:
        stub.close()
