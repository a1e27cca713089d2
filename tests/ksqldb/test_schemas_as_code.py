"""The topics' value schemas as code, on a real Schema Registry and ksqlDB: `apply` registers
each subject the templates declare and ksqlDB those of its queries' topics, so every topic the
topology writes has its subject (but for the plain ones, each for its reason), a re-plan says
nothing changed, a query's changed columns are judged before apply (compatible, or blocked
naming the field), `plan` refuses an
incompatible schema change naming the field and the objects that read the topic, a compatible
one (with its column) is planned as an update, and `destroy --delete-topics` removes the
subjects."""

import json
import uuid

import pytest
import requests
from topology_project import copy_repo_project, run_fraudctl

from infra.ksql_client import KsqlClient
from infra.rest import RestConfig
from infra.schema_registry_client import SchemaRegistryClient
from infra.topology.schemas import canonical

pytestmark = [pytest.mark.ksqldb, pytest.mark.slow]
SCHEMA = "ksql/schemas/scored_record.schema.json"


def _edit_schema(root, change) -> None:
    path = root / SCHEMA
    schema = json.loads(path.read_text())
    change(schema["properties"])
    path.write_text(json.dumps(schema, indent=2))


def _every_topic_has_its_subject(ksql: KsqlClient, registry: SchemaRegistryClient, tag: str,
                                 topics: dict) -> None:
    """Each stream's and table's topic is in the registered format with its subject, but for
    the CSV lines Connect writes, the dead letters (original bytes), the alerts (a file
    sink's input, written out as text) and fraudctl's own state stream."""
    sources = [s for s in ksql.sources() if s["name"].startswith(f"IT{tag.upper()}_")]
    plain = {s["topic"] for s in sources if s["valueFormat"] != "JSON_SR"}
    assert plain == {topics["raw"], topics["labels_raw"], topics["scored"] + ".dlq",
                     topics["alerts"], f"it{tag}_fraudctl_state"}, plain
    registered = {s["topic"] for s in sources} - plain
    assert {topics[t] for t in ("features", "scored", "flagged", "labels", "labelled",
                                "monitor_counts", "accuracy_counts")} < registered
    assert len(registered) == 13, registered  # and the six tables' topics
    subjects = set(registry.subjects())
    assert not {t for t in registered if t + "-value" not in subjects}, subjects
    # the three queries writing the accuracy counts derive one schema
    assert len(registry.version_ids(topics["accuracy_counts"] + "-value")) == 1


def _derived_schema_changes_planned(root, registry_url: str, subject: str, tag: str) -> None:
    """A query whose columns stay: its subject unchanged (the schema plan derives from
    ksqlDB's EXPLAIN is the one ksqlDB registered); a column added: compatible under the
    FORWARD rule apply set, and applied; a column's type changed: blocked, naming it."""
    registry = SchemaRegistryClient(RestConfig(registry_url))
    level = requests.get(f"{registry_url}/config/{subject}", timeout=10).json()
    assert level.get("compatibilityLevel") == "FORWARD", level
    template = root / "ksql/transactions_labels.sql"
    original = template.read_text()
    template.write_text(original.replace("WHERE ID IS NOT NULL",
                                         "WHERE ID IS NOT NULL\n  AND ID >= 0"))
    same = run_fraudctl(root, "plan", "--only", "ksql")
    assert "1 to update" in same.stdout, same.stdout + same.stderr
    assert "schemas: 0 to create, 13 unchanged" in same.stdout, same.stdout

    with_column = original.replace("  SOURCE AS LABEL_SOURCE",
                                   "  SOURCE AS LABEL_SOURCE,\n  LABEL = '1' AS IS_FRAUD")
    template.write_text(with_column)
    added = run_fraudctl(root, "plan", "--only", "ksql")
    assert "schemas: 0 to create, 1 to update, 12 unchanged" in added.stdout, added.stdout
    assert "writes a new version, compatible" in added.stdout
    applied = run_fraudctl(root, "apply", "--only", "ksql", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert len(registry.version_ids(subject)) == 2

    template.write_text(with_column.replace("  LABELLED_AT,",
                                            "  CAST(1.5 AS DOUBLE) AS LABELLED_AT,"))
    changed = run_fraudctl(root, "plan", "--only", "ksql")
    assert "BLOCKED" in changed.stdout, changed.stdout + changed.stderr
    assert "#/properties/LABELLED_AT" in changed.stdout
    assert f"IT{tag.upper()}_TRANSACTIONS_LABELLED" in changed.stdout  # who reads the topic
    refused = run_fraudctl(root, "apply", "--only", "ksql", "--auto-approve", "--allow-recreate")
    assert refused.returncode != 0 and "Nothing was changed" in refused.stderr
    template.write_text(with_column)  # what the server runs


def test_schemas_registered_checked_and_removed(stack, ksqldb_url, tmp_path):
    registry_url = stack.schema_registry_url
    assert registry_url, "the stack runs no Schema Registry (SCHEMA_REGISTRY_URL)"
    tag, root = uuid.uuid4().hex[:6], tmp_path / "repo"
    spec = copy_repo_project(root, tag, {
        "ksqldb": {"url": ksqldb_url}, "kafka": {"bootstrap_servers": stack.bootstrap_servers},
        "schema_registry": {"url": registry_url}}, base_env="compose")
    topics = spec["vars"]["topics"]
    ours = [topics["scored"] + "-value", topics["flagged"] + "-value"]
    registry = SchemaRegistryClient(RestConfig(registry_url))
    try:
        planned = run_fraudctl(root, "plan", "--only", "ksql")
        assert planned.returncode == 2, planned.stderr  # changes pending
        assert "schemas: 13 to create, 0 unchanged" in planned.stdout  # 2 declared, 11 derived
        applied = run_fraudctl(root, "apply", "--only", "ksql", "--auto-approve")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        wanted = canonical((root / SCHEMA).read_text())
        for subject in ours:
            assert canonical(registry.latest(subject).schema) == wanted
        _every_topic_has_its_subject(KsqlClient(RestConfig(ksqldb_url)), registry, tag, topics)
        again = run_fraudctl(root, "plan", "--only", "ksql")
        assert again.returncode == 0, again.stdout + again.stderr
        assert "0 to create, 0 to update, 0 to recreate, 0 to delete" in again.stdout
        assert "schemas: 0 to create, 13 unchanged" in again.stdout
        _derived_schema_changes_planned(root, registry_url, topics["labels"] + "-value", tag)

        # no longer nullable: the template still agrees (validate passes), but records
        # written before could not be read with it
        _edit_schema(root, lambda props: props.update(SHADOW_SCORE={"type": "number"}))
        refused = run_fraudctl(root, "plan", "--only", "ksql")
        assert "BLOCKED" in refused.stdout, refused.stdout + refused.stderr
        assert "#/properties/SHADOW_SCORE" in refused.stdout
        assert f"IT{tag.upper()}_ALERTS" in refused.stdout  # who reads the flagged topic
        blocked = run_fraudctl(root, "apply", "--only", "ksql", "--auto-approve")
        assert blocked.returncode != 0 and "Nothing was changed" in blocked.stderr
        assert canonical(registry.latest(ours[0]).schema) == wanted

        # a new optional field, with its column: compatible (the streams over the topics
        # are planned too)
        _edit_schema(root, lambda props: props.update(
            SHADOW_SCORE={"type": ["number", "null"]}, REVIEWED={"type": ["boolean", "null"]}))
        macro = root / "ksql/macros/scored_columns.sql"
        macro.write_text(macro.read_text().replace("  SCORE DOUBLE,",
                                                   "  SCORE DOUBLE,\n  REVIEWED BOOLEAN,"))
        compatible = run_fraudctl(root, "plan", "--only", "ksql")
        assert "schemas: 0 to create, 2 to update" in compatible.stdout
        assert "compatible" in compatible.stdout, compatible.stdout + compatible.stderr
        assert "BLOCKED" not in compatible.stdout
    finally:
        destroyed = run_fraudctl(root, "destroy", "--only", "ksql", "--auto-approve",
                                 "--delete-topics")
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    assert "delete subject" in destroyed.stdout or "subject" in destroyed.stdout
    left = set(registry.subjects()) & {*ours, topics["features"] + "-value"}
    assert not left, f"subjects left after destroy --delete-topics: {left}"
