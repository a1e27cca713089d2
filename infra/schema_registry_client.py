"""A small client of Schema Registry's REST API: subjects, their versions, registration,
compatibility checks and deletion (the calls `plan`, `apply` and `destroy` make).

Every call goes through `infra.rest.RestClient`: timeouts, retries, and errors that name the
method, URL and the registry's own message.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from core.errors import ServerError
from infra.rest import RestClient

#: the registry's error code for "no such subject" (and "no such version": 40402)
SUBJECT_NOT_FOUND = 40401
VERSION_NOT_FOUND = 40402
SUBJECT_SOFT_DELETED = 40404  # ksqlDB's DROP ... DELETE TOPIC soft-deletes its subjects


@dataclass(frozen=True)
class RegisteredSchema:
    """One version of a subject, as the registry holds it."""

    subject: str
    version: int
    id: int
    schema_type: str  # AVRO, JSON or PROTOBUF
    schema: str


@dataclass(frozen=True)
class Compatibility:
    """The registry's verdict on a candidate schema; `messages` name what breaks."""

    compatible: bool
    messages: tuple[str, ...] = ()


def _subject(subject: str) -> str:
    return quote(subject, safe="")


class SchemaRegistryClient(RestClient):
    server_name = "Schema Registry"

    def subjects(self) -> list[str]:
        return list(self.request("GET", "/subjects").json())

    def latest(self, subject: str) -> RegisteredSchema | None:
        """The subject's newest version, or None where the subject has none."""
        try:
            body = self.request("GET", f"/subjects/{_subject(subject)}/versions/latest").json()
        except ServerError as exc:
            if _code(exc) in (SUBJECT_NOT_FOUND, VERSION_NOT_FOUND):
                return None
            raise
        return RegisteredSchema(body["subject"], int(body["version"]), int(body["id"]),
                                body.get("schemaType", "AVRO"), body["schema"])

    def version_ids(self, subject: str) -> set[int]:
        """The schema ids of every version of the subject (empty where it has none)."""
        try:
            versions = self.request("GET", f"/subjects/{_subject(subject)}/versions").json()
        except ServerError as exc:
            if _code(exc) == SUBJECT_NOT_FOUND:
                return set()
            raise
        return {int(self.request("GET", f"/subjects/{_subject(subject)}/versions/{v}")
                    .json()["id"]) for v in versions}

    def register(self, subject: str, schema: str, schema_type: str = "JSON") -> int:
        """Register `schema` under `subject` (the same schema twice keeps its id)."""
        body = self.request("POST", f"/subjects/{_subject(subject)}/versions",
                            json={"schemaType": schema_type, "schema": schema}).json()
        return int(body["id"])

    def compatibility(self, subject: str, schema: str,
                      schema_type: str = "JSON") -> Compatibility:
        """Whether `schema` may follow the subject's latest version under its compatibility
        rule (the registry's verbose answer names each breaking change)."""
        body = self.request(
            "POST", f"/compatibility/subjects/{_subject(subject)}/versions/latest?verbose=true",
            json={"schemaType": schema_type, "schema": schema}).json()
        return Compatibility(bool(body.get("is_compatible")), tuple(body.get("messages") or ()))

    def set_compatibility(self, subject: str, level: str) -> None:
        """The subject's own compatibility rule (over the registry's global one); it may be
        set before the subject has a version."""
        self.request("PUT", f"/config/{_subject(subject)}", json={"compatibility": level})

    def delete(self, subject: str) -> None:
        """Delete the subject for good (soft, then permanently); gone already is fine."""
        for suffix in ("", "?permanent=true"):
            try:
                self.request("DELETE", f"/subjects/{_subject(subject)}{suffix}")
            except ServerError as exc:
                if _code(exc) not in (SUBJECT_NOT_FOUND, SUBJECT_SOFT_DELETED):
                    raise


def _code(exc: ServerError) -> int | None:
    body = getattr(exc, "body", None)
    return body.get("error_code") if isinstance(body, dict) else None
