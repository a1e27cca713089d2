"""A template that declares its topic's value schema must agree with it, field by field and
type by type: checked offline (`fraudctl validate`), before any server is touched."""

import json
from pathlib import Path

from topology_project import copy_repo_project

from infra.topology.environment import load_environment
from infra.topology.validate import validate_offline

SCHEMA = "ksql/schemas/scored_record.schema.json"


def _problems(root: Path) -> list[str]:
    env = load_environment(root, "it", environ={"FRAUD_USER_KEY_SALT": "pepper-77"},
                           discover_local=False)
    _manifest, errors = validate_offline(root, env)
    return [str(e) for e in errors]


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    copy_repo_project(root, "t1", {"schema_registry": {"url": "http://127.0.0.1:1"}},
                      base_env="compose")
    return root


def test_the_repository_templates_agree_with_their_schemas(tmp_path):
    assert _problems(_project(tmp_path)) == []


def test_a_column_the_schema_lacks_is_named_with_both_files(tmp_path):
    root = _project(tmp_path)
    macro = root / "ksql/macros/scored_columns.sql"
    macro.write_text(macro.read_text().replace("  SCORE DOUBLE,",
                                               "  SCORE DOUBLE,\n  NOTE VARCHAR,"))
    problems = _problems(root)
    assert any("transactions_scored.sql" in p and "column NOTE is not a field" in p
               and SCHEMA in p for p in problems), problems
    assert any("transactions_flagged.sql" in p and "NOTE" in p for p in problems), problems


def test_a_field_without_a_column_and_a_type_that_differs_are_named(tmp_path):
    root = _project(tmp_path)
    path = root / SCHEMA
    schema = json.loads(path.read_text())
    schema["properties"]["REVIEWED"] = {"type": ["boolean", "null"]}
    schema["properties"]["SCORE"] = {"type": "string"}
    path.write_text(json.dumps(schema))
    problems = _problems(root)
    assert any("field REVIEWED of the schema has no column" in p for p in problems), problems
    assert any("column SCORE is DOUBLE, the schema's field is string" in p
               for p in problems), problems
