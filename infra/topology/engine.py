"""The topology engine: one environment's rendered topology, its servers, and plan, apply and
destroy over them. The CLI (`fraudctl plan|apply|destroy`) and the end-to-end benchmark both
run it, so a change to how apply works reaches every user."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError, TemplateError
from infra.connect_client import ConnectClient
from infra.ksql_client import KsqlClient
from infra.schema_registry_client import SchemaRegistryClient
from infra.topology.acls import topology_acls
from infra.topology.apply import build_steps, run_steps
from infra.topology.derived_schemas import DerivedSchema, derived_schemas
from infra.topology.environment import Environment
from infra.topology.kinds import ObjectKind
from infra.topology.manifest import Manifest
from infra.topology.plan import LiveState, Plan, destroy_plan, make_plan
from infra.topology.schemas import SchemaSpec, desired_schemas, read_registered
from infra.topology.state import StateStore
from infra.topology.validate import validate_offline


class ValidationFailed(TemplateError):
    """Validation found problems; the message lists each with its template and line."""

    def __init__(self, message: str) -> None:
        super().__init__(None, None, message)


def load_manifest(project: Path, env: Environment, only: str | None = None) -> Manifest:
    """The environment's topology, rendered and checked; ValidationFailed lists every problem."""
    manifest, errors = validate_offline(project, env, only)
    if errors:
        raise ValidationFailed(env.secrets.mask(
            f"{len(errors)} problem(s) in the templates:\n" + "\n".join(f"  {e}" for e in errors)))
    return manifest


@dataclass
class Planned:
    """A plan and what it was made from: the live state it was compared with."""

    plan: Plan
    live: LiveState


@dataclass
class Engine:
    """Plan, apply and destroy one environment's topology (`only`: one kind of object)."""

    env: Environment
    manifest: Manifest
    only: str | None = None
    ksql: KsqlClient | None = None
    connect: ConnectClient | None = None
    registry: SchemaRegistryClient | None = None
    #: the topics' value schemas the templates declare
    schemas: list[SchemaSpec] = dataclasses.field(default_factory=list)
    #: the subjects ksqlDB derives from the queries that write the other registered topics
    derived: list[DerivedSchema] = dataclasses.field(default_factory=list)

    @classmethod
    def load(cls, project: Path, env: Environment, only: str | None = None) -> Engine:
        """Render and check the templates, and open clients for the servers the environment
        has (of `only`'s kind). A part of the templates implies only part of the rights, so
        `only` leaves the ACLs as they are."""
        if only:
            env = dataclasses.replace(env, manage_acls=False)
        if env.value_format == "JSON_SR" and env.schema_registry is None:
            raise ConfigError(
                f"{env.path}: vars.value_format is JSON_SR, but the environment has no "
                "Schema Registry (servers.schema_registry, or SCHEMA_REGISTRY_URL; "
                f"{env.skipped.get('schema_registry', 'none is configured')}). Start it, or "
                "set value_format: JSON")
        manifest = load_manifest(project, env, only)
        schemas = desired_schemas(project, manifest)
        derived = derived_schemas(manifest, {s.subject for s in schemas})
        return cls(env, manifest, only, schemas=schemas, derived=derived).connected()

    def connected(self) -> Engine:
        """This engine with clients for its environment's servers."""
        ksql = (KsqlClient(self.env.ksqldb)
                if self.env.ksqldb and self.only in (None, ObjectKind.KSQL) else None)
        connect = (ConnectClient(self.env.connect)
                   if self.env.connect and self.only in (None, ObjectKind.CONNECT) else None)
        registry = (SchemaRegistryClient(self.env.schema_registry)
                    if self.env.schema_registry and self.only in (None, ObjectKind.KSQL)
                    else None)
        return dataclasses.replace(self, ksql=ksql, connect=connect, registry=registry)

    def subset(self, logical_names) -> Engine:
        """The same engine over these objects only (the benchmark builds stage by stage)."""
        return dataclasses.replace(self, manifest=self.manifest.subset(logical_names))

    @property
    def acl_reader(self):
        """The operator's Kafka connection where the environment manages ACLs, else None."""
        return self.env.kafka() if self.env.manage_acls else None

    def read_live(self, acls: bool = True) -> LiveState:
        live = LiveState.read(self.ksql, self.connect, self.env.ksql_prefix,
                              self.acl_reader if acls else None)
        live.schemas = read_registered(self.registry, [s.subject for s in self.schemas]
                                       + [d.subject for d in self.derived])
        return live

    def plan(self) -> Planned:
        live = self.read_live()
        explain = self.ksql.explain if self.ksql is not None else None
        return Planned(make_plan(self.env, self.manifest, live, self.schemas, self.registry,
                                 self.derived, explain), live)

    def destroy_plan(self, delete_topics: bool = False) -> Planned:
        """Every owned object on the servers, and the rules the templates grant; with the
        topics (`delete_topics`), the subjects the templates register."""
        acls = (topology_acls(self.env, self.manifest)
                if self.env.manage_acls and not self.only else None)
        live = self.read_live(acls=bool(acls))
        return Planned(destroy_plan(self.env, live, acls, delete_schemas=delete_topics), live)

    def carry_out(self, planned: Planned, log: Callable[[str], None] = print,
                  **step_options) -> int:
        """Run every step of the plan; returns the number of steps done. (Each CREATE is
        recorded in the state stream; a destroy plan has none.)"""
        env, ksql = self.env, self.ksql
        state = StateStore(ksql, env.ksql_prefix, env.secrets.mask) if ksql is not None else None
        steps = build_steps(planned.plan, ksql, self.connect, planned.live.ksql, state=state,
                            local_files=env.local_stack or env.local_cluster,
                            kafka=self.acl_reader, registry=self.registry, **step_options)
        return len(run_steps(steps, env.secrets.mask, log).done)
