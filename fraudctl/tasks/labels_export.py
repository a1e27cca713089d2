"""`fraudctl labels export`: what the labels topic holds, as a labels file (the `labels.raw`
line format: `ID,LABEL,LABELLED_AT,SOURCE`), for `train --kind supervised --labels`.

Reads the topic ksqlDB keys the labels on (vars.topics.labels: the labels that passed its
checks) from its start to its current end, committed records only; a later label of a payment
replaces an earlier one."""

from __future__ import annotations

import struct
from pathlib import Path

from core.contract import decode_bigint_key, label_line
from core.errors import ContractError
from core.kafka import Connection, TopicTail
from core.records import json_value


def export_labels(kafka: Connection, topic: str, out: Path) -> tuple[int, int]:
    """Write every payment's latest label in `topic` to `out`; returns (labels, frauds)."""
    tail = TopicTail(kafka, topic, from_start=True)
    try:
        messages = tail.read(timeout=120.0)
    finally:
        tail.close()
    latest: dict[int, str] = {}
    for msg in messages:
        try:
            payment = decode_bigint_key(msg.key())
            value = json_value(msg.value())
            latest[payment] = label_line(payment, value["LABEL"], value["LABELLED_AT"],
                                         value.get("LABEL_SOURCE") or "")
        except (TypeError, ValueError, KeyError, struct.error) as exc:
            raise ContractError("bad_label_record", f"{topic} partition {msg.partition()} "
                                f"offset {msg.offset()}: {exc!r}") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(line + "\n" for _, line in sorted(latest.items())))
    frauds = sum(line.split(",")[1] == '"1"' for line in latest.values())
    return len(latest), frauds
