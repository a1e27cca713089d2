"""The registered schemas ksqlDB derives itself: those of the topics its queries write in a
registry format (JSON_SR) where no template declares a schema file (`value_schema()`).

ksqlDB registers such a schema when it creates the query, from the query's output columns,
as Connect's JSON Schema form: an open object, every field nullable (`oneOf` null), its
position in `connect.index`. So the template is the schema's source, and `plan` handles each
subject as follows:

- not registered: `apply` sets the subject's compatibility to FORWARD before ksqlDB creates
  the query (the writer evolves first: what a changed query writes must stay readable by the
  queries and consumers already reading the topic; under the registry's default, BACKWARD,
  with an open content model, not even an added column would be);
- registered, and a query writing it changes while its topic stays: `plan` asks ksqlDB for the
  new statement's output columns (EXPLAIN, which changes nothing), builds the schema ksqlDB
  would register, and asks the registry whether it may follow the subject's latest version.
  An incompatible change is blocked before anything is applied, naming the registry's
  finding and the objects that read the topic;
- otherwise: unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from core.errors import ServerError
from core.records import subject_of
from infra.schema_registry_client import RegisteredSchema
from infra.topology.kinds import Action
from infra.topology.manifest import Manifest
from infra.topology.schemas import (
    SCHEMA_TYPE,
    breaking_messages,
    canonical,
    registered_topics,
    same_schema,
)

#: the subject-level rule apply sets on a subject ksqlDB derives
DERIVED_COMPATIBILITY = "FORWARD"

#: ksqlDB's SQL types -> the JSON Schema Connect writes for them
_PRIMITIVES = {
    "STRING": {"type": "string"},
    "VARCHAR": {"type": "string"},
    "BOOLEAN": {"type": "boolean"},
    "INTEGER": {"type": "integer", "connect.type": "int32"},
    "INT": {"type": "integer", "connect.type": "int32"},
    "BIGINT": {"type": "integer", "connect.type": "int64"},
    "DOUBLE": {"type": "number", "connect.type": "float64"},
}


@dataclass
class DerivedSchema:
    """One subject ksqlDB registers: its topic and the objects that write or read it."""

    subject: str
    topic: str
    sources: list[str] = field(default_factory=list)  # logical names of the templates over it
    writers: list[str] = field(default_factory=list)  # those of them that are queries
    readers: list[str] = field(default_factory=list)  # server names (who a change breaks)


def derived_schemas(manifest: Manifest, declared: set[str]) -> list[DerivedSchema]:
    """The subjects of the topics the topology writes in a registry format with no declared
    schema file (`declared`: the subjects of those that have one)."""
    found: dict[str, DerivedSchema] = {}
    for spec, topic, readers in registered_topics(manifest):
        subject = subject_of(topic)
        if spec.value_schema is not None or subject in declared:
            continue  # a schema file, or a stream over a topic whose template declares one
        derived = found.setdefault(subject, DerivedSchema(subject, topic))
        derived.sources.append(spec.logical)
        if spec.statement.is_query:
            derived.writers.append(spec.logical)
        derived.readers += [name for name in readers if name not in derived.readers]
    return list(found.values())


def value_columns(description: dict) -> list[tuple[str, dict]]:
    """(name, ksqlDB's schema of it) of the value columns of an EXPLAINed query: its fields
    less the key columns (ksqlDB marks those `"type": "KEY"`)."""
    return [(f["name"], f["schema"]) for f in description.get("fields") or []
            if f.get("type") != "KEY"]


def ksql_json_schema(columns: list[tuple[str, dict]]) -> str | None:
    """The JSON Schema ksqlDB registers for these value columns; None where a column's type
    is one this does not translate (the registry then judges at apply, through ksqlDB)."""
    properties = {}
    for index, (name, sql) in enumerate(columns):
        translated = _translate(sql)
        if translated is None:
            return None
        properties[name] = {"connect.index": index, **_nullable(translated)}
    return json.dumps({"type": "object", "properties": properties})


def _nullable(schema: dict) -> dict:
    return {"oneOf": [{"type": "null"}, schema]}


def _translate(sql: dict) -> dict | None:
    kind = str(sql.get("type", "")).upper()
    if kind in _PRIMITIVES:
        return dict(_PRIMITIVES[kind])
    member = sql.get("memberSchema")
    inner = _translate(member) if isinstance(member, dict) else None
    if inner is None:
        return None
    if kind == "ARRAY":
        return {"type": "array", "items": _nullable(inner)}
    if kind == "MAP":  # Connect writes a map as an array of key/value objects
        return {"type": "array", "connect.type": "map", "items": {
            "type": "object", "properties": {
                "key": {"connect.index": 0, **_nullable({"type": "string"})},
                "value": {"connect.index": 1, **_nullable(inner)}}}}
    return None


Explain = Callable[[str], dict]


def judge_derived(derived: DerivedSchema, current: RegisteredSchema | None,
                  rebuilt: dict[str, str], registry, explain: Explain | None,
                  ) -> tuple[Action, str, str]:
    """(action, reason, why it is blocked) for one derived subject; `rebuilt` maps each of
    its writers that the plan creates or replaces over a kept topic to the statement it
    sends."""
    if current is None:
        return (Action.CREATE, f"ksqlDB registers it from {', '.join(derived.sources)}; "
                               f"compatibility {DERIVED_COMPATIBILITY}", "")
    if not rebuilt:
        return Action.UNCHANGED, "", ""
    notes, breaking = [], []
    for logical, statement in rebuilt.items():
        candidate, why_not = _candidate(statement, explain)
        if candidate is None:
            notes.append(f"{logical}'s new schema not checked here ({why_not}); ksqlDB has "
                         "the registry check it at apply")
            continue
        if same_schema(current.schema, canonical(candidate)):
            continue
        verdict = registry.compatibility(derived.subject, candidate, SCHEMA_TYPE)
        if verdict.compatible:
            notes.append(f"{logical} writes a new version, compatible")
        else:
            breaking += breaking_messages(verdict.messages)
    if breaking:
        return (Action.UPDATE, f"{', '.join(rebuilt)} would register a new version", (
            f"ksqlDB would register a schema incompatible with version {current.version} "
            "under the subject's compatibility rule: " + "; ".join(breaking)
            + f". Read by: {', '.join(derived.readers)}"))
    if not notes:
        return Action.UNCHANGED, "", ""
    return Action.UPDATE, "; ".join(notes), ""


def _candidate(statement: str, explain: Explain | None) -> tuple[str | None, str]:
    if explain is None:
        return None, "no ksqlDB to explain it"
    try:
        description = explain(statement)
    except ServerError as exc:
        return None, f"ksqlDB could not explain it yet: {str(exc)[:200]}"
    schema = ksql_json_schema(value_columns(description))
    return schema, "" if schema else "a column type this check does not translate"

