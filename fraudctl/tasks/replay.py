"""`fraudctl replay`: stream a dataset into `transactions.raw` at a chosen rate, and its labels
into `labels.raw` later, as they would arrive in production.

Reads the Kaggle format (`Time,V1..V28,Amount,Class`, adding ID, TS and USER_ID) or the raw
format line by line, so files of any size stream without loading them. Payments go out without
their label (CLASS empty: nobody knows at payment time); a `LabelPolicy` decides which payments
get a label (all frauds and a sample of genuine ones by default) and sends each one `delay`
seconds after its payment. Targets: the topics (Kafka producer) or the files the Connect
FileStreamSources tail.
"""

from __future__ import annotations

import csv
import math
import random
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Protocol, TextIO

from core.contract import DEMO_USERS, KAGGLE_COLUMNS, RAW_COLUMNS, label_line, raw_line
from core.errors import DataError, ServerError, UsageError
from core.kafka import Connection


@dataclass
class LabelPolicy:
    """Which payments get a label, and how long after the payment it arrives."""

    delay: float = 10.0  # seconds after the payment
    fraud_share: float = 1.0  # share of frauds labelled (chargebacks: nearly all)
    normal_share: float = 0.1  # share of genuine payments labelled (reviews, confirmations)
    source: str = "replay"
    seed: int = 7  # the same file and policy label the same payments

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def picks(self, label: str) -> bool:
        """Whether this payment's label is sent (a draw per labelled payment)."""
        if label == "1":
            return self._rng.random() < self.fraud_share
        if label == "0":
            return self._rng.random() < self.normal_share
        return False


@dataclass
class ReplayOptions:
    rate: float  # events per second; 0 = as fast as possible
    limit: int | None = None
    loop: bool = False
    start_id: int | None = None
    labels: LabelPolicy | None = None  # None: no labels are sent


@dataclass(frozen=True)
class Payment:
    """One replayed row: its ID, its raw line (CLASS empty) and the label the file gave it."""

    payment_id: int
    line: str
    label: str  # "0", "1", or "" when the file has none


class Target(Protocol):
    """Where payments and labels go."""

    def payment(self, line: str) -> None: ...
    def label(self, line: str) -> None: ...
    def flush(self) -> None: ...


def payments(path: Path, options: ReplayOptions) -> Iterator[Payment]:
    """Payments from a Kaggle or raw file; loops over the file with `loop`."""
    next_id = options.start_id if options.start_id is not None else int(time.time() * 1000)
    while True:
        produced = 0
        with path.open(newline="") as fh:
            for payment in _records(path, fh, next_id):
                next_id = payment.payment_id + 1
                produced += 1
                yield payment
        if not options.loop or produced == 0:
            return


def _records(path: Path, fh: TextIO, first_id: int) -> Iterator[Payment]:
    reader = csv.reader(fh)
    header = next(reader, None)
    if header is None:
        raise DataError(f"{path}: the file is empty")
    names = [h.strip().lower() for h in header]
    if sorted(names) == sorted(c.lower() for c in KAGGLE_COLUMNS):
        order = [names.index(c.lower()) for c in KAGGLE_COLUMNS]  # columns by name
        rows, kaggle = ([row[i] for i in order] if len(row) == len(order) else row
                        for row in reader), True
    elif len(header) == len(RAW_COLUMNS):
        rows, kaggle = chain([header], reader), False
    else:
        kaggle_head = ",".join(KAGGLE_COLUMNS[:3])
        raise DataError(f"{path} line 1: neither the Kaggle header ({kaggle_head},...) nor "
                        f"a raw line of {len(RAW_COLUMNS)} fields")
    expected = len(KAGGLE_COLUMNS) if kaggle else len(RAW_COLUMNS)
    names = KAGGLE_COLUMNS if kaggle else RAW_COLUMNS
    numeric = [i for i, n in enumerate(names) if n.upper() not in ("TS", "USER_ID", "CLASS")]
    row_id = first_id
    for line_number, row in enumerate(rows, start=2 if kaggle else 1):
        if not row:
            continue
        if len(row) != expected:
            raise DataError(f"{path} line {line_number}: {len(row)} fields, expected "
                            f"{expected}")
        _check_numbers(path, line_number, row, names, numeric)
        label = row[-1].strip()
        if kaggle:
            line = raw_line(row_id, _now_iso(), DEMO_USERS[row_id % len(DEMO_USERS)], row[:-1])
        else:  # the label is held back: it travels on the labels topic, later
            row_id = int(row[0]) if row[0].strip().lstrip("-").isdigit() else row_id
            line = raw_line(row[0], row[1], row[2], row[3:-1])
        yield Payment(row_id, line, label)
        row_id += 1


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


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
            raise DataError(f"{path} line {line_number}, column {names[i]}: {value!r} is "
                            "not a finite number")


class Pacer:
    """Holds a steady rate without drifting (sleeps against a schedule, not per event). Delays
    shorter than MIN_SLEEP are skipped: a sleep that short overshoots, and the schedule makes
    up for it anyway."""

    MIN_SLEEP = 0.0005

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.start = time.monotonic()

    def wait(self, sent: int) -> None:
        if self.rate <= 0:
            return
        delay = self.start + sent / self.rate - time.monotonic()
        if delay > self.MIN_SLEEP:
            time.sleep(delay)


@dataclass
class ReplayResult:
    payments: int = 0
    labels: int = 0  # labels sent
    labels_unsent: int = 0  # labels still waiting for their time when the replay was stopped
    frauds_labelled: int = 0


class _LabelQueue:
    """Labels waiting for their time (one delay for all, so first in is first due)."""

    def __init__(self, policy: LabelPolicy, send: Callable[[str], None],
                 result: ReplayResult) -> None:
        self.policy, self.send, self.result = policy, send, result
        self.waiting: deque[tuple[float, int, str]] = deque()

    def add(self, payment: Payment) -> None:
        if self.policy.picks(payment.label):
            self.waiting.append((time.monotonic() + self.policy.delay, payment.payment_id,
                                 payment.label))

    def send_due(self) -> None:
        now = time.monotonic()
        while self.waiting and self.waiting[0][0] <= now:
            _, payment_id, label = self.waiting.popleft()
            self.send(label_line(payment_id, label, _now_iso(), self.policy.source))
            self.result.labels += 1
            self.result.frauds_labelled += label == "1"


def replay(rows: Iterable[Payment], target: Target, options: ReplayOptions,
           progress: TextIO = sys.stderr) -> ReplayResult:
    """Send payments at the rate and their labels after the policy's delay, show progress each
    second, stop on SIGINT (labels not yet due are then counted, not sent)."""
    stop = {"now": False}
    previous = signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    pacer = Pacer(options.rate)
    result = ReplayResult()
    labels = _LabelQueue(options.labels, target.label, result) if options.labels else None
    last_report, last_sent = time.monotonic(), 0

    def report(now: float) -> None:
        nonlocal last_report, last_sent
        rate = (result.payments - last_sent) / (now - last_report)
        total = f"/{options.limit:,}" if options.limit else ""
        waiting = (f", labels sent {result.labels:,} ({len(labels.waiting):,} waiting)"
                   if labels else "")
        progress.write(f"\rreplayed {result.payments:,}{total} lines ({rate:,.0f}/s){waiting}   ")
        progress.flush()
        last_report, last_sent = now, result.payments

    try:
        for payment in rows:
            if stop["now"] or (options.limit is not None and result.payments >= options.limit):
                break
            pacer.wait(result.payments)
            target.payment(payment.line)
            result.payments += 1
            if labels:
                labels.add(payment)
                labels.send_due()
            if time.monotonic() - last_report >= 1.0:
                report(time.monotonic())
        while labels and labels.waiting and not stop["now"]:
            time.sleep(min(0.2, max(0.0, labels.waiting[0][0] - time.monotonic())))
            labels.send_due()
            if time.monotonic() - last_report >= 1.0:
                report(time.monotonic())
    finally:
        target.flush()
        signal.signal(signal.SIGINT, previous)
    result.labels_unsent = len(labels.waiting) if labels else 0
    label_text = ""
    if labels:
        label_text = f", {result.labels:,} labels ({result.frauds_labelled:,} frauds)"
        if result.labels_unsent:
            label_text += f", {result.labels_unsent:,} labels not sent"
    progress.write(f"\rreplayed {result.payments:,} lines{label_text} in "
                   f"{time.monotonic() - pacer.start:.1f}s"
                   f"{' (interrupted)' if stop['now'] else ''}\n")
    return result


class KafkaTarget:
    """Payments and labels to their topics; the cluster is asked first, so an unreachable
    broker is one clear error within `connect_timeout` seconds (librdkafka's own retry lines
    are kept quiet)."""

    def __init__(self, kafka: Connection, payments_topic: str, labels_topic: str,
                 connect_timeout: float = 10.0) -> None:
        from core.kafka import QUIET_LOGGER, producer, verify
        self.errors: list[str] = []
        self.topics = (payments_topic, labels_topic)
        self.producer = producer(kafka, {
            "linger.ms": 10, "enable.idempotence": True, "logger": QUIET_LOGGER,
            "on_delivery": lambda err, _m: self.errors.append(str(err)) if err else None})
        verify(kafka, timeout=connect_timeout)  # a wrong password fails here, by name

    def _send(self, topic: str, line: str) -> None:
        from core.kafka import produce_waiting

        produce_waiting(self.producer, topic, line.encode())
        self.producer.poll(0)

    def payment(self, line: str) -> None:
        self._send(self.topics[0], line)

    def label(self, line: str) -> None:
        self._send(self.topics[1], line)

    def flush(self) -> None:
        remaining = self.producer.flush(60)
        if remaining or self.errors:
            raise ServerError(f"{remaining} line(s) not acknowledged by Kafka "
                              f"({self.errors[0] if self.errors else 'flush timed out'})")


class FileTarget:
    """Append to the files the FileStreamSources tail (each line flushed for the tailer)."""

    def __init__(self, payments_file: Path, labels_file: Path | None) -> None:
        self.files = []
        for path in (payments_file, labels_file):
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.files.append(path.open("a", buffering=1))
        self.paths = (payments_file, labels_file)

    def payment(self, line: str) -> None:
        self.files[0].write(line + "\n")

    def label(self, line: str) -> None:
        if len(self.files) < 2:
            raise UsageError("labels are on, but no labels file was given")
        self.files[1].write(line + "\n")

    def flush(self) -> None:
        for fh in self.files:
            fh.close()
