"""The topics' registered value schemas as part of the topology: which subjects the templates
declare (`value_schema()` in a ksql/ template whose VALUE_FORMAT is JSON_SR), what the registry
holds, and what `plan` does about each: register, change (checked against the registry's
compatibility rule first: an incompatible change is blocked, naming the fields and the objects
that read the topic), or nothing.

Subjects follow Schema Registry's default naming: `<topic>-value`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.records import subject_of
from infra.schema_registry_client import RegisteredSchema, SchemaRegistryClient
from infra.topology.kinds import Action, ObjectKind
from infra.topology.manifest import Manifest
from infra.topology.render import ObjectSpec

SCHEMA_TYPE = "JSON"  # JSON Schema: the registry's name for what ksqlDB calls JSON_SR
REGISTRY_FORMATS = frozenset({"JSON_SR"})


@dataclass
class SchemaSpec:
    """One subject the topology registers."""

    subject: str
    file: Path  # relative to the project
    schema: str  # the file's JSON, canonical (sorted keys, no spaces)
    topic: str
    #: the ksqlDB objects that declare or read the topic (who a breaking change breaks)
    readers: list[str] = field(default_factory=list)


#: the JSON Schema type each ksqlDB column type is read from
JSON_TYPES = {"VARCHAR": "string", "STRING": "string", "DOUBLE": "number", "BIGINT": "integer",
              "INT": "integer", "INTEGER": "integer", "BOOLEAN": "boolean"}


def column_problems(columns: list[str], schema: dict) -> list[str]:
    """Where a template's value columns and its declared schema disagree: a column the schema
    lacks (its closed model refuses it), a field without a column, a type that differs."""
    declared = {}
    for column in columns:
        name, _, rest = column.partition(" ")
        if not rest.endswith(" KEY"):
            declared[name.strip("`")] = rest.strip()
    fields = schema.get("properties") or {}
    found = [f"column {name} is not a field of the schema" for name in declared
             if name not in fields]
    found += [f"field {name} of the schema has no column" for name in fields
              if name not in declared]
    for name, sql_type in declared.items():
        wanted, allowed = JSON_TYPES.get(sql_type.upper()), (fields.get(name) or {}).get("type")
        allowed = set(allowed if isinstance(allowed, list) else [allowed]) - {"null"}
        if name in fields and wanted and allowed and wanted not in allowed and not (
                wanted == "integer" and "number" in allowed):
            found.append(f"column {name} is {sql_type}, the schema's field is "
                         f"{'/'.join(sorted(allowed))}")
    return found


def canonical(text: str) -> str:
    """A schema's JSON in one form (key order and spacing do not make a new version)."""
    return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


def registered_topics(manifest: Manifest) -> Iterator[tuple[ObjectSpec, str, list[str]]]:
    """(template, topic, who reads it) of each ksqlDB object whose topic's values are in a
    registry format; the readers are the object and every object downstream of it."""
    for spec in manifest.of_kind(ObjectKind.KSQL):
        statement = spec.statement
        if statement is None or statement.properties.get("VALUE_FORMAT", "").strip(
                "'").upper() not in REGISTRY_FORMATS:
            continue
        topic = statement.properties.get("KAFKA_TOPIC", "").strip("'") or statement.name
        yield spec, topic, [spec.name, *(s.name for s in manifest.downstream(spec.logical))]


def desired_schemas(project: Path, manifest: Manifest) -> list[SchemaSpec]:
    """The subjects of the topics whose templates declare a value schema and write it in a
    registry format; one per topic (the templates over one topic must name the same file)."""
    found: dict[str, SchemaSpec] = {}
    for spec, topic, readers in registered_topics(manifest):
        if spec.value_schema is None:
            continue
        subject = subject_of(topic)
        if subject in found:
            found[subject].readers += [r for r in readers if r not in found[subject].readers]
            continue
        text = (project / spec.value_schema).read_text()
        found[subject] = SchemaSpec(subject, spec.value_schema, canonical(text), topic, readers)
    return list(found.values())


def read_registered(client: SchemaRegistryClient | None,
                    subjects: list[str]) -> dict[str, RegisteredSchema | None] | None:
    """The latest version of each subject (None: not registered); None without a registry."""
    if client is None:
        return None
    return {subject: client.latest(subject) for subject in subjects}


def judge(spec: SchemaSpec, current: RegisteredSchema | None,
          client: SchemaRegistryClient | None) -> tuple[Action, str, str]:
    """(action, reason, why it is blocked) for one subject: create where it is not registered,
    unchanged where its latest version is the file's schema, else update, blocked where the
    registry finds the file incompatible with that version."""
    if current is None:
        return Action.CREATE, f"from {spec.file}", ""
    if same_schema(current.schema, spec.schema):
        return Action.UNCHANGED, "", ""
    reason = f"{spec.file} differs from version {current.version} (id {current.id})"
    if current.schema_type != SCHEMA_TYPE:
        return Action.UPDATE, reason, (f"the subject holds a {current.schema_type} schema, "
                                       f"{spec.file} is a JSON Schema: a subject keeps one type")
    verdict = client.compatibility(spec.subject, spec.schema, SCHEMA_TYPE) if client else None
    if verdict is not None and not verdict.compatible:
        return Action.UPDATE, reason, (
            f"{spec.file} is incompatible with version {current.version} under the subject's "
            "compatibility rule: " + "; ".join(breaking_messages(verdict.messages))
            + f". Read by: {', '.join(spec.readers)}")
    return Action.UPDATE, reason + ", compatible", ""


def breaking_messages(messages: tuple[str, ...]) -> list[str]:
    """The registry's messages that name a breaking change (it adds the old schema and its
    settings, which the plan does not repeat)."""
    return [m for m in messages if "errorType" in m] or list(messages)


def same_schema(registered: str, wanted: str) -> bool:
    """Whether a registered schema is `wanted` (in canonical form), whatever its spacing and
    key order."""
    try:
        return canonical(registered) == wanted
    except ValueError:
        return False
