"""The fault harness: the whole pipeline on a stack of its own, a process killed (or stopped) in
the middle of a replay and started again, then every record counted at every stage.

What goes in is known exactly: a replay of synthetic payments through Connect's source file,
labels a few seconds later through the labels file, a model whose alerts are computed here
offline from the same lines. What comes out is counted as a read_committed reader sees it
(records, not offsets: transaction markers take offsets too) and as ksqlDB's monitoring tables
report it. A run is exact when each count equals what went in.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import onnxruntime as ort
import orjson
from model_factory import make_model
from sidecar_harness import SidecarProcess
from topology_project import copy_repo_project, run_fraudctl

from core.artifact import read_artifact
from core.kafka import Connection, consume_messages
from core.records import json_value
from infra.ksql_client import KsqlClient, pull_rows
from infra.local import LocalStack, StackConfig
from infra.local.stack import free_port
from infra.rest import RestConfig
from training.synth import synthesize, write_kaggle_csv

#: FRAUD_FAULT_GUARANTEE=at_least_once runs the same tests on an at-least-once pipeline (stack,
#: environment and sidecar): the kill -9 tests must then fail, which shows they can
GUARANTEE = os.environ.get("FRAUD_FAULT_GUARANTEE", "exactly_once")
EXACTLY_ONCE = GUARANTEE == "exactly_once"
ROWS = int(os.environ.get("FRAUD_FAULT_ROWS", "4000"))
RATE = float(os.environ.get("FRAUD_FAULT_RATE", "400"))
LABEL_DELAY = 3.0
ALERT_SHARE = 0.03  # the model's threshold flags this share of the payments
FAULT_AT = 0.4  # the fault comes when this share of the replay has been written
#: a stage that has not moved for this long is counted as it stands (a stuck pipeline fails)
STUCK_AFTER = 120.0
PROCESSES = ("kafka", "connect", "ksqldb", "sidecar")


@dataclass
class Servers:
    """How a run reaches its stack: the environment's `servers:` (on top of `base_env`), Kafka
    as the counting reader and as the sidecar, and ksqlDB's REST settings."""

    servers: dict
    base_env: str
    reader: Connection
    sidecar: Connection
    ksqldb: RestConfig


def single_node(stack: LocalStack) -> Servers:
    """The single-node stack: plain text, no credentials; with its Schema Registry, so every
    topic between the parts is in the shipped wire format (JSON_SR)."""
    endpoints = stack.endpoints()
    servers = {"kafka": {"bootstrap_servers": endpoints["bootstrap_servers"]},
               "connect": {"url": endpoints["connect_url"]},
               "ksqldb": {"url": endpoints["ksqldb_url"]}}
    if endpoints["schema_registry_url"]:
        servers["schema_registry"] = {"url": endpoints["schema_registry_url"]}
    return Servers(servers, "compose",
                   endpoints["bootstrap_servers"], endpoints["bootstrap_servers"],
                   RestConfig(endpoints["ksqldb_url"], timeout=10))


def start_fault_stack(run_dir: Path) -> LocalStack:
    """A broker, Connect worker and ksqlDB server of the harness's own, on free ports."""
    stack = LocalStack(StackConfig(run_dir=run_dir, kafka_port=free_port(),
                                   controller_port=free_port(), connect_port=free_port(),
                                   ksqldb_port=free_port(), registry_port=free_port(),
                                   exactly_once=EXACTLY_ONCE))
    stack.up(timeout=300, log=lambda *_: None)
    return stack


@dataclass
class Counts:
    """What each stage holds for one run (topics read committed; tables summed)."""

    raw: int = 0
    features: int = 0
    scored: int = 0
    alerts: int = 0
    alert_file_payments: int = 0  # distinct PAYMENT_IDs in the alerts file (a sink may repeat)
    events_scored: int = 0  # monitor counts topic: scored payments its rows count (EVENTS)
    events_labelled: int = 0  # ... labels that found their payment (LABELLED)
    table_events: int = 0  # MONITOR_ALERT_RATE
    table_alerts: int = 0
    drift_events: int = 0  # MONITOR_SCORE_DRIFT
    latency_events: int = 0  # MONITOR_LATENCY
    accuracy_events: int = 0  # MONITOR_ACCURACY_TOTALS
    labelled: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def differences(self, expected: Counts) -> dict[str, tuple[int, int]]:
        return {f.name: (getattr(self, f.name), getattr(expected, f.name)) for f in fields(self)
                if getattr(self, f.name) != getattr(expected, f.name)}


class PipelineRun:
    """One topology with its own prefix and topics on the fault stack, one sidecar, one
    replay; `counts()` reads every stage, `expected` is what went in."""

    def __init__(self, stack: LocalStack, workdir: Path, servers: Servers | None = None) -> None:
        self.stack, self.workdir = stack, workdir
        servers = servers or single_node(stack)
        self.tag = uuid.uuid4().hex[:6]
        self.root = workdir / "repo"
        files = {"source": str(workdir / "connect" / "transactions.csv"),
                 "alerts": str(workdir / "connect" / "alerts.jsonl"),
                 "labels": str(workdir / "connect" / "labels.csv")}
        spec = copy_repo_project(self.root, self.tag, servers.servers, files=files,
                                 base_env=servers.base_env, guarantee=GUARANTEE)
        self.topics, self.prefix = spec["vars"]["topics"], spec["prefix"].upper()
        self.files = {k: Path(v) for k, v in files.items()}
        self.reader, self.sidecar_kafka = servers.reader, servers.sidecar
        #: the sidecar frames its records where the topology's topics are JSON_SR
        self.registry = (servers.servers.get("schema_registry") or {}).get("url")
        self.ksql = KsqlClient(servers.ksqldb)
        self.sidecars: list[SidecarProcess] = []
        #: the group the environment's ACLs grant its sidecars (fraud-demo-<env>...)
        self.group = f"fraud-demo-it-{self.tag}"
        self.replayer: subprocess.Popen | None = None
        self.model = workdir / "model.onnx"
        self.expected = Counts()
        self.alert_file_lines = 0

    # ----- set-up ------------------------------------------------------------------------------
    def apply(self) -> None:
        data = self.workdir / "kaggle.csv"
        write_kaggle_csv(synthesize(ROWS, 0.01, seed=5), data)
        self.data = data
        make_model(self.model, seed=4, threshold=1.0)
        self.files["source"].parent.mkdir(parents=True, exist_ok=True)
        applied = run_fraudctl(self.root, "apply", "--auto-approve")
        assert applied.returncode == 0, applied.stdout + applied.stderr

    def calibrate(self) -> None:
        """Set the model's threshold so that ALERT_SHARE of this data set is flagged."""
        from training.data import load_dataset

        features = load_dataset(self.data).features.astype(np.float32)
        scores = ort.InferenceSession(str(self.model)).run(["score"],
                                                           {"features": features})[0]
        make_model(self.model, seed=4, threshold=float(np.quantile(scores, 1 - ALERT_SHARE)))

    @property
    def sidecar(self) -> SidecarProcess | None:
        return self.sidecars[0] if self.sidecars else None

    def start_sidecar(self, instance: int = 0) -> None:
        """Sidecar `instance` of the run's group (started again under the same id)."""
        sidecar = SidecarProcess.for_pipeline(
            self.sidecar_kafka, self.model, self.topics, self.group, self.workdir,
            exactly_once=EXACTLY_ONCE, instance_id=f"fault-{self.tag}-{instance}",
            extra=("--batch-size", "50"), registry=self.registry).start()
        if instance < len(self.sidecars):
            self.sidecars[instance] = sidecar
        else:
            self.sidecars.append(sidecar)
        sidecar.wait_ready(timeout=90)

    def start_replay(self) -> None:
        log = (self.workdir / "replay.log").open("ab")
        self.replayer = subprocess.Popen(
            [sys.executable, "-m", "fraudctl.cli", "replay", "--data", str(self.data),
             "--rate", str(RATE), "--to", "file", "--file", str(self.files["source"]),
             "--labels-file", str(self.files["labels"]), "--start-id", "1",
             "--label-delay", str(LABEL_DELAY), "--normal-label-share", "0.2",
             "--env", "it", "--project", str(self.root)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()

    def wait_replayed(self, share: float, timeout: float = 120.0) -> None:
        """Until `share` of the rows are in the source file (1.0: the replay has ended)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if share >= 1.0 and self.replayer.poll() is not None:
                assert self.replayer.returncode == 0, (self.workdir / "replay.log").read_text()
                return
            if share < 1.0 and _lines(self.files["source"]) >= share * ROWS:
                return
            time.sleep(0.1)
        raise AssertionError(f"the replay did not reach {share:.0%} in {timeout:.0f}s")

    # ----- the fault -----------------------------------------------------------------------------
    def inject(self, process: str, sig: int, restart: bool = True) -> float:
        """Stop `process` with `sig` and (unless not `restart`: its peers take over) start it
        again; returns the seconds it was away."""
        started = time.monotonic()
        if process == "sidecar":
            if sig == signal.SIGKILL:  # while it works through a backlog: batches in flight
                self.sidecar.proc.send_signal(signal.SIGSTOP)
                time.sleep(3)
                self.sidecar.proc.send_signal(signal.SIGCONT)
                time.sleep(0.05)
                self.sidecar.kill()
            else:
                self.sidecar.stop()
            if restart:
                self.start_sidecar()
        else:
            others = {n: p for n, p in self.stack.recorded_pids().items() if n != process}
            assert self.stack.stop_process(process, sig, log=lambda *_: None) is not None
            status = self.stack.status()["processes"]
            assert not status[process]["alive"], "status must say which process is down"
            assert all(status[n]["alive"] for n in others)
            if not restart:
                return time.monotonic() - started
            self.stack.up(timeout=300, log=lambda *_: None)
            after = self.stack.recorded_pids()
            assert {n: after[n] for n in others} == others, "up restarts only the dead one"
        return time.monotonic() - started

    # ----- what went in ---------------------------------------------------------------------------
    def expect(self) -> Counts:
        """Offline: score the replayed lines with the same model, join the labels sent."""
        lines = self.files["source"].read_text().splitlines()
        ids = np.array([int(line.split(",", 1)[0]) for line in lines])
        features = np.array([[float(x) for x in line.split(",")[3:33]] for line in lines],
                            dtype=np.float32)
        session = ort.InferenceSession(str(self.model))
        scores = session.run(["score"], {"features": features})[0]
        threshold = read_artifact(self.model).threshold
        alert = dict(zip(ids.tolist(), (scores > threshold).tolist(), strict=True))
        labels = {int(row.split(",")[0]): row.split(",")[1].strip('"')
                  for row in self.files["labels"].read_text().splitlines()}
        tp = sum(alert[i] and lab == "1" for i, lab in labels.items())
        fp = sum(alert[i] and lab == "0" for i, lab in labels.items())
        fn = sum(not alert[i] and lab == "1" for i, lab in labels.items())
        tn = sum(not alert[i] and lab == "0" for i, lab in labels.items())
        n, alerts = len(lines), int(sum(alert.values()))
        self.expected = Counts(raw=n, features=n, scored=n, alerts=alerts,
                               alert_file_payments=alerts, events_scored=n,
                               events_labelled=len(labels), table_events=n, table_alerts=alerts,
                               drift_events=n, latency_events=n, accuracy_events=n,
                               labelled=len(labels), tp=tp, fp=fp, fn=fn, tn=tn)
        return self.expected

    # ----- what came out --------------------------------------------------------------------------
    def table_counts(self) -> Counts:
        def rows(table: str) -> list[dict]:
            return pull_rows(self.ksql, f"SELECT * FROM {self.prefix}{table};")

        def total(found: list[dict], column: str) -> int:
            return sum(r.get(column) or 0 for r in found)

        rate, drift = rows("MONITOR_ALERT_RATE"), rows("MONITOR_SCORE_DRIFT")
        latency, accuracy = rows("MONITOR_LATENCY"), rows("MONITOR_ACCURACY_TOTALS")
        return Counts(table_events=total(rate, "EVENTS"), table_alerts=total(rate, "ALERTS"),
                      drift_events=total(drift, "EVENTS"),
                      latency_events=total(latency, "EVENTS"),
                      accuracy_events=total(accuracy, "EVENTS"),
                      labelled=total(accuracy, "LABELLED"), tp=total(accuracy, "TP"),
                      fp=total(accuracy, "FP"), fn=total(accuracy, "FN"),
                      tn=total(accuracy, "TN"))

    def topic_counts(self, into: Counts) -> Counts:
        def read(topic: str, at_least: int) -> list:
            return consume_messages(self.reader, topic, at_least, timeout=60, idle_after=2.0,
                                    isolation="read_committed")

        e = self.expected
        into.raw = len(read(self.topics["raw"], e.raw))
        into.features = len(read(self.topics["features"], e.features))
        into.scored = len(read(self.topics["scored"], e.scored))
        into.alerts = len(read(self.topics["alerts"], e.alerts))
        # the sidecar's rows count batches of payments, ksqlDB's accuracy rows one label each
        # (or a sidecar row's EVENTS again): at least one row is there once anything was
        # counted; reading goes on until none comes for 2 s
        rows = [json_value(m.value()) for m in read(self.topics["monitor_counts"],
                                                    min(1, e.events_scored))]
        into.events_scored = sum(row.get("EVENTS") or 0 for row in rows)
        accuracy = [json_value(m.value()) for m in read(self.topics["accuracy_counts"],
                                                        min(1, e.events_labelled))]
        into.events_labelled = sum(row.get("LABELLED") or 0 for row in accuracy)
        into.alert_file_payments = self.alert_file_payments()
        return into

    def settle(self, timeout: float = 360.0) -> Counts:
        """Wait until the tables and the alerts file reach what went in and stay there (or
        stop moving for STUCK_AFTER s), then count every stage."""
        deadline = time.monotonic() + timeout
        previous, still_since, said = None, time.monotonic(), 0.0
        tables = Counts()
        while time.monotonic() < deadline:
            try:
                tables = self.table_counts()
            except Exception as exc:  # ksqlDB still restoring after its restart
                print(f"      tables not readable yet: {exc}", flush=True)
                time.sleep(2)
                continue
            tables.alert_file_payments = self.alert_file_payments()
            behind = {k for k in tables.differences(self.expected)
                      if k.startswith(("table_", "drift", "latency", "accuracy", "labelled",
                                       "tp", "fp", "fn", "tn", "alert_file"))}
            if tables != previous:
                previous, still_since = tables, time.monotonic()
            if not behind and time.monotonic() - still_since >= 6:
                break  # a few seconds more: repeats after a crash would still show
            if behind and time.monotonic() - still_since >= STUCK_AFTER:
                break  # stuck or past the mark: count what is there
            if behind and time.monotonic() - said >= 15:
                said = time.monotonic()
                shown = ", ".join(f"{k} {getattr(tables, k):,}" for k in sorted(behind))
                print(f"      still behind: {shown}", flush=True)
            time.sleep(2)
        return self.topic_counts(tables)

    def report(self, fault: str, away: float, got: Counts) -> str:
        """`report` of what came out against `expected`; where they differ, with what
        `fraudctl plan` says of FAILED connectors and tasks (a source task that died stays
        FAILED until restarted, and its stage comes up short)."""
        shown = report(fault, away, got, self.expected, self.alert_file_lines)
        if got.differences(self.expected):
            planned = run_fraudctl(self.root, "plan")
            shown += "".join(f"\n  plan: {line.strip()}" for line
                             in (planned.stdout + planned.stderr).splitlines() if "FAILED" in line)
        return shown

    def alert_file_payments(self) -> int:
        """Distinct PAYMENT_IDs in the alerts file (the sink may write a line twice)."""
        try:
            lines = self.files["alerts"].read_text().splitlines()
        except FileNotFoundError:
            return 0
        self.alert_file_lines = len(lines)
        return len({orjson.loads(line)["PAYMENT_ID"] for line in lines if line.strip()})

    # ----- tear-down -----------------------------------------------------------------------------
    def close(self) -> None:
        if self.replayer is not None and self.replayer.poll() is None:
            self.replayer.terminate()
            self.replayer.wait(10)
        for sidecar in self.sidecars:
            sidecar.stop()
        run_fraudctl(self.root, "destroy", "--auto-approve", "--delete-topics")


def _lines(path: Path) -> int:
    try:
        with path.open("rb") as fh:
            return sum(1 for _ in fh)
    except FileNotFoundError:
        return 0


def report(fault: str, away: float, got: Counts, expected: Counts,
           alert_file_lines: int = 0) -> str:
    """One line per stage: what came out against what went in."""
    rows = [f"fault: {fault} ({GUARANTEE}; {ROWS:,} payments at {RATE:g}/s; back after "
            f"{away:.1f}s; alerts file: {alert_file_lines:,} lines, repeats allowed)"]
    for name, value in asdict(got).items():
        want = getattr(expected, name)
        mark = "" if value == want else f"   <-- {value - want:+,}"
        rows.append(f"  {name:20} {value:>8,} / {want:>8,}{mark}")
    return "\n".join(rows)
