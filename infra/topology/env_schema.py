"""The schema of an environment file: types, ranges and required keys, checked before anything
renders. Each problem names the key's path (`servers.connect.timeout`) and what is allowed.

Variables the repository's templates read are typed here; other variables (a project's own)
may be anything, and a missing one is reported by the template that reads it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], str | None]  # None if the value is fine, else what is allowed


def text(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "a non-empty string"


def url(value: Any) -> str | None:
    if isinstance(value, str) and (re.match(r"^https?://[^\s/]+", value) or "${" in value):
        return None
    return "a URL such as http://host:8083"


def flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def whole(minimum: int) -> Check:
    def check(value: Any) -> str | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
        return None if ok else f"a whole number ≥ {minimum}"
    return check


def positive_number(value: Any) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    return None if ok else "a number > 0"


def guarantee(value: Any) -> str | None:
    return None if value in ("exactly_once", "at_least_once") else (
        "exactly_once or at_least_once")


def value_format(value: Any) -> str | None:
    return None if value in ("JSON", "JSON_SR") else "JSON or JSON_SR (Schema Registry framing)"


def setting_value(value: Any) -> str | None:
    ok = isinstance(value, str | int | float | bool) and str(value).strip() != ""
    return None if ok else "a string, number or true/false"


SERVER = {"url": (url, True), "timeout": (positive_number, False),
          "basic_auth": ({"username": (text, True), "password": (text, True)}, False),
          "ca_bundle": (text, False), "client_cert": (text, False), "client_key": (text, False)}

SCHEMA: dict[str, Any] = {
    "description": (text, False),
    "prefix": (text, True),
    "servers": ({
        "local_stack": (flag, False),
        "local_cluster": (flag, False),
        "kafka": ({"bootstrap_servers": (text, True),
                   # librdkafka settings every client of ours uses (security.protocol, ...)
                   "security": ({"*": (setting_value, False)}, False),
                   # one Kafka principal per component (operator, sidecar, replayer, monitor)
                   "principals": ({"*": ({"username": (text, True),
                                          "password": (text, True)}, False)}, False)}, False),
        "connect": (SERVER, False),
        "ksqldb": (SERVER, False),
        # per component (the sidecar, the monitor), the registry user it logs in as; the
        # operator's `basic_auth` otherwise
        "schema_registry": ({**SERVER, "principals": ({"*": ({"username": (text, True),
                                                               "password": (text, True)},
                                                              False)}, False)}, False),
    }, False),
    "delivery_guarantee": (guarantee, False),
    "manage_acls": (flag, False),
    "ksql_query_properties": ({"*": (setting_value, False)}, False),
    "vars": ({
        "partitions": (whole(1), False),
        "replicas": (whole(1), False),
        "retention_ms": (whole(-1), False),
        "mask_keep_chars": (whole(0), False),
        "escalation_min_alerts": (whole(1), False),
        "value_format": (value_format, False),
        "sidecar_value_format": (value_format, False),  # value_format's name until #26
        "topics": ({"*": (text, False)}, False),
        "files": ({"*": (text, False)}, False),
        "windows": ({"*": (text, False)}, False),
        "*": (None, False),
    }, False),
}


def problems(document: Any, schema: dict[str, Any] = SCHEMA, path: str = "") -> list[str]:
    """Every place where `document` does not fit `schema`, as 'key.path: ...' sentences."""
    if not isinstance(document, dict):
        return [f"{path or 'the file'}: expected a mapping, got {_shown(document)}"]
    found = []
    for key, (_rule, required) in schema.items():
        if key != "*" and required and key not in document:
            found.append(f"{path}{key}: missing (required)")
    for key, value in document.items():
        where = f"{path}{key}"
        rule = schema.get(key, schema.get("*", (False, False)))[0]
        if rule is False:
            allowed = ", ".join(k for k in schema if k != "*")
            found.append(f"{where}: unknown key (expected one of: {allowed})")
        elif isinstance(rule, dict):
            found += problems(value, rule, where + ".")
        elif rule is not None and (allowed := rule(value)) is not None:
            found.append(f"{where}: expected {allowed}, got {_shown(value)}")
    return found


def _shown(value: Any) -> str:
    return "nothing" if value is None else repr(value)
