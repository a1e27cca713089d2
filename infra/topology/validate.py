"""`validate`: everything that can be checked without servers, then Connect's own validation."""

from __future__ import annotations

from pathlib import Path

from core.errors import TemplateError
from infra.topology import ksql_statement
from infra.topology.dag import check_references, find_cycle
from infra.topology.environment import Environment
from infra.topology.render import ObjectSpec, render_project


def validate_offline(project: Path, env: Environment,
                     only: str | None = None) -> tuple[list[ObjectSpec], list[TemplateError]]:
    """Render and check templates; returns the objects and every problem found."""
    specs, errors = render_project(project, env, only)
    all_specs, all_errors = specs, errors
    if only:  # references may cross kinds: check them against everything
        all_specs, all_errors = render_project(project, env)
    failed = {Path(e.file).stem: Path(e.file).as_posix() for e in all_errors}
    names: dict[str, ObjectSpec] = {}
    for spec in specs:
        if spec.kind != "ksql":
            continue
        try:
            statement = ksql_statement.parse(spec.text)
        except ksql_statement.StatementError as exc:
            errors.append(TemplateError(spec.source, None, str(exc)))
            continue
        if statement.name != spec.name:
            errors.append(TemplateError(spec.source, None, (
                f"declares {statement.kind} {statement.name}, but its file name makes it "
                f"{spec.name}; write CREATE {statement.kind} {{{{ this }}}}")))
        if statement.name in names:
            errors.append(TemplateError(spec.source, None, f"{statement.name} is also defined "
                                        f"by {names[statement.name].source}"))
        names.setdefault(statement.name, spec)
    errors += [e for e in check_references(all_specs, failed)
               if only is None or any(e.file == s.source for s in specs)]
    cycle = find_cycle(all_specs)
    if cycle:
        first = next(s for s in all_specs if s.logical == cycle[0])
        errors.append(TemplateError(first.source, first.refs.get(cycle[1]),
                                    "dependency cycle: " + " -> ".join(cycle)))
    return specs, errors


def validate_with_connect(specs: list[ObjectSpec], client) -> list[TemplateError]:
    """Connect's PUT /connector-plugins/{class}/config/validate, its messages per field."""
    errors = []
    for spec in specs:
        if spec.kind != "connect":
            continue
        result = client.validate(spec.config["connector.class"], {**spec.config,
                                                                   "name": spec.name})
        for item in result.get("configs", []):
            value = item.get("value", {})
            for message in value.get("errors", []):
                errors.append(TemplateError(spec.source, None,
                                            f"Connect: {value.get('name')}: {message}"))
    return errors
