"""Kafka ACLs as data: who may do what to which topic, consumer group and transactional id.

An `Acl` is one allow rule, the unit `plan` compares and `apply` creates or deletes. The servers'
own needs (ksqlDB's command topic, internal topics and transactions; the Connect worker's group,
internal topics and transactions) follow from their service id and group; the pipeline's needs
follow from the topology (`topology_acls`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from core.contract import DEAD_LETTER_SUFFIX
from infra.topology import ksql_statement
from infra.topology.environment import Environment
from infra.topology.kinds import ObjectKind
from infra.topology.render import ObjectSpec
from infra.topology.state import state_topic


class Resource(StrEnum):
    TOPIC = "topic"
    GROUP = "group"
    TRANSACTIONAL_ID = "transactional_id"
    CLUSTER = "cluster"


class Pattern(StrEnum):
    LITERAL = "literal"
    PREFIXED = "prefixed"


#: the cluster resource's one name
CLUSTER_NAME = "kafka-cluster"
READ, WRITE, CREATE, DELETE, DESCRIBE = "read", "write", "create", "delete", "describe"
DESCRIBE_CONFIGS, ALL = "describe_configs", "all"


@dataclass(frozen=True, order=True)
class Acl:
    """Allow `principal` (a user name, without `User:`) `operation` on a resource."""

    principal: str
    resource: Resource
    name: str
    operation: str
    pattern: Pattern = Pattern.LITERAL

    def __str__(self) -> str:
        where = self.name + ("*" if self.pattern is Pattern.PREFIXED else "")
        return f"User:{self.principal} {self.operation} {self.resource} {where}"


def _each(principal: str, resource: Resource, name: str, operations: Iterable[str],
          pattern: Pattern = Pattern.LITERAL) -> list[Acl]:
    return [Acl(principal, resource, name, op, pattern) for op in operations]


def ksqldb_server_acls(principal: str, service_id: str) -> list[Acl]:
    """What a ksqlDB server needs before any query: its command topic, the queries' internal
    (changelog, repartition) topics and consumer groups, their transactions under
    exactly-once, the processing log, and reading the cluster's settings."""
    internal = f"_confluent-ksql-{service_id}"
    return sorted([
        *_each(principal, Resource.CLUSTER, CLUSTER_NAME, (DESCRIBE, DESCRIBE_CONFIGS)),
        Acl(principal, Resource.TOPIC, internal, ALL, Pattern.PREFIXED),
        Acl(principal, Resource.GROUP, internal, ALL, Pattern.PREFIXED),
        Acl(principal, Resource.TRANSACTIONAL_ID, internal, ALL, Pattern.PREFIXED),
        Acl(principal, Resource.TRANSACTIONAL_ID, service_id, ALL, Pattern.PREFIXED),
        Acl(principal, Resource.TOPIC, f"{service_id}ksql_processing_log", ALL),
    ])


def schema_registry_acls(principal: str, group: str, topic: str) -> list[Acl]:
    """What a Schema Registry needs: its schemas topic (made and read by itself), the group
    its instances elect a leader in, and reading the cluster's settings."""
    return sorted([
        *_each(principal, Resource.CLUSTER, CLUSTER_NAME, (DESCRIBE, DESCRIBE_CONFIGS)),
        Acl(principal, Resource.TOPIC, topic, ALL),
        Acl(principal, Resource.GROUP, group, ALL),
    ])


def connect_worker_acls(principal: str, group: str, internal_topics: Iterable[str]) -> list[Acl]:
    """What a Connect worker needs: its group, its config, offset and status topics, and
    (exactly-once sources, KIP-618) the transactions of its leader and of every source task."""
    acls = [*_each(principal, Resource.CLUSTER, CLUSTER_NAME, (DESCRIBE,)),
            Acl(principal, Resource.GROUP, group, READ),
            Acl(principal, Resource.TRANSACTIONAL_ID, f"connect-cluster-{group}", WRITE),
            Acl(principal, Resource.TRANSACTIONAL_ID, f"connect-cluster-{group}", DESCRIBE),
            *_each(principal, Resource.TRANSACTIONAL_ID, f"{group}-", (WRITE, DESCRIBE),
                   Pattern.PREFIXED)]
    for topic in internal_topics:
        acls += _each(principal, Resource.TOPIC, topic, (ALL,))
    return sorted(acls)


#: the components whose Kafka principals the topology grants rights to
COMPONENTS = ("ksqldb", "connect", "sidecar", "replayer", "monitor")
#: our own readers' consumer groups (fraudctl's tails, checks and benches)
READER_GROUPS = "fraudctl-"
SIDECAR_TRANSACTIONS = "fraud-scorer."


def sidecar_group(env: Environment) -> str:
    """The consumer group of the environment's sidecars (`vars.sidecar_group`); a bench's or a
    second deployment's group starts with it, and its transactional ids follow from it."""
    return str(env.variables.get("sidecar_group") or f"fraud-demo-{env.name}")


def topology_acls(env: Environment, specs: Iterable[ObjectSpec]) -> list[Acl]:
    """Every right the pipeline's components need, derived from the templates and the
    environment: ksqlDB reads (and creates) the topics of its streams and tables and writes
    those its queries fill; each connector reads or writes its topic; the sidecar reads the
    features and writes the scored records, alerts, monitoring counts and dead letters in
    transactions; the replayer
    writes the raw payments and labels; the monitor reads every pipeline topic. Empty where
    the environment names no principal for a component (no ACLs to manage)."""
    users = {c: env.kafka_principals[c][0] for c in COMPONENTS if c in env.kafka_principals}
    acls: list[Acl] = []

    def grant(component: str, resource: Resource, name: str, *operations: str,
              pattern: Pattern = Pattern.LITERAL) -> None:
        if component in users and name:
            acls.extend(_each(users[component], resource, name, operations, pattern))

    for spec in specs:
        # ksqlDB checks Read on a stream's topic when creating it, and deletes the topics of
        # what it drops with DELETE TOPIC (destroy --delete-topics, a rebuilt windowed table)
        if spec.statement is not None:
            grant("ksqldb", Resource.TOPIC, ksql_topic(spec.statement), DESCRIBE,
                  DESCRIBE_CONFIGS, CREATE, READ, DELETE, *((WRITE,) if spec.is_query else ()))
        elif spec.kind == ObjectKind.CONNECT and spec.config:
            if spec.config.get("topic"):  # a source connector
                grant("connect", Resource.TOPIC, spec.config["topic"], WRITE, DESCRIBE)
            for topic in filter(None, (spec.config.get("topics") or "").split(",")):
                grant("connect", Resource.TOPIC, topic.strip(), READ, DESCRIBE)
                grant("connect", Resource.GROUP, f"connect-{spec.name}", READ)
    # the state stream: what fraudctl applied, written and read back by its pull queries
    grant("ksqldb", Resource.TOPIC, state_topic(env.prefix), DESCRIBE, DESCRIBE_CONFIGS, CREATE,
          READ, WRITE, DELETE)
    topics = env.variables.get("topics") or {}
    group = sidecar_group(env)
    grant("sidecar", Resource.TOPIC, topics.get("features", ""), READ, DESCRIBE)
    for written in (topics.get("scored"), (topics.get("scored") or "") + DEAD_LETTER_SUFFIX,
                    topics.get("flagged"), topics.get("monitor_counts")):
        grant("sidecar", Resource.TOPIC, written or "", WRITE, DESCRIBE, DESCRIBE_CONFIGS)
    grant("sidecar", Resource.GROUP, group, READ, pattern=Pattern.PREFIXED)
    grant("sidecar", Resource.TRANSACTIONAL_ID, SIDECAR_TRANSACTIONS + group, WRITE, DESCRIBE,
          pattern=Pattern.PREFIXED)
    for written in ("raw", "labels_raw"):
        grant("replayer", Resource.TOPIC, topics.get(written, ""), WRITE, DESCRIBE)
    dead_letters = {topics["scored"] + DEAD_LETTER_SUFFIX} if topics.get("scored") else set()
    for topic in sorted(set(topics.values()) | dead_letters):
        grant("monitor", Resource.TOPIC, topic, READ, DESCRIBE)
    grant("monitor", Resource.GROUP, READER_GROUPS, READ, pattern=Pattern.PREFIXED)
    return sorted(set(acls))


def ksql_topic(statement: ksql_statement.Statement) -> str:
    """The topic behind a stream or table: its KAFKA_TOPIC, else ksqlDB's default (its name)."""
    topic = statement.properties.get("KAFKA_TOPIC", "").strip().strip("'")
    return topic or statement.name


def owned_resources(acls: Iterable[Acl]) -> set[tuple[Resource, str, Pattern]]:
    """The resources a set of rules is about: `plan` removes a managed principal's other rules
    on these (a right the templates no longer need), never a rule on anything else."""
    return {(a.resource, a.name, a.pattern) for a in acls}
