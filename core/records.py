"""Reading the pipeline's topic values as JSON, whichever of the two wire formats they use.

The topics between ksqlDB and the sidecar may be JSON_SR (Schema Registry's framing: a zero
byte and a 4-byte schema id before the JSON) or plain JSON; the others are plain JSON. JSON
never starts with a zero byte, so a reader (the demo's checks, the monitor, the benchmarks)
tells them apart by the first byte. The sidecar itself is strict: udf_server/wire.py.
"""

from __future__ import annotations

from typing import Any

import orjson

MAGIC = b"\x00"
FRAMING_BYTES = 5  # the magic byte and the 4-byte schema id


def subject_of(topic: str) -> str:
    """The registry subject of a topic's values (Schema Registry's default naming)."""
    return f"{topic}-value"


def json_value(value: bytes) -> Any:
    """The JSON of a topic value, with Schema Registry's framing taken off where it has one."""
    if value[:1] == MAGIC:
        return orjson.loads(value[FRAMING_BYTES:])
    return orjson.loads(value)
