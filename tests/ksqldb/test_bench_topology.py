"""The end-to-end bench builds and removes its objects with the topology engine, on a real
ksqlDB: what apply records and runs (the state stream, each query's settings, the bench's
`--set` overrides over a template's own) is what the bench gets, and its destroy leaves
nothing behind."""

import uuid

import pytest
from topology_project import copy_repo_project

from core.kafka import admin
from core.waiting import wait_until
from fraudctl.tasks.bench_e2e import (
    FEATURE_OBJECTS,
    BenchTopology,
    E2EConfig,
    PacedProducer,
    raw_payload,
    synthetic_file,
)
from fraudctl.tasks.query_lag import GroupLag, topic_partitions
from infra.ksql_client import KsqlClient
from infra.rest import RestConfig
from infra.topology.environment import load_environment

pytestmark = pytest.mark.ksqldb


def _project(stack, ksqldb_url, tmp_path):
    """A copy of the repository's project on the test servers, and its environment."""
    root = tmp_path / "repo"
    copy_repo_project(root, uuid.uuid4().hex[:6],
                      {"ksqldb": {"url": ksqldb_url},
                       "kafka": {"bootstrap_servers": stack.bootstrap_servers}},
                      base_env="compose")
    return root, load_environment(root, "it",
                                  environ={"FRAUD_USER_KEY_SALT": "salt-for-the-bench"},
                                  discover_local=False)


def test_the_bench_applies_its_stages_and_destroys_them_with_the_engine(stack, ksqldb_url,
                                                                        tmp_path):
    root, env = _project(stack, ksqldb_url, tmp_path)
    topology = BenchTopology(root, env, E2EConfig(
        overrides={"ksql.streams.commit.interval.ms": "250"}))
    prefix = topology.env.ksql_prefix
    assert prefix.startswith("FRAUD_BENCH") and prefix != env.ksql_prefix
    assert all(t.endswith(f".bench{topology.tag}") for t in topology.topics.values())
    client = KsqlClient(RestConfig(ksqldb_url))
    try:
        topology.create(FEATURE_OBJECTS)
        names = {s["name"] for s in client.sources()}
        features = f"{prefix}TRANSACTIONS_FEATURES"
        assert {f"{prefix}TRANSACTIONS_RAW", features, f"{prefix}FRAUDCTL_STATE"} <= names
        query = next(q for q in client.queries() if features in q["sinks"])
        settings = client.query_properties(query["id"])
        # the template's own 100 ms, overridden by the bench's --set; the guarantee kept
        assert settings["ksql.streams.commit.interval.ms"] == "250"
        assert settings["ksql.streams.processing.guarantee"] == "exactly_once_v2"
        # what the engine applied, the engine plans as unchanged
        stage = topology.engine.subset(topology.created)
        assert stage.plan().plan.pending == []
        assert topology.rest()[0] not in topology.created and len(topology.rest()) == 18
    finally:
        topology.drop()
    left = [s["name"] for s in client.sources() if s["name"].startswith(prefix)]
    assert left == [], f"the bench left {left}"


def test_the_bench_reads_a_querys_lag_from_kafka_as_ksqldb_reports_it(stack, ksqldb_url,
                                                                       tmp_path):
    """`GroupLag` (the bench's lag: the query's consumer group against the last stable offsets
    of what it reads) counts exactly the raw lines a paused features query has not read, as
    ksqlDB's DESCRIBE EXTENDED does; before the query has committed anything, the group and
    partitions the bench derives are the ones ksqlDB describes later."""
    root, env = _project(stack, ksqldb_url, tmp_path)
    topology = BenchTopology(root, env, E2EConfig())
    client = KsqlClient(RestConfig(ksqldb_url))
    lines = raw_payload(synthetic_file(500, tmp_path), 500)
    kafka, raw = topology.env.kafka("replayer"), topology.topics["raw"]
    metadata, load = admin(kafka), PacedProducer(kafka, raw)
    features = "transactions_features"

    def groups():
        return topology.groups(lambda topic: topic_partitions(metadata, topic))

    def caught_up(lag):
        wait_until(lambda: lag() == {features: 0}, 60,
                   timed_out=lambda: AssertionError(f"never caught up: {lag()}"))

    try:
        topology.create(FEATURE_OBJECTS)
        query = next(q for q in client.queries()
                     if f"{topology.env.ksql_prefix}TRANSACTIONS_FEATURES" in q["sinks"])
        client.execute(f"PAUSE {query['id']};")
        derived = groups()  # nothing committed yet: from the query's id and its source
        assert derived[features][1] == [(raw, p) for p in range(3)]
        lag = GroupLag(kafka, derived)
        load.run(lines[:200], rate=0)
        assert lag() == {features: 200}
        client.execute(f"RESUME {query['id']};")
        caught_up(lag)  # the derived group is the one the query commits in
        assert groups() == derived  # now as ksqlDB describes it
        client.execute(f"PAUSE {query['id']};")
        load.run(lines[200:], rate=0)
        assert lag() == {features: 300}
        assert topology.lag([features]) == 300
        client.execute(f"RESUME {query['id']};")
        caught_up(lag)
    finally:
        topology.drop()
