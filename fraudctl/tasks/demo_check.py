"""The demo without a terminal: replay a fixed number of rows (and, a few seconds later, the
labels of all frauds and a sample of genuine payments), wait until every row is scored and
counted by the monitoring tables and every label has found its payment, print a summary, and
say whether the counts add up: the confusion counts ksqlDB reports must equal those computed
here from the scored records and the labels.

Counts are this run's own: records are told apart by their payment IDs (a fresh range per run)
and by the topics' offsets when the run began; the monitoring tables are read before and after,
and the difference is what this run added.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from core.contract import S_IS_ANOMALY, S_MODEL_VERSION, S_SCORE, S_THRESHOLD
from core.errors import CheckFailed, ServerError
from core.records import json_value
from core.waiting import wait_until
from fraudctl.tasks.monitor import latency_percentile, merged_buckets
from fraudctl.tasks.stages import unanswered, waiting_stage
from infra.ksql_client import KsqlClient, pull_rows

DEFAULT_ROWS = 2_000
#: the monitoring tables whose counts the check compares with this run's records
COUNTED_TABLES = ("monitor_alert_rate", "monitor_accuracy", "monitor_latency")


@dataclass
class Totals:
    """What the monitoring tables hold, summed over windows and model versions."""

    events: int = 0
    alerts: int = 0
    accuracy_events: int = 0
    labelled: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    latency_events: int = 0
    buckets: dict[str, int] = field(default_factory=dict)

    COUNTS = ("events", "alerts", "accuracy_events", "labelled", "tp", "fp", "fn", "tn",
              "latency_events")

    @classmethod
    def read(cls, client: KsqlClient, env) -> Totals:
        rate, accuracy, latency = (pull_rows(client, f"SELECT * FROM {env.ksql_name(t)};")
                                   for t in COUNTED_TABLES)

        def total(rows: list[dict], column: str) -> int:
            return sum(r[column] or 0 for r in rows)

        return cls(events=total(rate, "EVENTS"), alerts=total(rate, "ALERTS"),
                   accuracy_events=total(accuracy, "EVENTS"),
                   labelled=total(accuracy, "LABELLED"), tp=total(accuracy, "TP"),
                   fp=total(accuracy, "FP"), fn=total(accuracy, "FN"),
                   tn=total(accuracy, "TN"), latency_events=total(latency, "EVENTS"),
                   buckets=merged_buckets(latency))

    def minus(self, before: Totals) -> Totals:
        buckets = {k: v - before.buckets.get(k, 0) for k, v in self.buckets.items()}
        counts = {name: getattr(self, name) - getattr(before, name) for name in self.COUNTS}
        return Totals(**counts, buckets={k: v for k, v in buckets.items() if v})

    def confusion(self) -> tuple[int, int, int, int]:
        return self.tp, self.fp, self.fn, self.tn


@dataclass
class RunRecords:
    """This run's scored records (by payment ID), dead letters and alerts."""

    scored: dict[int, dict] = field(default_factory=dict)
    duplicates: int = 0
    dead_letters: int = 0
    alerts: set[int] = field(default_factory=set)
    labels: dict[int, str] = field(default_factory=dict)  # as the labels stream keyed them
    labels_sent: int = 0

    def confusion(self) -> tuple[int, int, int, int]:
        """TP, FP, FN, TN of the labelled payments, from the sidecar's own records."""
        counts = [0, 0, 0, 0]
        for payment_id, label in self.labels.items():
            alert = bool(self.scored.get(payment_id, {}).get(S_IS_ANOMALY))
            counts[(0 if alert else 2) + (0 if label == "1" else 1)] += 1
        return counts[0], counts[1], counts[2], counts[3]


def run_and_check(args, env, data: Path, files: tuple[Path, Path], steps,
                  sidecar_url: str | None = None) -> int:
    """Steps 5 to 7 of the demo without a terminal; returns the exit code. (`sidecar_url`:
    where to ask the sidecar whether it is stalled, when the pipeline stops moving.)"""
    from core.kafka import TopicTail
    from fraudctl.tasks.replay import FileTarget, LabelPolicy, ReplayOptions, payments, replay

    rows = args.rows_to_replay or DEFAULT_ROWS
    first_id = int(time.time() * 1000) * 1000  # a range no earlier run used
    ids = range(first_id, first_id + rows)
    topics = env.variables["topics"]
    client = KsqlClient(env.ksqldb)
    tails = {name: TopicTail(env.kafka("monitor"), topic) for name, topic in (
        ("scored", topics["scored"]), ("dlq", topics["scored"] + ".dlq"),
        ("alerts", topics["alerts"]), ("labels", topics["labels"]))}
    try:
        before = steps.run("wait until the pipeline has no earlier records left to count, and "
                           "read the monitoring tables", lambda: _quiet_totals(client, env,
                                                                               args.timeout))
        options = ReplayOptions(rate=args.rate, limit=rows, start_id=first_id,
                                labels=LabelPolicy(delay=args.label_delay))
        source, labels_file = files

        def send() -> int:
            result = replay(payments(data, options), FileTarget(source, labels_file), options)
            records.labels_sent = result.labels
            return result.payments

        records = RunRecords()
        sent = steps.run(f"replay {rows:,} rows of {data.name} at {args.rate:g}/s into "
                         f"{source}, and labels {args.label_delay:g}s later into "
                         f"{labels_file}", send)
        after = steps.run("wait until every row is scored and counted by the monitoring "
                          "tables", lambda: _wait(client, env, tails, ids, records, before,
                                                  sidecar_url, sent, args.timeout))
    finally:
        for tail in tails.values():
            tail.close()
    problems = _check(sent, rows, records, after)
    print(_summary(sent, records, after))
    if problems:
        raise CheckFailed("the counts do not add up: " + "; ".join(problems))
    print("\nEvery replayed row was scored once and counted; the demo stopped what it started.")
    return 0


def _quiet_totals(client: KsqlClient, env, timeout: float) -> Totals:
    """The monitoring totals once nothing moves any more: the tables' queries have consumed
    every record (no lag) and two readings 3 s apart agree. Records of earlier runs still on
    their way (after a restart, or a sidecar catching up) would otherwise count as this run's."""
    tables = [env.ksql_name(t) for t in COUNTED_TABLES]
    previous = Totals.read(client, env)
    lag, down = 0, []

    def resting() -> Totals | None:
        nonlocal previous, lag, down
        current, before = Totals.read(client, env), previous
        previous = current
        lag = sum(client.lag(table) for table in tables)
        if current == before and lag == 0:
            return current
        down = unanswered(env) if current == before else []
        print(f"      earlier records still on their way: {current.events - before.events:,}"
              f" counted in the last 3 s, {lag:,} not yet consumed by the monitoring queries"
              + _servers_note(down), flush=True)
        return None

    time.sleep(3.0)
    return wait_until(resting, timeout, every=3.0, timed_out=lambda: CheckFailed(
        f"the pipeline did not come to rest within {timeout:.0f}s (monitoring queries {lag} "
        "records behind); earlier records would be counted as this run's"
        + _servers_note(down)))


def _servers_note(down: list[str]) -> str:
    return ("; waiting on: " + "; ".join(down)) if down else ""


def _collect(tails: dict, ids: range, records: RunRecords) -> None:
    for msg in tails["scored"].read():
        key = int.from_bytes(msg.key() or b"", "big", signed=True)
        if key in ids:
            if key in records.scored:
                records.duplicates += 1
            records.scored[key] = json_value(msg.value())
    records.dead_letters += len(tails["dlq"].read())
    for msg in tails["alerts"].read():
        key = int.from_bytes(msg.key() or b"", "big", signed=True)
        if key in ids:
            records.alerts.add(key)
    for msg in tails["labels"].read():
        key = int.from_bytes(msg.key() or b"", "big", signed=True)
        if key in ids:
            records.labels[key] = json_value(msg.value())["LABEL"]


def _wait(client: KsqlClient, env, tails: dict, ids: range, records: RunRecords,
          before: Totals, sidecar_url: str | None, sent: int, timeout: float) -> Totals:
    deadline = time.monotonic() + timeout
    last_report, last_change, seen = 0.0, time.monotonic(), None
    after = Totals()
    while True:
        _collect(tails, ids, records)
        try:
            after = Totals.read(client, env).minus(before)
        except ServerError as exc:  # ksqlDB away: keep waiting, say so below
            print(f"      the monitoring tables cannot be read: {exc}", flush=True)
        progress = (len(records.scored), records.dead_letters, after.events, after.labelled)
        if progress != seen:
            seen, last_change = progress, time.monotonic()
        done = len(records.scored) + records.dead_letters >= sent
        counted = (after.events >= len(records.scored)
                   and after.latency_events >= len(records.scored)
                   and after.accuracy_events >= len(records.scored)
                   and len(records.alerts) >= _anomalies(records)
                   and len(records.labels) >= records.labels_sent
                   and after.labelled >= records.labels_sent)
        if done and counted:
            return after
        if time.monotonic() > deadline:
            return after
        if time.monotonic() - last_report > 5:
            print(f"      scored {len(records.scored):,}/{sent:,}, dead letters "
                  f"{records.dead_letters}, counted by ksqlDB {after.events:,}, labels "
                  f"matched {after.labelled:,}/{records.labels_sent:,}", flush=True)
            if time.monotonic() - last_change > 10:  # stopped moving: say where and why
                stage = waiting_stage(sent, len(records.scored) + records.dead_letters,
                                      after.events, records.labels_sent, after.labelled)
                print(f"      nothing moved for {time.monotonic() - last_change:.0f} s; "
                      f"waiting at {stage}" + _servers_note(unanswered(env, sidecar_url)),
                      flush=True)
            last_report = time.monotonic()
        time.sleep(1.0)


def _anomalies(records: RunRecords) -> int:
    return sum(bool(v.get(S_IS_ANOMALY)) for v in records.scored.values())


def _check(sent: int, wanted: int, records: RunRecords, after: Totals) -> list[str]:
    problems = []
    scored = len(records.scored)
    if sent != wanted:
        problems.append(f"replayed {sent:,} rows, not {wanted:,} (the data file is shorter?)")
    if scored + records.dead_letters != sent:
        problems.append(f"{sent:,} rows replayed, but {scored:,} scored and "
                        f"{records.dead_letters} dead-lettered")
    if records.duplicates:
        problems.append(f"{records.duplicates} row(s) scored more than once")
    above = sum(v[S_SCORE] > v[S_THRESHOLD] for v in records.scored.values())
    if len(records.alerts) != above:
        problems.append(f"{len(records.alerts)} alerts, but {above} rows scored above the "
                        "threshold")
    if after.events != scored:
        problems.append(f"the monitoring tables counted {after.events:,} events, not {scored:,}")
    if after.alerts != len(records.alerts):
        problems.append(f"the monitoring tables counted {after.alerts} alerts, not "
                        f"{len(records.alerts)}")
    if after.accuracy_events != scored:
        problems.append(f"the accuracy table counted {after.accuracy_events:,} events, not "
                        f"{scored:,}")
    if len(records.labels) != records.labels_sent:
        problems.append(f"{records.labels_sent} labels sent, but {len(records.labels)} reached "
                        "the labels stream")
    if after.labelled != records.labels_sent:
        problems.append(f"the accuracy table matched {after.labelled} labels with their "
                        f"payments, not {records.labels_sent}")
    if after.confusion() != records.confusion():
        problems.append(f"the accuracy table's TP/FP/FN/TN are {after.confusion()}, but the "
                        f"scored records and labels give {records.confusion()}")
    return problems


def _summary(sent: int, records: RunRecords, after: Totals) -> str:
    scored = len(records.scored)
    versions = sorted({v.get(S_MODEL_VERSION, "?") for v in records.scored.values()})
    precision = after.tp / (after.tp + after.fp) if after.tp + after.fp else None
    recall = after.tp / (after.tp + after.fn) if after.tp + after.fn else None
    share = after.labelled / after.accuracy_events if after.accuracy_events else None
    lines = ["", "Summary", "-------",
             f"rows replayed        {sent:>10,}",
             f"rows scored          {scored:>10,}",
             f"dead-lettered        {records.dead_letters:>10,}",
             f"alerts               {len(records.alerts):>10,}",
             f"alert rate           {len(records.alerts) / scored if scored else 0:>10.4f}",
             f"labels matched       {after.labelled:>10,}",
             f"labelled share       {_fmt(share)}",
             f"precision            {_fmt(precision)}",
             f"recall               {_fmt(recall)}",
             f"latency p50 (ms)     {_fmt(latency_percentile(after.buckets, 0.50))}",
             f"latency p99 (ms)     {_fmt(latency_percentile(after.buckets, 0.99))}",
             f"model version        {', '.join(versions) or '-'}"]
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return f"{value:>10.3f}" if value is not None else f"{'-':>10}"
