"""`validate`: everything that can be checked without servers, then Connect's own validation."""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import TemplateError
from infra.topology.environment import Environment
from infra.topology.kinds import ObjectKind
from infra.topology.manifest import Manifest
from infra.topology.render import ObjectSpec, render_project
from infra.topology.schemas import column_problems


def validate_offline(project: Path, env: Environment,
                     only: str | None = None) -> tuple[Manifest, list[TemplateError]]:
    """Render and check templates once; returns the topology (every object that rendered, in
    dependency order) and every problem found."""
    specs, errors = render_project(project, env, only)
    all_specs, all_errors = specs, errors
    if only:  # references may cross kinds: check them against everything
        all_specs, all_errors = render_project(project, env)
    failed = {Path(e.file).stem: Path(e.file).as_posix() for e in all_errors}
    errors = errors + _name_errors(specs) + _schema_errors(project, specs)
    everything = Manifest(all_specs)
    errors += [e for e in everything.graph.reference_errors(failed)
               if only is None or any(e.file == s.source for s in specs)]
    cycle = everything.graph.cycle()
    if cycle:
        errors.append(cycle)
    return (everything if not only else Manifest(specs)), errors


def _name_errors(specs: list[ObjectSpec]) -> list[TemplateError]:
    """Each ksqlDB statement declares the name its file gives it, and no name twice."""
    errors = []
    names: dict[str, ObjectSpec] = {}
    for spec in specs:
        statement = spec.statement
        if statement is None:
            continue
        if statement.name != spec.name:
            errors.append(TemplateError(spec.source, None, (
                f"declares {statement.kind} {statement.name}, but its file name makes it "
                f"{spec.name}; write CREATE {statement.kind} {{{{ this }}}}")))
        if statement.name in names:
            errors.append(TemplateError(spec.source, None, f"{statement.name} is also defined "
                                        f"by {names[statement.name].source}"))
        names.setdefault(statement.name, spec)
    return errors


def _schema_errors(project: Path, specs: list[ObjectSpec]) -> list[TemplateError]:
    """A template's value columns against the schema it declares (`value_schema()`): the same
    fields, of matching types; each disagreement names the field and both files."""
    errors = []
    for spec in specs:
        if spec.value_schema is None or spec.statement is None:
            continue
        try:
            schema = json.loads((project / spec.value_schema).read_text())
        except ValueError as exc:
            errors.append(TemplateError(spec.value_schema, None, f"not valid JSON: {exc}"))
            continue
        errors += [TemplateError(spec.source, None, f"{problem} ({spec.value_schema})")
                   for problem in column_problems(spec.statement.columns, schema)]
    return errors


def validate_with_connect(specs: Manifest, client) -> list[TemplateError]:
    """Connect's PUT /connector-plugins/{class}/config/validate, its messages per field."""
    errors = []
    for spec in specs.of_kind(ObjectKind.CONNECT):
        result = client.validate(spec.config["connector.class"], {**spec.config,
                                                                   "name": spec.name})
        for item in result.get("configs", []):
            value = item.get("value", {})
            for message in value.get("errors", []):
                errors.append(TemplateError(spec.source, None,
                                            f"Connect: {value.get('name')}: {message}"))
    return errors
