"""What fraudctl has applied, recorded inside ksqlDB itself (like Terraform's remote state).

ksqlDB does not store the statement it was sent: it re-formats it (qualified column names,
`STRING` for `VARCHAR`, added WITH properties, parenthesised expressions). So "is the deployed
object what the template says?" cannot be answered by comparing our text with the server's.
Instead, every CREATE that `apply` runs is recorded in a stream of the environment,
`<PREFIX>FRAUDCTL_STATE` (topic `<prefix>fraudctl_state`, one partition, kept forever), with:

- CHECKSUM: a hash of the statement's normal form (comments, case and spacing do not count);
- STATEMENT: the statement as we sent it (the next plan classifies changes against it, our text
  against our text);
- SERVER_STATEMENT: the statement as the server reported it right after (a later difference
  between it and what the server reports then means someone changed the object by hand).

Both texts are recorded with secrets masked (`***`); the checksum is taken over the real text,
so a changed secret still counts as a change. Compare masked with masked.

Every operator of the cluster reads the same records (a pull query on the stream reads its topic
up to the end), as Confluent's ksql-migrations does with its migration stream. A record of an
object that no longer exists on the server is ignored (the object is simply created again).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from infra.ksql_client import pull_rows
from infra.topology import ksql_statement

STATE_OBJECT = "FRAUDCTL_STATE"


def state_topic(prefix: str) -> str:
    """The topic of an environment's state stream."""
    return prefix.lower() + STATE_OBJECT.lower()


def checksum(statement: ksql_statement.Statement) -> str:
    """Hash of a statement's normal form: what the template means, not how it is spaced."""
    return hashlib.sha256(statement.normal.encode()).hexdigest()


def _literal(text: str | None) -> str:
    return "NULL" if text is None else "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class AppliedRecord:
    """The last thing fraudctl did to one object."""

    name: str
    checksum: str
    statement: str
    server_statement: str
    applied_at: int


class StateStore:
    """The state stream of one environment on one ksqlDB server."""

    def __init__(self, client, ksql_prefix: str,
                 mask: Callable[[str], str] = lambda text: text) -> None:
        self.client = client
        self.mask = mask
        self.name = ksql_prefix + STATE_OBJECT
        self.topic = state_topic(ksql_prefix)

    def read(self, live_names: set[str]) -> dict[str, AppliedRecord]:
        """The latest record per object ({} where the state stream does not exist yet)."""
        if self.name not in live_names:
            return {}
        latest: dict[str, AppliedRecord] = {}
        for row in pull_rows(self.client, f"SELECT * FROM {self.name};"):
            record = AppliedRecord(row["OBJECT"], row.get("CHECKSUM") or "",
                                   row.get("STATEMENT") or "", row.get("SERVER_STATEMENT") or "",
                                   int(row.get("APPLIED_AT") or 0))
            previous = latest.get(record.name)
            if previous is None or record.applied_at >= previous.applied_at:
                latest[record.name] = record
        return latest

    def create_statement(self) -> str:
        return (f"CREATE STREAM IF NOT EXISTS {self.name} (OBJECT VARCHAR KEY, CHECKSUM VARCHAR, "
                "STATEMENT VARCHAR, SERVER_STATEMENT VARCHAR, APPLIED_AT BIGINT) WITH ("
                f"KAFKA_TOPIC='{self.topic}', KEY_FORMAT='KAFKA', VALUE_FORMAT='JSON', "
                "PARTITIONS=1, RETENTION_MS=-1);")

    def ensure(self) -> None:
        self.client.execute(self.create_statement())

    def record(self, name: str, statement: str, server_statement: str,
               digest: str = "") -> None:
        """Record that `name` now stands on the server as `statement` defines it (`digest`:
        its checksum, as the plan computed it; taken from the text where not given)."""
        digest = digest or checksum(ksql_statement.parse(statement))
        self.client.execute(
            f"INSERT INTO {self.name} (OBJECT, CHECKSUM, STATEMENT, SERVER_STATEMENT, APPLIED_AT)"
            f" VALUES ({_literal(name)}, {_literal(digest)}, {_literal(self.mask(statement))}, "
            f"{_literal(self.mask(server_statement))}, {int(time.time() * 1000)});")
