"""The topology's vocabulary, in one place: what kind an object is, and what a plan does to it."""

from __future__ import annotations

from enum import StrEnum


class ObjectKind(StrEnum):
    """What a planned object is: a ksqlDB stream or table, a connector, a Kafka ACL rule, or a
    topic's registered value schema (a Schema Registry subject)."""

    KSQL = "ksql"
    CONNECT = "connect"
    ACL = "acl"
    SCHEMA = "schema"

    @property
    def server(self) -> str:
        """The environment's key for the server that holds objects of this kind
        (`servers.ksqldb`, `servers.connect`, `servers.kafka`, `servers.schema_registry`)."""
        return {"ksql": "ksqldb", "connect": "connect", "acl": "kafka",
                "schema": "schema_registry"}[self.value]

    @classmethod
    def of_server(cls, server: str) -> ObjectKind:
        return next(kind for kind in cls if kind.server == server)


class Action(StrEnum):
    """What a plan does to one object."""

    CREATE = "create"
    UPDATE = "update"
    RECREATE = "recreate"
    DELETE = "delete"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"

    @property
    def symbol(self) -> str:
        """The plan's margin mark (Terraform's)."""
        return {"create": "+", "update": "~", "recreate": "-/+", "delete": "-",
                "unchanged": " ", "skipped": "?"}[self.value]

    @property
    def verb(self) -> str:
        """How apply names the building step of this action."""
        return {"recreate": "create again"}.get(self.value, self.value)

    @property
    def builds(self) -> bool:
        """Whether apply sends the object's definition (create, update, recreate)."""
        return self in (Action.CREATE, Action.UPDATE, Action.RECREATE)
