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
READ, WRITE, CREATE, DESCRIBE = "read", "write", "create", "describe"
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
