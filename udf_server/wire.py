"""Schema Registry's wire format for the sidecar's topics (ksqlDB's JSON_SR): a zero byte, the
schema id (4 bytes, big-endian), then the JSON value.

The sidecar reads feature records framed with one of the ids registered under the features
topic's subject, and frames its scored records, alerts and monitoring counts with the id of
their subjects' latest version. A record without the framing, or with an id the subject does
not hold, is a `BadRecord` (dead-lettered with the reason). JSON itself never starts with a
zero byte, so the two cannot be confused.
"""

from __future__ import annotations

import logging
import struct
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import requests

from core.errors import ServerError
from core.records import FRAMING_BYTES as HEADER
from core.records import MAGIC, subject_of
from udf_server.codec import BadRecord

log = logging.getLogger("udf_server.wire")

NO_FRAMING = "no_schema_framing"
UNKNOWN_SCHEMA_ID = "unknown_schema_id"
#: an id not seen before is looked up again at most this often (a new version of the features
#: schema, registered by a query replaced in place, becomes known without a restart)
REFRESH_SECONDS = 5.0


class RegistryUnavailable(ServerError):
    """The registry did not answer, or lacks a subject the sidecar needs."""


def prefix(schema_id: int) -> bytes:
    """The 5 bytes before a value framed with `schema_id`."""
    return MAGIC + struct.pack(">I", schema_id)


@dataclass
class Registry:
    """The few lookups the sidecar makes (GET only), with a timeout on each."""

    url: str
    timeout: float = 10.0
    ca_bundle: str | None = None
    auth: tuple[str, str] | None = field(default=None, repr=False)

    def _get(self, path: str):
        try:
            response = requests.get(self.url.rstrip("/") + path, timeout=self.timeout,
                                    verify=self.ca_bundle or True, auth=self.auth)
        except requests.RequestException as exc:
            raise RegistryUnavailable(f"Schema Registry at {self.url}: {exc}") from None
        if response.status_code == 404:
            return None
        if response.status_code == 401:
            who = f"user {self.auth[0]}" if self.auth else "no credentials"
            raise RegistryUnavailable(f"Schema Registry at {self.url} refused {who} (HTTP 401; "
                                      "--schema-registry-user and FRAUD_SCHEMA_REGISTRY_PASSWORD)")
        if response.status_code != 200:
            raise RegistryUnavailable(f"Schema Registry at {self.url}: HTTP "
                                      f"{response.status_code} on GET {path}")
        return response.json()

    def ids(self, subject: str) -> set[int]:
        """The schema ids of every version of `subject` (empty where it is not registered)."""
        path = f"/subjects/{quote(subject, safe='')}/versions"
        versions = self._get(path) or []
        return {int(self._get(f"{path}/{v}")["id"]) for v in versions}

    def latest_id(self, subject: str) -> int:
        found = self._get(f"/subjects/{quote(subject, safe='')}/versions/latest")
        if found is None:
            raise RegistryUnavailable(f"subject {subject} is not registered in {self.url} "
                                      "(`fraudctl apply` registers it)")
        return int(found["id"])


@dataclass
class Framing:
    """What the sidecar accepts on its input and puts before its outputs."""

    registry: Registry
    input_topic: str
    output_topics: list[str]
    accepted: set[int] = field(default_factory=set)
    prefixes: dict[str, bytes] = field(default_factory=dict)
    _refreshed: float = 0.0

    def load(self) -> None:
        """Look up the input subject's ids and each output subject's latest id."""
        self.prefixes = {t: prefix(self.registry.latest_id(subject_of(t)))
                         for t in self.output_topics}
        self.accepted = self.registry.ids(subject_of(self.input_topic))
        self._refreshed = time.monotonic()
        log.info("schema ids: %s accepts %s; %s", self.input_topic, sorted(self.accepted),
                 ", ".join(f"{t} writes {int.from_bytes(p[1:], 'big')}"
                           for t, p in self.prefixes.items()))

    def payload(self, value: bytes | None) -> bytes | None:
        """The JSON inside a framed value; BadRecord where the framing is missing or its id
        is not one of the input subject's."""
        if value is None:
            return None  # a tombstone: the codec names it
        if len(value) < HEADER or value[0] != 0:
            shown = f"first byte 0x{value[0]:02x}" if value else "an empty value"
            raise BadRecord(NO_FRAMING, f"no Schema Registry framing ({shown}; expected 0x00 "
                                        "and a 4-byte schema id before the JSON)")
        schema_id = int.from_bytes(value[1:HEADER], "big")
        if schema_id not in self.accepted and not self._known_after_refresh(schema_id):
            raise BadRecord(UNKNOWN_SCHEMA_ID, f"schema id {schema_id} is not a version of "
                                               f"{subject_of(self.input_topic)} (known: "
                                               f"{sorted(self.accepted)})")
        return value[HEADER:]

    def _known_after_refresh(self, schema_id: int) -> bool:
        if time.monotonic() - self._refreshed < REFRESH_SECONDS:
            return False
        self._refreshed = time.monotonic()
        try:
            self.accepted = self.registry.ids(subject_of(self.input_topic))
        except RegistryUnavailable as exc:
            log.warning("could not refresh the schema ids of %s: %s", self.input_topic, exc)
        return schema_id in self.accepted
