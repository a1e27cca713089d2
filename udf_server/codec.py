"""Decode and validate feature records, encode scored records and dead-letter headers.

A record is good when its value is UTF-8 JSON object within the size limit with `FEATURES` a list
of 30 finite numbers, and the pass-through fields have the contract's types. Anything else is a
`BadRecord` with a reason code; nothing is dropped.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from udf_server.contract import (
    F_AMOUNT,
    F_CLASS,
    F_FEATURES,
    F_TS,
    F_USER,
    FEATURE_COUNT,
    PASS_THROUGH_FIELDS,
)

DEFAULT_MAX_RECORD_BYTES = 64 * 1024

# reason codes (also the `reason` label of the dead-letter metric)
NOT_UTF8 = "not_utf8"
MALFORMED_JSON = "malformed_json"
NOT_AN_OBJECT = "not_an_object"
MISSING_FIELD = "missing_field"
WRONG_FEATURE_COUNT = "wrong_feature_count"
NON_FINITE = "non_finite"
WRONG_TYPE = "wrong_type"
OVERSIZED = "oversized"
NULL_VALUE = "null_value"
#: how Jackson (ksqlDB) writes non-finite doubles with WRITE_NAN_AS_STRINGS
NON_FINITE_TOKENS = frozenset({"NaN", "Infinity", "-Infinity"})


class BadRecord(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class Decoded:
    features: list[float]
    passthrough: dict[str, Any]


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def decode(value: bytes | None, max_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> Decoded:
    """Parse one `transactions.features` value or raise BadRecord."""
    if value is None:
        raise BadRecord(NULL_VALUE, "the record has no value (tombstone)")
    if len(value) > max_bytes:
        raise BadRecord(OVERSIZED, f"{len(value)} bytes, limit {max_bytes}")
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        obj = _lenient_parse(value, exc)
    if not isinstance(obj, dict):
        raise BadRecord(NOT_AN_OBJECT, f"JSON {type(obj).__name__}, expected an object")
    features = obj.get(F_FEATURES)
    if features is None:
        raise BadRecord(MISSING_FIELD, f"no {F_FEATURES} field")
    if not isinstance(features, list):
        raise BadRecord(WRONG_TYPE, f"{F_FEATURES} is {type(features).__name__}, expected array")
    if len(features) != FEATURE_COUNT:
        raise BadRecord(WRONG_FEATURE_COUNT,
                        f"{F_FEATURES} has {len(features)} values, expected {FEATURE_COUNT}")
    for i, x in enumerate(features):
        if isinstance(x, str) and x in NON_FINITE_TOKENS:
            raise BadRecord(NON_FINITE, f"{F_FEATURES}[{i}] is {x}")
        if not _is_number(x):
            raise BadRecord(WRONG_TYPE, f"{F_FEATURES}[{i}] is {type(x).__name__}, expected number")
        if not math.isfinite(x):
            raise BadRecord(NON_FINITE, f"{F_FEATURES}[{i}] is {x}")
    _check_passthrough(obj)
    return Decoded(features, {k: obj.get(k) for k in PASS_THROUGH_FIELDS})


def _lenient_parse(value: bytes, strict_error: Exception) -> Any:
    """Slow path for values orjson refused: tell bad UTF-8 and NaN/Infinity from broken JSON."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRecord(NOT_UTF8, f"invalid UTF-8 at byte {exc.start}") from None
    try:
        obj = json.loads(text)  # accepts NaN, Infinity and 1e999, which JSON does not allow
    except ValueError:
        raise BadRecord(MALFORMED_JSON, str(strict_error)) from None
    if isinstance(obj, dict) and isinstance(obj.get(F_FEATURES), list):
        return obj  # the feature check below reports the non-finite value by index
    raise BadRecord(MALFORMED_JSON, str(strict_error))


def _check_passthrough(obj: dict[str, Any]) -> None:
    amount = obj.get(F_AMOUNT)
    if amount is not None and not _is_number(amount):
        raise BadRecord(WRONG_TYPE, f"{F_AMOUNT} is {type(amount).__name__}, expected number")
    for name in (F_USER, F_TS):
        v = obj.get(name)
        if (v is not None and not isinstance(v, (str, int))) or isinstance(v, bool):
            raise BadRecord(WRONG_TYPE, f"{name} is {type(v).__name__}, expected string")
    label = obj.get(F_CLASS)
    if (label is not None and label not in (0, 1, "0", "1", "")) or isinstance(label, bool):
        raise BadRecord(WRONG_TYPE, f"{F_CLASS} is {label!r}, expected 0, 1 or null")


def to_matrix(rows: list[list[float]]) -> np.ndarray:
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), FEATURE_COUNT)


def encode_scored(passthrough: dict[str, Any], extra: dict[str, Any]) -> bytes:
    return orjson.dumps({**passthrough, **extra})


def dead_letter_headers(reason: str, detail: str, topic: str, partition: int, offset: int,
                        instance: str) -> list[tuple[str, bytes]]:
    return [("fraud.error.reason", reason.encode()),
            ("fraud.error.detail", detail[:1000].encode()),
            ("fraud.source.topic", topic.encode()),
            ("fraud.source.partition", str(partition).encode()),
            ("fraud.source.offset", str(offset).encode()),
            ("fraud.sidecar.instance", instance.encode())]
