"""The topics' value schemas as code, on a real Schema Registry and ksqlDB: `apply` registers
each subject the templates declare, a re-plan says nothing changed, `plan` refuses an
incompatible schema change naming the field and the objects that read the topic, a compatible
one (with its column) is planned as an update, and `destroy --delete-topics` removes the
subjects."""

import json
import uuid

import pytest
from topology_project import copy_repo_project, run_fraudctl

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
        assert "schemas: 2 to create, 0 unchanged" in planned.stdout
        applied = run_fraudctl(root, "apply", "--only", "ksql", "--auto-approve")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        wanted = canonical((root / SCHEMA).read_text())
        for subject in ours:
            assert canonical(registry.latest(subject).schema) == wanted
        # ksqlDB registered the features stream's own (it writes that topic)
        assert registry.latest(topics["features"] + "-value") is not None
        again = run_fraudctl(root, "plan", "--only", "ksql")
        assert again.returncode == 0, again.stdout + again.stderr
        assert "0 to create, 0 to update, 0 to recreate, 0 to delete" in again.stdout
        assert "schemas: 0 to create, 2 unchanged" in again.stdout

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
