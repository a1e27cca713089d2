"""Compare the rendered topology with the live servers and decide, per object, what to do.

Actions: create, update (ksqlDB CREATE OR REPLACE where allowed; Connect PUT config),
recreate (terminate the writing queries, drop, create; every ksqlDB object downstream follows),
delete (owned on the server, gone from the repo), unchanged, skipped (the environment has no
such server). Only objects whose names carry the environment's prefix are ever touched.

Where the environment manages ACLs (`manage_acls: true`), the Kafka rights the topology implies
(infra.topology.acls) are planned beside the objects: rules to create, and a managed principal's
rules on the topology's resources that it no longer needs, to delete.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from infra.connect_client import connector_failure
from infra.kafka_acl_client import list_acls
from infra.ksql_client import query_problem
from infra.topology import ksql_statement
from infra.topology.acls import Acl, owned_resources, topology_acls
from infra.topology.derived_schemas import DerivedSchema, Explain, judge_derived
from infra.topology.environment import PROCESSING_GUARANTEE, Environment
from infra.topology.kinds import Action, ObjectKind
from infra.topology.manifest import Manifest
from infra.topology.render import ObjectSpec
from infra.topology.schemas import SchemaSpec, judge
from infra.topology.state import STATE_OBJECT, AppliedRecord, StateStore, checksum

CREATE, UPDATE, RECREATE, DELETE, UNCHANGED, SKIPPED = (
    Action.CREATE, Action.UPDATE, Action.RECREATE, Action.DELETE, Action.UNCHANGED,
    Action.SKIPPED)
KSQL, CONNECT, ACL, SCHEMA = ObjectKind.KSQL, ObjectKind.CONNECT, ObjectKind.ACL, ObjectKind.SCHEMA


@dataclass
class LiveSource:
    """A stream or table on the ksqlDB server."""

    name: str
    type: str  # STREAM or TABLE
    statement: str
    topic: str = ""
    write_queries: list[str] = field(default_factory=list)
    read_by: list[str] = field(default_factory=list)  # names of sources whose queries read it
    not_running: dict[str, str] = field(default_factory=dict)  # query id -> its host states
    #: the settings its writing query was created with (EXPLAIN's overriddenProperties)
    query_properties: dict[str, str] = field(default_factory=dict)


@dataclass
class LiveConnector:
    """A connector on the Connect cluster: its config and, if it or a task FAILED, why."""

    config: dict[str, str]
    failure: str | None = None


@dataclass
class LiveState:
    ksql: dict[str, LiveSource] | None  # None: no ksqlDB server in this environment
    connectors: dict[str, LiveConnector] | None  # None: no Connect
    applied: dict[str, AppliedRecord] = field(default_factory=dict)  # what fraudctl applied
    topics: dict[str, tuple[int, int]] = field(default_factory=dict)  # -> partitions, replicas
    #: the cluster's allow rules; None where ACLs are not managed (or no authorizer runs)
    acls: set[Acl] | None = None
    #: subject -> its latest registered version (None: none) of the topology's subjects;
    #: None where the environment has no Schema Registry
    schemas: dict | None = None

    @classmethod
    def read(cls, ksql_client, connect_client, ksql_prefix: str = "",
             kafka=None) -> LiveState:
        """What the servers hold now; `kafka` (a KafkaConnection) also reads the ACLs."""
        ksql = None
        applied: dict[str, AppliedRecord] = {}
        topics: dict[str, tuple[int, int]] = {}
        if ksql_client is not None:
            ksql = {}
            for source in ksql_client.sources():
                ksql[source["name"]] = LiveSource(
                    name=source["name"], type=source.get("type", "STREAM"),
                    statement=source.get("statement", ""), topic=source.get("topic", ""),
                    write_queries=[q["id"] for q in source.get("writeQueries", [])],
                    read_by=sorted({s for q in source.get("readQueries", [])
                                    for s in q.get("sinks", [])}),
                    not_running={q["id"]: why for q in source.get("writeQueries", [])
                                 if (why := query_problem(q))})
            if ksql_prefix:
                applied = StateStore(ksql_client, ksql_prefix).read(set(ksql))
                for source in ksql.values():
                    if source.name.startswith(ksql_prefix) and source.write_queries:
                        source.query_properties = ksql_client.query_properties(
                            source.write_queries[0])
            topics = ksql_client.topics()
        connectors = None
        if connect_client is not None:
            connectors = {
                name: LiveConnector({k: v for k, v in item["info"]["config"].items()
                                     if k != "name"},
                                    connector_failure(item.get("status") or {}))
                for name, item in connect_client.connectors().items()}
        acls = list_acls(kafka) if kafka is not None else None
        return cls(ksql, connectors, applied, topics, acls)


@dataclass
class Change:
    kind: ObjectKind
    name: str  # server name
    action: Action
    reason: str = ""
    logical: str | None = None
    statement: str | None = None  # ksql: what will be sent
    config: dict[str, str] | None = None  # connect: what will be sent
    live_type: str | None = None  # ksql: STREAM/TABLE for DROP
    terminate: list[str] = field(default_factory=list)  # query ids to terminate first
    restart: bool = False  # connect: restart the FAILED connector and its tasks
    blocked: str = ""  # why apply cannot carry it out as it stands (checked before any step)
    warnings: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)  # ksql: the query's settings
    guarantee: str = ""  # the delivery guarantee the object runs with (shown by plan)
    acl: Acl | None = None  # acl: the rule to create or delete
    query: bool = False  # ksql: a persistent query writes it (apply waits for it to run)
    checksum: str = ""  # ksql: of the desired statement's normal form (the state records it)
    schema: str | None = None  # schema: the JSON Schema to register
    derived: bool = False  # schema: ksqlDB registers it (apply sets its compatibility)

    def __post_init__(self) -> None:
        self.kind, self.action = ObjectKind(self.kind), Action(self.action)

    @property
    def drops_topic(self) -> bool:
        """A table a query builds, recreated: apply drops it with its topic (it is rebuilt from
        its source, and ksqlDB refuses an old topic whose settings, e.g. a window's
        retention, differ)."""
        return self.action == RECREATE and self.live_type == "TABLE" and bool(self.terminate)

    def describe(self) -> str:
        text = f"{self.action.symbol:>3} {self.action:9} {self.kind:7} {self.name}"
        text += f"  [{self.guarantee}]" if self.guarantee else ""
        text += f"  ({self.reason})" if self.reason else ""
        lines = [text] + [f"      warning: {w}" for w in self.warnings]
        if self.blocked:
            lines.append(f"      BLOCKED: {self.blocked}")
        return "\n".join(lines)


@dataclass
class Plan:
    environment: str
    changes: list[Change]  # desired objects in dependency order, then deletions

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.action not in (UNCHANGED, SKIPPED)]

    def count(self, action: Action, acls: bool = False, kind: ObjectKind | None = None) -> int:
        """Objects planned for `action`: ksqlDB objects and connectors, or (`acls=True`) ACL
        rules, or the changes of one `kind`."""
        if kind is not None:
            return sum(c.action == action and c.kind == kind for c in self.changes)
        return sum(c.action == action and c.kind != SCHEMA and (c.kind == ACL) == acls
                   for c in self.changes)

    def summary(self) -> str:
        parts = [f"{self.count(a)} to {a}" for a in (CREATE, UPDATE, RECREATE, DELETE)]
        text = f"Plan for '{self.environment}': " + ", ".join(parts)
        text += f", {self.count(UNCHANGED)} unchanged"
        if self.count(SKIPPED):
            text += f", {self.count(SKIPPED)} skipped"
        if any(c.kind == ACL for c in self.changes):
            text += (f"; ACL rules: {self.count(CREATE, True)} to create, "
                     f"{self.count(DELETE, True)} to delete, {self.count(UNCHANGED, True)} "
                     "unchanged")
            if self.count(SKIPPED, True):
                text += f", {self.count(SKIPPED, True)} skipped"
        if any(c.kind == SCHEMA for c in self.changes):
            counts = {a: self.count(a, kind=SCHEMA)
                      for a in (CREATE, UPDATE, DELETE, UNCHANGED, SKIPPED)}
            text += ("; schemas: " + ", ".join(
                f"{n} {'unchanged' if a == UNCHANGED else 'skipped' if a == SKIPPED else 'to ' + a}"
                for a, n in counts.items() if n or a in (CREATE, UNCHANGED)))
        return text + "."

    def to_json(self, mask) -> str:
        return mask(json.dumps({"environment": self.environment,
                                "changes": [asdict(c) for c in self.changes]}, indent=2))


def make_plan(env: Environment, specs: Manifest | list[ObjectSpec], live: LiveState,
              schemas: list[SchemaSpec] = (), registry=None,
              derived: list[DerivedSchema] = (), explain: Explain | None = None) -> Plan:
    """What to do, per object of the topology (in dependency order), then the deletions; the
    ACL rules first where the environment manages them, then the topics' value schemas: those
    the templates declare and those ksqlDB derives (`registry`: the client that checks a
    changed schema's compatibility; `explain`: ksqlDB's EXPLAIN, for a query's new columns)."""
    manifest = Manifest.of(specs)
    changes: dict[str, Change] = {}
    for spec in manifest:
        changes[spec.logical] = (_ksql_change(env, spec, live) if spec.kind == KSQL
                                 else _connect_change(env, spec, live.connectors))
    _cascade_recreates(manifest, changes, live.ksql or {})
    for spec in manifest.of_kind(KSQL):
        _check_topic(spec, changes[spec.logical], live)
    result = [changes[s.logical] for s in manifest]
    result += _deletions(env, manifest, live)
    return Plan(env.name, acl_changes(env, manifest, live)
                + schema_changes(env, schemas, live.schemas, registry)
                + derived_changes(env, derived, live, changes, registry, explain) + result)


def derived_changes(env: Environment, derived: list[DerivedSchema] | tuple, live: LiveState,
                    changes: dict[str, Change], registry=None,
                    explain: Explain | None = None) -> list[Change]:
    """A change per subject ksqlDB derives from a query (infra.topology.derived_schemas):
    skipped without a registry, else judged against what the plan rebuilds over its topic."""
    if live.schemas is None:
        why = env.skipped.get(SCHEMA.server, "the environment has no Schema Registry")
        return [Change(SCHEMA, d.subject, SKIPPED, why, derived=True) for d in derived]
    found = []
    for spec in derived:
        rebuilt = {}
        for logical in spec.writers:
            change = changes.get(logical)
            if change is None:  # not in this part of the topology (a benchmark's stage)
                continue
            if change.action.builds and not change.drops_topic:
                rebuilt[logical] = _explainable(change, live.ksql or {})
        action, reason, blocked = judge_derived(spec, live.schemas.get(spec.subject), rebuilt,
                                                registry, explain)
        found.append(Change(SCHEMA, spec.subject, action, reason, blocked=blocked,
                            derived=True))
    return found


def _explainable(change: Change, live: dict[str, LiveSource]) -> str:
    """The statement to EXPLAIN for a change: as sent where it creates an object, else (an
    update or a recreate of one that exists) as a CREATE under a name no object has: ksqlDB
    7.9 cannot EXPLAIN a CREATE OR REPLACE of a running query (it fails on the old one's
    runtime)."""
    statement = change.statement or ""
    if change.name not in live:
        return statement
    return _CREATE_NAME.sub(lambda m: m.group(1) + m.group(2) + change.name + "_FRAUDCTL_EXPLAIN",
                            statement, count=1)


_CREATE_NAME = re.compile(r"^(\s*CREATE\s+)(?:OR\s+REPLACE\s+)?((?:STREAM|TABLE)\s+)(\S+)",
                          re.I | re.M)


def schema_changes(env: Environment, wanted: list[SchemaSpec] | tuple,
                   live: dict | None, registry=None) -> list[Change]:
    """A change per subject the templates declare: register, change (blocked where the
    registry finds it incompatible), unchanged; skipped without a registry."""
    if live is None:
        why = env.skipped.get(SCHEMA.server, "the environment has no Schema Registry")
        return [Change(SCHEMA, s.subject, SKIPPED, why, schema=s.schema) for s in wanted]
    changes = []
    for spec in wanted:
        action, reason, blocked = judge(spec, live.get(spec.subject), registry)
        changes.append(Change(SCHEMA, spec.subject, action, reason, schema=spec.schema,
                              blocked=blocked))
    return changes


def acl_changes(env: Environment, specs: Manifest, live: LiveState) -> list[Change]:
    """The rules to create (wanted, missing) and to delete (a managed principal's rule on one
    of the topology's resources that no template needs any more)."""
    if not env.manage_acls:
        return []
    wanted = set(topology_acls(env, specs))
    if live.acls is None:
        return [Change(ACL, str(a), SKIPPED, "the brokers run no authorizer", acl=a)
                for a in sorted(wanted)]
    principals = {a.principal for a in wanted}
    resources = owned_resources(wanted)
    stale = {a for a in live.acls if a.principal in principals
             and (a.resource, a.name, a.pattern) in resources} - wanted
    return ([Change(ACL, str(a), UNCHANGED if a in live.acls else CREATE, acl=a)
             for a in sorted(wanted)]
            + [Change(ACL, str(a), DELETE, "no template needs it", acl=a)
               for a in sorted(stale)])


def query_properties(env: Environment, spec: ObjectSpec) -> dict[str, str]:
    """The Kafka Streams settings a query object runs with: the environment's, then its own,
    then the environment's overrides (a benchmark's `--set`)."""
    return {**env.query_properties, **spec.query_properties, **env.query_overrides}


def _ksql_change(env: Environment, spec: ObjectSpec, live: LiveState) -> Change:
    change = _ksql_action(env, spec, live)
    change.query, change.checksum = spec.is_query, checksum(spec.statement)
    if spec.is_query:
        change.properties = query_properties(env, spec)
        change.guarantee = change.properties.get(PROCESSING_GUARANTEE, "server default")
    return change


def _ksql_action(env: Environment, spec: ObjectSpec, live: LiveState) -> Change:
    if live.ksql is None:
        return Change(KSQL, spec.name, SKIPPED, env.skipped.get(KSQL.server, "no ksqlDB"),
                      spec.logical)
    desired = spec.statement
    current = live.ksql.get(spec.name)
    if current is None:
        return Change(KSQL, spec.name, CREATE, "", spec.logical, statement=spec.text.strip())
    masked = env.secrets.mask(spec.text)
    shown = desired if masked == spec.text else ksql_statement.parse(masked)
    action, why = _classify(desired, shown, current, live.applied.get(spec.name),
                            env.secrets.mask)
    if action == UNCHANGED and desired.is_query:
        action, why = _settings_change(query_properties(env, spec), current)
        if action == UPDATE and desired.is_stateful:
            action, why = RECREATE, why + "; " + _not_replaceable(desired)
    warnings = [f"query {qid} is not running: {states}"
                for qid, states in current.not_running.items()]
    if action == UNCHANGED:
        return Change(KSQL, spec.name, UNCHANGED, "", spec.logical, warnings=warnings)
    statement = spec.text.strip()
    if action == UPDATE:
        statement = _or_replace(statement)
    return Change(KSQL, spec.name, action, why, spec.logical, statement=statement,
                  live_type=current.type, terminate=list(current.write_queries),
                  warnings=warnings)


def _not_replaceable(desired: ksql_statement.Statement) -> str:
    """Why a stateful query's new settings need a recreate, and what that replays."""
    if desired.is_stream_stream_join:
        return ("ksqlDB cannot replace a stream-stream join in place: recreated, it reads its "
                "inputs again from the start and writes its matches again (tables counting "
                "its output then count them twice: rebuild that topic with `destroy "
                "--delete-topics` and `apply` where that matters)")
    return ("ksqlDB cannot replace an aggregation in place: recreated, the table is rebuilt "
            "from its input topic")


def _settings_change(wanted: dict[str, str], current: LiveSource) -> tuple[str, str]:
    """UPDATE (CREATE OR REPLACE: the query keeps its id and its committed offsets, so nothing
    is replayed) where the running query's settings differ from the wanted ones."""
    differ = [f"{key} {current.query_properties.get(key, 'server default')} -> {value}"
              for key, value in sorted(wanted.items())
              if str(current.query_properties.get(key)) != value]
    if not differ or not current.write_queries:
        return UNCHANGED, ""
    return UPDATE, "query settings change: " + ", ".join(differ)


def _classify(desired: ksql_statement.Statement, shown: ksql_statement.Statement,
              current: LiveSource, record: AppliedRecord | None,
              mask: Callable[[str], str] = lambda text: text) -> tuple[str, str]:
    """What to do with an object that exists: judged against what fraudctl applied (our text
    against our text), or, where there is no record or the object was changed by hand,
    against the server's statement. Texts are compared with secrets masked (as the state
    stream records them; `shown` is `desired` masked); the checksum alone sees the real text."""
    server = _parse_or_none(mask(current.statement))
    if record is not None:
        recorded_server = _parse_or_none(record.server_statement)
        untouched = (server is not None and recorded_server is not None
                     and _same_but_masked(recorded_server.normal, server.normal))
        applied = _parse_or_none(record.statement)
        if untouched and applied is not None:
            if record.checksum == checksum(desired):
                return UNCHANGED, ""
            if shown.normal == applied.normal:  # equal but for a masked value
                return (UPDATE if desired.is_query else RECREATE), "a secret's value changed"
            return ksql_statement.change_class(shown, applied)
        if server is None:
            return RECREATE, "the server's statement could not be read"
        action, why = ksql_statement.change_class(shown, server)
        return action, f"changed on the server since fraudctl applied it; {why}"
    if server is None:
        return RECREATE, "the server's statement could not be read"
    if ksql_statement.same_definition(shown, server):
        return UNCHANGED, ""
    action, why = ksql_statement.change_class(shown, server)
    return action, f"not applied by fraudctl (no record in {STATE_OBJECT}); {why}"


def _same_but_masked(recorded: str, current: str) -> bool:
    """Whether `current` reads as `recorded`, where each `***` of the recorded (masked) text may
    stand for any value: a secret this run does not know (the one before a change) still
    matches the record."""
    if "***" not in recorded:
        return recorded == current
    pattern = ".+?".join(re.escape(part) for part in recorded.split("***"))
    return re.fullmatch(pattern, current, flags=re.S) is not None


def _parse_or_none(text: str) -> ksql_statement.Statement | None:
    try:
        return ksql_statement.parse(text) if text else None
    except ksql_statement.StatementError:
        return None


def _or_replace(statement: str) -> str:
    """The statement as CREATE OR REPLACE (comments before it, as templates have, removed)."""
    text = ksql_statement.strip_comments(statement).strip()
    return re.sub(r"^CREATE\s+(?!OR\s+REPLACE\b)", "CREATE OR REPLACE ", text, count=1,
                  flags=re.I)


def connector_guarantee(config: dict[str, str]) -> str:
    """What a connector's records get: a source with `exactly.once.support=required` runs in
    transactions (KIP-618); a file sink writes each record at least once."""
    if config.get("connector.class", "").endswith("SinkConnector"):
        return "at least once (a file sink: readers drop repeats by payment ID)"
    if config.get("exactly.once.support") == "required":
        return "exactly once"
    return "at least once"


def _connect_change(env: Environment, spec: ObjectSpec,
                    live: dict[str, LiveConnector] | None) -> Change:
    change = _connect_action(env, spec, live)
    change.guarantee = connector_guarantee(spec.config or {})
    return change


def _connect_action(env: Environment, spec: ObjectSpec,
                    live: dict[str, LiveConnector] | None) -> Change:
    if live is None:
        return Change(CONNECT, spec.name, SKIPPED, env.skipped.get(CONNECT.server, "no Connect"),
                      spec.logical)
    current = live.get(spec.name)
    if current is None:
        return Change(CONNECT, spec.name, CREATE, "", spec.logical, config=spec.config)
    failed = current.failure is not None
    if current.config == spec.config:
        if not failed:
            return Change(CONNECT, spec.name, UNCHANGED, "", spec.logical)
        return Change(CONNECT, spec.name, UPDATE, f"restart: {current.failure}", spec.logical,
                      config=spec.config, restart=True)
    keys = sorted(k for k in set(current.config) | set(spec.config)
                  if current.config.get(k) != spec.config.get(k))
    why = f"config changes: {', '.join(keys)}"
    if failed:
        why += f"; now {current.failure}"
    return Change(CONNECT, spec.name, UPDATE, why, spec.logical, config=spec.config,
                  restart=failed)


def _check_topic(spec: ObjectSpec, change: Change, live: LiveState) -> None:
    """ksqlDB refuses to create a stream or table over an existing topic whose partitions or
    replicas differ from its WITH clause: find that before anything is torn down."""
    if change.action not in (CREATE, RECREATE):
        return
    desired = spec.statement
    topic = desired.properties.get("KAFKA_TOPIC", "").strip("'") or desired.name
    if topic not in live.topics:
        return
    partitions, replicas = live.topics[topic]
    wanted = {"PARTITIONS": partitions, "REPLICAS": replicas}
    differ = [f"{key} {desired.properties[key]} (the topic has {have})"
              for key, have in wanted.items()
              if key in desired.properties and desired.properties[key] != str(have)]
    if differ:
        change.blocked = (f"topic '{topic}' exists with other settings: {', '.join(differ)}; "
                          f"ksqlDB will not create {change.name} over it")
    elif (change.action == CREATE and desired.kind == "TABLE" and desired.is_query
          and not any(s.topic == topic for s in (live.ksql or {}).values())):
        change.warnings.append(
            f"topic '{topic}' is left over from an earlier table of that name; ksqlDB refuses "
            "it if its retention differs from what the new table needs (a window's retention "
            "sets it): delete the topic first if apply says so")


def _cascade_recreates(manifest: Manifest, changes: dict[str, Change],
                       live: dict[str, LiveSource]) -> None:
    for logical, change in list(changes.items()):
        if change.action != RECREATE:
            continue
        for spec in manifest.downstream(logical):
            dep = changes[spec.logical]
            if dep.kind == KSQL and dep.action in (UNCHANGED, UPDATE):
                current = live[dep.name]
                dep.action = RECREATE
                dep.reason = f"follows {change.name}, which is recreated"
                dep.statement = spec.text.strip()
                dep.live_type = current.type
                dep.terminate = list(current.write_queries)


def _deletions(env: Environment, specs: Manifest, live: LiveState) -> list[Change]:
    wanted = {s.name for s in specs} | {env.ksql_prefix + STATE_OBJECT}
    deletions: list[Change] = []
    if live.ksql is not None:
        owned = {n: s for n, s in live.ksql.items()
                 if n.startswith(env.ksql_prefix) and n not in wanted}
        for name in _drop_order(owned):
            source = owned[name]
            deletions.append(Change(KSQL, name, DELETE, "no template defines it any more",
                                    live_type=source.type,
                                    terminate=list(source.write_queries)))
    if live.connectors is not None:
        for name in sorted(live.connectors):
            if name.startswith(env.prefix) and name not in wanted:
                deletions.append(Change(CONNECT, name, DELETE,
                                        "no template defines it any more"))
    return deletions


def _drop_order(sources: dict[str, LiveSource]) -> list[str]:
    """Readers before what they read (a source read by others cannot be dropped first)."""
    order: list[str] = []
    remaining = dict(sources)
    while remaining:
        ready = sorted(n for n, s in remaining.items()
                       if not any(r in remaining and r != n for r in s.read_by))
        if not ready:
            ready = sorted(remaining)  # a cycle on the server: drop in name order
        for name in ready:
            order.append(name)
            del remaining[name]
    return order


def destroy_plan(env: Environment, live: LiveState,
                 acls: list[Acl] | None = None, delete_schemas: bool = False) -> Plan:
    """Delete every owned object on the servers (the repository's templates play no part),
    and of `acls` (what the templates grant) the rules the cluster holds; `delete_schemas`
    (with the topics): the registered subjects the templates declare."""
    changes = [Change(KSQL, n, DELETE, "destroy", live_type=s.type,
                      terminate=list(s.write_queries))
               for n, s in sorted((live.ksql or {}).items()) if n.startswith(env.ksql_prefix)]
    changes += [Change(CONNECT, n, DELETE, "destroy") for n in sorted(live.connectors or {})
                if n.startswith(env.prefix)]
    changes += [Change(ACL, str(a), DELETE, "destroy", acl=a)
                for a in sorted(set(acls or ()) & (live.acls or set()))]
    if delete_schemas:
        changes += [Change(SCHEMA, subject, DELETE, "destroy, with the topics")
                    for subject, registered in sorted((live.schemas or {}).items())
                    if registered is not None]
    return Plan(env.name, changes)


def teardown_order(plan: Plan, live: dict[str, LiveSource] | None) -> list[Change]:
    """What to remove before building, in order: connectors to delete first (a sink still
    reading a dropped stream's topic, or a source writing one, would have the broker
    auto-create it again with default settings), then the ksqlDB objects to drop (deletions
    and the drop half of recreates), readers first."""
    connectors = [c for c in plan.changes if c.kind == CONNECT and c.action == DELETE]
    drops = {c.name: c for c in plan.changes
             if c.kind == KSQL and c.action in (DELETE, RECREATE)}
    if not drops:
        return connectors
    known = {n: (live or {}).get(n, LiveSource(n, drops[n].live_type or "STREAM", ""))
             for n in drops}
    order = _drop_order(known)
    order.sort(key=lambda n: n.endswith(STATE_OBJECT))  # fraudctl's own records go last
    return connectors + [drops[n] for n in order]
