"""The rendered topology of one environment as one object: its objects in dependency order,
each carrying its parsed statement, and the graph that answers upstream and downstream (dbt's
manifest). Rendered and checked once (`validate.validate_offline`); plan, apply, the ACLs and
the benchmark all read the same one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

from infra.topology.dag import CycleError, Graph
from infra.topology.kinds import ObjectKind
from infra.topology.render import ObjectSpec


class Manifest(Sequence[ObjectSpec]):
    """The objects in dependency order (a Sequence), by logical name (`get`, `in`)."""

    def __init__(self, specs: Iterable[ObjectSpec], ordered: bool = False) -> None:
        """`ordered`: the specs already are in dependency order (a subset of a manifest,
        whose dependencies may run through objects left out)."""
        self.graph = Graph(specs)
        self.objects: list[ObjectSpec] = list(self.graph.specs)
        if not ordered:
            with contextlib.suppress(CycleError):  # kept as given: validation reports it
                self.objects = self.graph.order()

    @classmethod
    def of(cls, specs: Manifest | Iterable[ObjectSpec]) -> Manifest:
        """`specs` as a Manifest (itself where it already is one)."""
        return specs if isinstance(specs, Manifest) else cls(specs)

    @overload
    def __getitem__(self, index: int) -> ObjectSpec: ...

    @overload
    def __getitem__(self, index: slice) -> list[ObjectSpec]: ...

    def __getitem__(self, index):
        return self.objects[index]

    def __len__(self) -> int:
        return len(self.objects)

    def __iter__(self) -> Iterator[ObjectSpec]:
        return iter(self.objects)

    def __contains__(self, logical: object) -> bool:
        return logical in self.graph.by_logical

    def get(self, logical: str) -> ObjectSpec:
        return self.graph.by_logical[logical]

    def of_kind(self, kind: ObjectKind) -> list[ObjectSpec]:
        return [s for s in self.objects if s.kind == kind]

    def queries(self) -> list[ObjectSpec]:
        """The objects a persistent query writes (the ones that can lag)."""
        return [s for s in self.objects if s.is_query]

    def downstream(self, logical: str) -> list[ObjectSpec]:
        """Every object depending on `logical`, directly or not, in dependency order."""
        found = self.graph.downstream(logical)
        return [s for s in self.objects if s.logical in found]

    def subset(self, logical_names: Iterable[str]) -> Manifest:
        """These objects only (their order kept): a stage of the benchmark."""
        wanted = set(logical_names)
        return Manifest((s for s in self.objects if s.logical in wanted), ordered=True)
