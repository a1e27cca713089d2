"""`fraudctl replay`: stream a dataset into `transactions.raw` at a chosen rate.

Reads the Kaggle format (`Time,V1..V28,Amount,Class`, adding ID, TS and USER_ID) or the raw
format (sent as it is) line by line, so files of any size stream without loading them. Targets:
the raw topic (Kafka producer) or the file the Connect FileStreamSource tails.
"""

from __future__ import annotations

import csv
import math
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import TextIO

from infra.errors import FraudctlError
from udf_server.contract import KAGGLE_COLUMNS, RAW_COLUMNS

USERS = ("Kai", "Hans", "Flo", "Dirk", "Ana", "Mia", "Lea", "Tom", "Ida", "Max", "Eva", "Jan")


@dataclass
class ReplayOptions:
    rate: float  # events per second; 0 = as fast as possible
    limit: int | None = None
    loop: bool = False
    start_id: int | None = None
    keep_labels: bool = True


def raw_lines(path: Path, options: ReplayOptions) -> Iterator[str]:
    """Raw-format lines from a Kaggle or raw file; loops over the file with `loop`."""
    next_id = options.start_id if options.start_id is not None else int(time.time() * 1000)
    while True:
        produced = 0
        with path.open(newline="") as fh:
            for number, line in _records(path, fh, options, next_id):
                next_id = number + 1
                produced += 1
                yield line
        if not options.loop or produced == 0:
            return


def _records(path: Path, fh: TextIO, options: ReplayOptions, first_id: int):
    reader = csv.reader(fh)
    header = next(reader, None)
    if header is None:
        raise FraudctlError(f"{path}: the file is empty")
    names = [h.strip().lower() for h in header]
    if sorted(names) == sorted(c.lower() for c in KAGGLE_COLUMNS):
        order = [names.index(c.lower()) for c in KAGGLE_COLUMNS]  # columns by name
        rows, kaggle = ([row[i] for i in order] if len(row) == len(order) else row
                        for row in reader), True
    elif len(header) == len(RAW_COLUMNS):
        rows, kaggle = chain([header], reader), False
    else:
        kaggle_head = ",".join(KAGGLE_COLUMNS[:3])
        raise FraudctlError(f"{path} line 1: neither the Kaggle header ({kaggle_head},...) nor "
                            f"a raw line of {len(RAW_COLUMNS)} fields")
    expected = len(KAGGLE_COLUMNS) if kaggle else len(RAW_COLUMNS)
    names = KAGGLE_COLUMNS if kaggle else RAW_COLUMNS
    numeric = [i for i, n in enumerate(names) if n.upper() not in ("TS", "USER_ID", "CLASS")]
    row_id = first_id
    for line_number, row in enumerate(rows, start=2 if kaggle else 1):
        if not row:
            continue
        if len(row) != expected:
            raise FraudctlError(f"{path} line {line_number}: {len(row)} fields, expected "
                                f"{expected}")
        _check_numbers(path, line_number, row, names, numeric)
        if kaggle:
            label = row[-1].strip() if options.keep_labels else ""
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            user = USERS[row_id % len(USERS)]
            line = f'{row_id},"{now}","{user}",{",".join(row[:-1])},' + (
                f'"{label}"' if label else "")
        else:
            if not options.keep_labels:
                row[-1] = ""
            row_id = int(row[0]) if row[0].strip().lstrip("-").isdigit() else row_id
            line = ",".join(_quote_raw(i, v) for i, v in enumerate(row))
        yield row_id, line
        row_id += 1


def _check_numbers(path: Path, line_number: int, row: list[str], names, numeric) -> None:
    """Every numeric column holds a finite number (or is empty, a missing value the features
    stream filters out); anything else is refused here, naming the line and the column."""
    for i in numeric:
        value = row[i].strip()
        if not value:
            continue
        try:
            finite = math.isfinite(float(value))
        except ValueError:
            finite = False
        if not finite:
            raise FraudctlError(f"{path} line {line_number}, column {names[i]}: {value!r} is "
                                "not a finite number")


def _quote_raw(index: int, value: str) -> str:
    """Raw lines quote TS, USER_ID and CLASS (as the seed's sample does)."""
    if index in (1, 2) or (index == len(RAW_COLUMNS) - 1 and value):
        return f'"{value}"'
    return value


class Pacer:
    """Holds a steady rate without drifting (sleeps against a schedule, not per event)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.start = time.monotonic()

    def wait(self, sent: int) -> None:
        if self.rate <= 0:
            return
        due = self.start + sent / self.rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def replay(lines: Iterator[str], send: Callable[[str], None], options: ReplayOptions,
           flush: Callable[[], None], progress: TextIO = sys.stderr) -> int:
    """Send lines at the rate, show progress each second, stop on SIGINT; returns the count."""
    stop = {"now": False}
    previous = signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    pacer = Pacer(options.rate)
    sent, last_report, last_sent = 0, time.monotonic(), 0
    try:
        for line in lines:
            if stop["now"] or (options.limit is not None and sent >= options.limit):
                break
            pacer.wait(sent)
            send(line)
            sent += 1
            now = time.monotonic()
            if now - last_report >= 1.0:
                rate = (sent - last_sent) / (now - last_report)
                total = f"/{options.limit:,}" if options.limit else ""
                progress.write(f"\rreplayed {sent:,}{total} lines ({rate:,.0f}/s)   ")
                progress.flush()
                last_report, last_sent = now, sent
    finally:
        flush()
        signal.signal(signal.SIGINT, previous)
    progress.write(f"\rreplayed {sent:,} lines in {time.monotonic() - pacer.start:.1f}s"
                   f"{' (interrupted)' if stop['now'] else ''}\n")
    return sent


def kafka_sender(bootstrap: str, topic: str,
                 connect_timeout: float = 10.0) -> tuple[Callable[[str], None], Callable[[], None]]:
    """Send lines to `topic`; the cluster is asked first, so an unreachable broker is one clear
    error within `connect_timeout` seconds (librdkafka's own retry lines are kept quiet)."""
    from confluent_kafka import KafkaException, Producer

    from infra.kafka import QUIET_LOGGER
    errors: list[str] = []
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 10,
                         "enable.idempotence": True, "logger": QUIET_LOGGER,
                         "on_delivery": lambda err, _m: errors.append(str(err)) if err else None})
    try:
        producer.list_topics(timeout=connect_timeout)
    except KafkaException as exc:
        raise FraudctlError(f"Kafka at {bootstrap} did not answer within {connect_timeout:.0f}s "
                            f"({exc.args[0].str() if exc.args else exc}); is the broker "
                            "running (`fraudctl local status`) and BOOTSTRAP_SERVERS right?"
                            ) from None

    def send(line: str) -> None:
        while True:
            try:
                producer.produce(topic, value=line.encode())
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)

    def flush() -> None:
        remaining = producer.flush(60)
        if remaining or errors:
            raise FraudctlError(f"{remaining} line(s) not acknowledged by Kafka "
                                f"({errors[0] if errors else 'flush timed out'})")

    return send, flush


def file_sender(path: Path) -> tuple[Callable[[str], None], Callable[[], None]]:
    """Append lines to the file a FileStreamSource tails (each line flushed for the tailer)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = path.open("a", buffering=1)
    return (lambda line: fh.write(line + "\n")), fh.close
