"""The repository's own topology: renders everywhere, has the intended DAG, keeps the contracts."""

import re
from pathlib import Path

import pytest

from core.contract import FEATURE_NAMES, RAW_COLUMNS
from infra.topology import ksql_statement as ks
from infra.topology.environment import available, load_environment
from infra.topology.manifest import Manifest
from infra.topology.validate import validate_offline

REPO = Path(__file__).resolve().parents[2]
SECRETS = {"CONNECT_PASSWORD": "c-pass", "KSQLDB_PASSWORD": "k-pass",
           "SCHEMA_REGISTRY_PASSWORD": "sr-pass", "SCHEMA_REGISTRY_SIDECAR_PASSWORD": "sr-side",
           "FRAUD_USER_KEY_SALT": "pepper-77",
           **{f"KAFKA_{c}_PASSWORD": f"{c.lower()}-secret-1" for c in (
               "OPERATOR", "KSQLDB", "CONNECT", "SIDECAR", "REPLAYER", "MONITOR")}}
INTENDED_EDGES = {
    "transactions_raw": set(),
    "transactions_features": {"transactions_raw"},
    "transactions_scored": {"transactions_features"},
    "transactions_scored_dead_letters": {"transactions_features"},
    "transactions_flagged": {"transactions_features"},
    "alerts": {"transactions_flagged"},
    "labels_raw": set(),
    "transactions_labels": {"labels_raw"},
    "transactions_verdicts": {"transactions_scored"},
    "transactions_labelled": {"transactions_verdicts", "transactions_labels"},
    "monitor_counts": {"transactions_features"},
    "monitor_accuracy_counts": {"monitor_counts"},
    "monitor_counts_from_labels": {"transactions_labelled", "monitor_accuracy_counts"},
    "monitor_counts_from_shadow_labels": {"transactions_labelled", "monitor_accuracy_counts"},
    "monitor_alert_rate": {"monitor_counts"},
    "monitor_score_drift": {"monitor_counts"},
    "monitor_accuracy": {"monitor_accuracy_counts"},
    "monitor_accuracy_totals": {"monitor_accuracy_counts"},
    "monitor_latency": {"monitor_counts"},
    "user_alert_escalation": {"alerts"},
    "transactions_source": {"transactions_raw"},
    "alerts_sink": {"alerts"},
    "labels_source": {"labels_raw"},
}


def _specs(env_name):
    env = load_environment(REPO, env_name, environ=SECRETS, discover_local=False)
    specs, errors = validate_offline(REPO, env)
    assert errors == [], [str(e) for e in errors]
    return env, {s.logical: s for s in specs}


def test_the_documented_environments_exist():
    assert {"local", "local-cluster", "compose", "prod.example"} <= set(available(REPO))


@pytest.mark.parametrize("env_name", ["local", "local-cluster", "compose", "prod.example"])
def test_every_template_renders_for_every_environment(env_name):
    env, specs = _specs(env_name)
    assert set(specs) == set(INTENDED_EDGES)
    for spec in specs.values():
        assert "{{" not in spec.text and "{%" not in spec.text
        if spec.kind == "ksql":
            assert ks.parse(spec.text).name == spec.name.upper()
            assert spec.name.startswith(env.ksql_prefix)
        else:
            assert spec.name.startswith(env.prefix)


def test_the_dag_is_the_intended_one():
    _, specs = _specs("compose")
    assert {k: set(s.refs) for k, s in specs.items()} == INTENDED_EDGES
    order = [s.logical for s in Manifest(specs.values())]
    assert order.index("transactions_raw") < order.index("transactions_features") < order.index(
        "transactions_scored") < order.index("alerts") < order.index("alerts_sink")


def test_raw_stream_reads_the_contract_columns_as_delimited():
    _, specs = _specs("compose")
    raw = ks.parse(specs["transactions_raw"].text)
    names = [c.split()[0].strip("`") for c in raw.columns]
    assert names == list(RAW_COLUMNS)
    assert raw.properties["KAFKA_TOPIC"] == "'transactions.raw'"
    assert raw.properties["VALUE_FORMAT"] == "'DELIMITED'"


def test_features_stream_keys_by_id_and_builds_the_contract_array():
    _, specs = _specs("compose")
    features = ks.parse(specs["transactions_features"].text)
    assert features.properties["KAFKA_TOPIC"] == "'transactions.features'"
    assert features.properties["KEY_FORMAT"] == "'KAFKA'"
    assert features.properties["VALUE_FORMAT"] == "'JSON_SR'"
    assert features.tail == "PARTITION BY ID"
    aliases = [item.rsplit(" AS ", 1)[-1] for item in features.select_items]
    assert aliases == ["ID", "USER_KEY", "USER_MASKED", "TS", "AMOUNT", "FEATURES"]
    array = re.search(r"ARRAY\[(.*)\]", features.select_items[-1]).group(1)
    assert [x.strip().strip("`") for x in array.split(",")] == list(FEATURE_NAMES)
    for column in FEATURE_NAMES:
        assert re.search(rf"`?{column}`? IS NOT NULL", features.where), column


def test_scored_stream_matches_what_the_sidecar_writes():
    from core import contract as c

    _, specs = _specs("compose")
    scored = ks.parse(specs["transactions_scored"].text)
    names = [col.split()[0] for col in scored.columns]
    assert names == ["ID", *c.PASS_THROUGH_FIELDS, c.S_SCORE, c.S_THRESHOLD, c.S_IS_ANOMALY,
                     c.S_MODEL_VERSION, c.S_SCORED_AT, c.S_SHADOW_SCORE,
                     c.S_SHADOW_MODEL_VERSION, c.S_SHADOW_THRESHOLD, c.S_SHADOW_IS_ANOMALY]
    assert scored.columns[0] == "ID BIGINT KEY"
    assert scored.properties["KEY_FORMAT"] == "'KAFKA'"
    assert scored.properties["KAFKA_TOPIC"] == "'transactions.scored'"


def test_flagged_stream_reads_scored_records_and_verdicts_read_the_scored_topic():
    _, specs = _specs("compose")
    scored, flagged = (ks.parse(specs[n].text) for n in ("transactions_scored",
                                                         "transactions_flagged"))
    assert flagged.columns == scored.columns
    assert flagged.properties["KAFKA_TOPIC"] == "'transactions.flagged'"
    verdicts = ks.parse(specs["transactions_verdicts"].text)
    assert verdicts.properties["KAFKA_TOPIC"] == scored.properties["KAFKA_TOPIC"]
    assert set(verdicts.columns) < set(scored.columns), "a narrow view of the same records"


def test_counts_streams_have_every_field_their_writers_write():
    import numpy as np
    import orjson

    from core import contract as c
    from udf_server.monitor_counts import Verdicts, count_rows

    _, specs = _specs("compose")
    counts = ks.parse(specs["monitor_counts"].text)
    declared = {col.split()[0] for col in counts.columns}
    rows = count_rows(np.array([1_000, 1_500, 2_100]), 2_200,
                      Verdicts("v1", np.array([0.1, 0.9, 0.2]), np.array([False, True, False])),
                      Verdicts("v2", np.array([0.3, 0.4, 0.5]), np.array([False, False, True])))
    written = set().union(*(orjson.loads(r.value) for r in rows))
    assert written <= declared, written - declared
    assert {c.latency_bucket_column(edge) for edge in c.C_LATENCY_BUCKETS_MS} <= declared
    # the label rows go beside the scored payments' counts, with the same columns (one schema)
    accuracy = ks.parse(specs["monitor_accuracy_counts"].text)
    for name in ("monitor_counts_from_labels", "monitor_counts_from_shadow_labels"):
        labels = ks.parse(specs[name].text)
        assert labels.properties["KAFKA_TOPIC"] == accuracy.properties["KAFKA_TOPIC"]
        assert [i.split()[-1] for i in labels.select_items] == [
            i.split()[-1] for i in accuracy.select_items]


def test_monitoring_tables_are_windowed_per_model_version_with_env_window_sizes():
    _, specs = _specs("prod.example")
    for name in ("monitor_alert_rate", "monitor_score_drift", "monitor_accuracy",
                 "monitor_latency"):
        table = ks.parse(specs[name].text)
        assert table.kind == "TABLE"
        assert "WINDOW TUMBLING(SIZE 5 MINUTES" in table.source_clause, name
        assert table.tail.startswith("GROUP BY MODEL_VERSION"), name
        assert table.properties["PARTITIONS"] == "12" and table.properties["REPLICAS"] == "3"
    accuracy = ks.parse(specs["monitor_accuracy"].text)
    assert ("WINDOW TUMBLING(SIZE 5 MINUTES, RETENTION 31 DAYS, GRACE PERIOD 30 DAYS)"
            in accuracy.source_clause), "late labels still land in their payment's window"
    join = ks.parse(specs["transactions_labelled"].text)
    assert "WITHIN(1 HOUR, 30 DAYS) GRACE PERIOD 1 HOUR" in join.source_clause
    escalation = ks.parse(specs["user_alert_escalation"].text)
    assert "WINDOW HOPPING(SIZE 1 HOUR, ADVANCE BY 5 MINUTES)" in escalation.source_clause
    assert escalation.tail.startswith("GROUP BY USER_KEY"), "one row per user, not per mask"


def test_connectors_use_the_contract_topics():
    _, specs = _specs("compose")
    source, sink = specs["transactions_source"].config, specs["alerts_sink"].config
    assert source["topic"] == "transactions.raw" and source["file"] == "/data/transactions.csv"
    assert sink["topics"] == "transactions.alerts"


@pytest.mark.parametrize("env_name", ["local", "compose", "prod.example"])
def test_every_environment_runs_exactly_once(env_name):
    env, specs = _specs(env_name)
    assert env.exactly_once and env.isolation_level == "read_committed"
    assert env.query_properties["ksql.streams.processing.guarantee"] == "exactly_once_v2"
    for source in ("transactions_source", "labels_source"):
        assert specs[source].config["exactly.once.support"] == "required"
    # the file sink cannot be exactly once, but it must not write aborted alerts either
    assert specs["alerts_sink"].config["consumer.override.isolation.level"] == "read_committed"
    alerts = ks.parse(specs["alerts"].text)
    assert "AS_VALUE(ID) AS PAYMENT_ID" in alerts.normal.upper().replace("`", ""), (
        "each alert line names its payment, so a reader can drop repeats")
    # the alert path commits often (its latency), the aggregations at the environment's pace
    assert specs["alerts"].query_properties == {"ksql.streams.commit.interval.ms": "100"}
    assert specs["transactions_features"].query_properties == {
        "ksql.streams.commit.interval.ms": "100"}
    assert specs["monitor_alert_rate"].query_properties == {}
    # the label path (labels, join, label counts, accuracy tables) and escalation: 250 ms
    for name in ("transactions_labels", "transactions_labelled", "monitor_counts_from_labels",
                 "monitor_counts_from_shadow_labels", "monitor_accuracy", "monitor_accuracy_totals",
                 "user_alert_escalation"):
        assert specs[name].query_properties == {"ksql.streams.commit.interval.ms": "250"}, name


def test_templates_take_their_commit_interval_from_the_one_macro():
    macro = REPO / "ksql" / "macros" / "commit_interval.sql"
    for path in sorted((REPO / "ksql").rglob("*.sql")):
        if path != macro:
            assert "commit.interval.ms" not in path.read_text(), (
                f"{path.relative_to(REPO)}: call commit_interval() from {macro.relative_to(REPO)}")


def test_prod_secrets_are_masked():
    env, _ = _specs("prod.example")
    assert env.ksqldb.basic_auth == ("fraud-deployer", "k-pass")
    assert env.secrets.mask("password k-pass and c-pass") == "password *** and ***"
