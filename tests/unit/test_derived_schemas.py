"""The subjects ksqlDB derives from the queries that write registered topics: which they are,
the schema plan predicts from a query's EXPLAINed columns, and what plan does with each. The
real registry and ksqlDB judge them in tests/ksqldb/test_schemas_as_code.py."""

import json
from pathlib import Path

from topology_project import copy_repo_project

from infra.schema_registry_client import RegisteredSchema
from infra.topology.derived_schemas import (
    derived_schemas,
    judge_derived,
    ksql_json_schema,
    value_columns,
)
from infra.topology.environment import load_environment
from infra.topology.kinds import Action
from infra.topology.schemas import desired_schemas
from infra.topology.validate import validate_offline

#: what ksqlDB 7.9.0 registered for the features query's topic (read from a real registry)
FEATURES_REGISTERED = {"type": "object", "properties": {
    "USER_KEY": {"connect.index": 0, "oneOf": [{"type": "null"}, {"type": "string"}]},
    "USER_MASKED": {"connect.index": 1, "oneOf": [{"type": "null"}, {"type": "string"}]},
    "TS": {"connect.index": 2, "oneOf": [{"type": "null"}, {"type": "string"}]},
    "AMOUNT": {"connect.index": 3, "oneOf": [{"type": "null"},
                                             {"type": "number", "connect.type": "float64"}]},
    "FEATURES": {"connect.index": 4, "oneOf": [{"type": "null"}, {"type": "array", "items": {
        "oneOf": [{"type": "null"}, {"type": "number", "connect.type": "float64"}]}}]}}}


def _field(name: str, kind: str, member: dict | None = None, key: bool = False) -> dict:
    """A field as ksqlDB 7.9's EXPLAIN lists it (a key column marked `"type": "KEY"`)."""
    found = {"name": name, "schema": {"type": kind, "fields": None, "memberSchema": member}}
    return {**found, "type": "KEY"} if key else found


def test_the_schema_predicted_from_explain_is_the_one_ksqldb_registers():
    double = {"type": "DOUBLE", "fields": None, "memberSchema": None}
    description = {
        "fields": [_field("ID", "BIGINT", key=True), _field("USER_KEY", "STRING"),
                   _field("USER_MASKED", "STRING"), _field("TS", "STRING"),
                   _field("AMOUNT", "DOUBLE"), _field("FEATURES", "ARRAY", double)],
        "executionPlan": " > [ SINK ] | Schema: ID BIGINT KEY, USER_KEY STRING, USER_MASKED "
                         "STRING, TS STRING, AMOUNT DOUBLE, FEATURES ARRAY<DOUBLE> | Logger: "
                         "CSAS_X.X\n\t\t > [ PROJECT ] | Schema: ID BIGINT KEY, ..."}
    columns = value_columns(description)
    assert [name for name, _ in columns] == ["USER_KEY", "USER_MASKED", "TS", "AMOUNT",
                                             "FEATURES"]
    assert json.loads(ksql_json_schema(columns)) == FEATURES_REGISTERED


def test_a_map_and_an_unknown_type():
    bigint = {"type": "BIGINT", "fields": None, "memberSchema": None}
    schema = json.loads(ksql_json_schema([("BUCKETS", {"type": "MAP", "memberSchema": bigint})]))
    buckets = schema["properties"]["BUCKETS"]["oneOf"][1]
    assert buckets["connect.type"] == "map" and buckets["type"] == "array"
    assert buckets["items"]["properties"]["value"]["oneOf"][1]["connect.type"] == "int64"
    assert ksql_json_schema([("AT", {"type": "TIMESTAMP"})]) is None  # not predicted


def _derived(tmp_path: Path):
    root = tmp_path / "repo"
    copy_repo_project(root, "t1", {"schema_registry": {"url": "http://127.0.0.1:1"}},
                      base_env="compose")
    env = load_environment(root, "it", environ={"FRAUD_USER_KEY_SALT": "pepper-77"},
                           discover_local=False)
    manifest, errors = validate_offline(root, env)
    assert errors == []
    declared = {s.subject for s in desired_schemas(root, manifest)}
    return declared, {d.subject: d for d in derived_schemas(manifest, declared)}


def test_every_registered_topic_without_a_schema_file_is_derived(tmp_path):
    declared, derived = _derived(tmp_path)
    assert declared == {"transactions.scored.t1-value", "transactions.flagged.t1-value"}
    assert {"transactions.features.t1-value", "transactions.labels.t1-value",
            "transactions.labelled.t1-value", "monitor.counts.t1-value",
            "ITT1_MONITOR_ALERT_RATE-value", "ITT1_USER_ALERT_ESCALATION-value"} <= set(derived)
    assert len(derived) == 11
    assert derived["monitor.counts.t1-value"].sources == ["monitor_counts"]  # the sidecar's
    assert derived["monitor.counts.t1-value"].writers == []
    accuracy = derived["monitor.accuracy_counts.t1-value"]
    assert accuracy.writers == ["monitor_accuracy_counts", "monitor_counts_from_labels",
                                "monitor_counts_from_shadow_labels"]
    assert not any("alerts" in s or "dlq" in s or "raw" in s for s in derived)  # kept plain


def test_plan_creates_a_missing_subject_and_leaves_an_untouched_one(tmp_path):
    _declared, derived = _derived(tmp_path)
    labels = derived["transactions.labels.t1-value"]
    action, reason, blocked = judge_derived(labels, None, {}, None, None)
    assert action == Action.CREATE and "FORWARD" in reason and not blocked
    current = RegisteredSchema(labels.subject, 1, 7, "JSON", "{}")
    assert judge_derived(labels, current, {}, None, None)[0] == Action.UNCHANGED
    action, reason, blocked = judge_derived(labels, current, {"transactions_labels": "..."},
                                            None, None)
    assert action == Action.UPDATE and "not checked here" in reason and not blocked
