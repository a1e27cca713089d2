"""The dependency graph from ref(): dangling references, cycles, a stable topological order."""

from __future__ import annotations

from core.errors import TemplateError
from infra.topology.render import ObjectSpec


def check_references(specs: list[ObjectSpec],
                     failed: dict[str, str] | None = None) -> list[TemplateError]:
    """Every ref() names an existing template, and no logical name is defined twice.
    `failed`: logical name -> file of the templates that did not render (their refs are
    named as such, not as missing)."""
    failed = failed or {}
    errors = []
    by_logical: dict[str, ObjectSpec] = {}
    for spec in specs:
        if spec.logical in by_logical:
            errors.append(TemplateError(spec.source, None, f"'{spec.logical}' is also defined "
                                        f"by {by_logical[spec.logical].source}; one object per "
                                        "name"))
        by_logical.setdefault(spec.logical, spec)
    for spec in specs:
        for ref, line in spec.refs.items():
            if ref not in by_logical and ref in failed:
                errors.append(TemplateError(spec.source, line, f"ref('{ref}') names "
                                            f"{failed[ref]}, which failed to render (see its "
                                            "error)"))
            elif ref not in by_logical:
                errors.append(TemplateError(spec.source, line, f"ref('{ref}') names no template "
                                            f"(no ksql/{ref}.sql or connect/{ref}.json)"))
            elif ref == spec.logical:
                errors.append(TemplateError(spec.source, line, "an object cannot ref() itself"))
    return errors


def find_cycle(specs: list[ObjectSpec]) -> list[str] | None:
    """A dependency cycle as a list of logical names (first repeated at the end), or None."""
    graph = {s.logical: sorted(r for r in s.refs if r != s.logical) for s in specs}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def topological_order(specs: list[ObjectSpec]) -> list[ObjectSpec]:
    """Dependencies first; among independent objects, by name (so plans are stable)."""
    by_logical = {s.logical: s for s in specs}
    remaining = {s.logical: {r for r in s.refs if r in by_logical and r != s.logical}
                 for s in specs}
    order = []
    while remaining:
        ready = sorted(k for k, deps in remaining.items() if not deps)
        if not ready:
            raise ValueError(f"dependency cycle among {sorted(remaining)}")
        for name in ready:
            order.append(by_logical[name])
            del remaining[name]
        for deps in remaining.values():
            deps.difference_update(ready)
    return order


def downstream(specs: list[ObjectSpec], logical: str) -> set[str]:
    """Every object that depends on `logical`, directly or not."""
    dependants: dict[str, set[str]] = {}
    for spec in specs:
        for ref in spec.refs:
            dependants.setdefault(ref, set()).add(spec.logical)
    found: set[str] = set()
    todo = [logical]
    while todo:
        for nxt in dependants.get(todo.pop(), ()):
            if nxt not in found:
                found.add(nxt)
                todo.append(nxt)
    return found
