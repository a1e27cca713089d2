"""The dependency graph from ref(): dangling references, cycles, order, upstream, downstream.

Built once per rendered topology (`Graph(specs)`), like dbt's graph over its manifest: every
question about dependencies is answered from the same adjacency, never re-derived."""

from __future__ import annotations

from collections.abc import Iterable

from core.errors import TemplateError
from infra.topology.render import ObjectSpec


class CycleError(TemplateError):
    """The templates' references form a cycle (`cycle`: logical names, first repeated last)."""

    def __init__(self, spec: ObjectSpec, cycle: list[str]) -> None:
        super().__init__(spec.source, spec.refs.get(cycle[1]),
                         "dependency cycle: " + " -> ".join(cycle))
        self.cycle = cycle


class Graph:
    """Objects by logical name and the edges their ref()s make (references to names that are
    not in the graph are kept for `reference_errors`, and ignored by everything else)."""

    def __init__(self, specs: Iterable[ObjectSpec]) -> None:
        self.specs: list[ObjectSpec] = list(specs)
        self.by_logical: dict[str, ObjectSpec] = {}
        for spec in self.specs:
            self.by_logical.setdefault(spec.logical, spec)
        self.upstream_of: dict[str, set[str]] = {
            s.logical: {r for r in s.refs if r in self.by_logical and r != s.logical}
            for s in self.specs}
        self.downstream_of: dict[str, set[str]] = {name: set() for name in self.by_logical}
        for name, refs in self.upstream_of.items():
            for ref in refs:
                self.downstream_of[ref].add(name)

    def reference_errors(self, failed: dict[str, str] | None = None) -> list[TemplateError]:
        """Every ref() names an existing template, and no logical name is defined twice.
        `failed`: logical name -> file of the templates that did not render (their refs are
        named as such, not as missing)."""
        failed = failed or {}
        errors = []
        first: dict[str, ObjectSpec] = {}
        for spec in self.specs:
            if spec.logical in first:
                errors.append(TemplateError(spec.source, None, f"'{spec.logical}' is also "
                                            f"defined by {first[spec.logical].source}; one "
                                            "object per name"))
            first.setdefault(spec.logical, spec)
        for spec in self.specs:
            for ref, line in spec.refs.items():
                if ref not in self.by_logical and ref in failed:
                    errors.append(TemplateError(spec.source, line, f"ref('{ref}') names "
                                                f"{failed[ref]}, which failed to render (see "
                                                "its error)"))
                elif ref not in self.by_logical:
                    errors.append(TemplateError(spec.source, line, f"ref('{ref}') names no "
                                                f"template (no ksql/{ref}.sql or "
                                                f"connect/{ref}.json)"))
                elif ref == spec.logical:
                    errors.append(TemplateError(spec.source, line,
                                                "an object cannot ref() itself"))
        return errors

    def cycle(self) -> CycleError | None:
        """A dependency cycle, located at its first object's ref(), or None."""
        state: dict[str, int] = {}
        stack: list[str] = []

        def visit(node: str) -> list[str] | None:
            state[node] = 1
            stack.append(node)
            for nxt in sorted(self.upstream_of[node]):
                if state.get(nxt) == 1:
                    return [*stack[stack.index(nxt):], nxt]
                if nxt not in state and (found := visit(nxt)):
                    return found
            stack.pop()
            state[node] = 2
            return None

        for node in sorted(self.upstream_of):
            if node not in state and (found := visit(node)):
                return CycleError(self.by_logical[found[0]], found)
        return None

    def order(self) -> list[ObjectSpec]:
        """Dependencies first; among independent objects, by name (so plans are stable).
        CycleError if there is no such order."""
        remaining = {name: set(refs) for name, refs in self.upstream_of.items()}
        order = []
        while remaining:
            ready = sorted(k for k, deps in remaining.items() if not deps)
            if not ready:
                cycle = self.cycle()
                assert cycle is not None, "Kahn's algorithm stalls only on a cycle"
                raise cycle
            for name in ready:
                order.append(self.by_logical[name])
                del remaining[name]
            for deps in remaining.values():
                deps.difference_update(ready)
        return order

    def downstream(self, logical: str) -> set[str]:
        """Every object that depends on `logical`, directly or not."""
        return self._closure(logical, self.downstream_of)

    def upstream(self, logical: str) -> set[str]:
        """Every object `logical` depends on, directly or not."""
        return self._closure(logical, self.upstream_of)

    @staticmethod
    def _closure(start: str, edges: dict[str, set[str]]) -> set[str]:
        found: set[str] = set()
        todo = [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in found:
                    found.add(nxt)
                    todo.append(nxt)
        return found

