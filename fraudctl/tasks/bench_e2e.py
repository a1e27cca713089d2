"""`fraudctl bench --e2e`: the whole pipeline's throughput and latency through ksqlDB.

Runs on an environment's servers (default: the local stack) in objects of its own (prefix
`fraud_bench_<tag>_`, topics suffixed `.bench<tag>`), dropped again at the end. It measures:

1. each stage alone on a backlog of N payments: the replayer (raw lines into Kafka), the
   features query (ksqlDB), the sidecar (ONNX scoring), the queries downstream of the scored
   stream (alerts, monitoring, accuracy), each with the CPU seconds its process spent;
2. the whole pipeline at offered rates: payments produced at a steady rate for a while, with
   consumer lag of every stage sampled, latency raw → scored (the sidecar's SCORED_AT minus the
   raw record's time) and raw → alert (when the alert reached a consumer), and the CPU seconds
   of every process. The highest rate at which nothing falls behind is the sustained figure.

The sidecar-alone figure of the same run is the baseline the pipeline is compared with.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.contract import S_SCORED_AT, label_line
from core.errors import CheckFailed, ConfigError, FraudError
from core.kafka import (
    QUIET_LOGGER,
    Connection,
    consume_messages,
    consumer,
    consuming,
    produce_waiting,
    producer,
)
from core.records import json_value
from core.waiting import wait_until
from fraudctl.tasks.query_lag import GroupLag, LagSampler, Partitions, topic_partitions
from fraudctl.tasks.replay import KafkaTarget, Pacer, ReplayOptions, payments, replay
from fraudctl.tasks.sidecar_process import pipeline_outputs, spawn_sidecar, terminate
from infra.topology.acls import READER_GROUPS, sidecar_group
from infra.topology.engine import Engine
from infra.topology.environment import Environment
from infra.topology.kinds import ObjectKind

#: what the stages create, in order (the rest of the templates follow with "monitoring")
FEATURE_OBJECTS = ("transactions_raw", "transactions_features")
#: the streams over the topics the sidecar writes (they create those topics)
SIDECAR_OBJECTS = ("transactions_scored", "transactions_flagged", "monitor_counts")
#: the sidecar's output topics (environment `topics` keys) that the queries downstream read
SIDECAR_OUTPUTS = ("scored", "flagged", "monitor_counts")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class E2EConfig:
    rows: int = 200_000
    rates: tuple[int, ...] = (2_000, 4_000, 8_000, 16_000, 30_000)
    seconds: float = 20.0  # how long each offered rate is held
    ksql_properties: dict[str, str] = field(default_factory=dict)  # the environment's settings
    overrides: dict[str, str] = field(default_factory=dict)  # --set: over every query's own
    partitions: int | None = None  # default: the environment's
    #: the model's threshold moved so that this share of the bench's payments are alerts (a
    #: bad rollout: an alert storm); None keeps the trained threshold (about 1%)
    alert_share: float | None = None


def _proc_stat(pid: int | None) -> list[str] | None:
    """A process's /proc/<pid>/stat fields after its command name (state first), None if
    unknown."""
    if not pid:
        return None
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of a process so far (Linux /proc), None if unknown."""
    fields = _proc_stat(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_age_seconds(pid: int | None) -> float | None:
    """Seconds since a process started (Linux /proc), None if unknown."""
    fields = _proc_stat(pid)
    if fields is None:
        return None
    try:
        started = int(fields[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return uptime - started / CLOCK_TICKS


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """CPU seconds spent by named processes between `start()` and `stop()`."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = pids
        self.begin: dict[str, float | None] = {}

    def _read(self) -> dict[str, float | None]:
        read = {name: process_cpu_seconds(pid) for name, pid in self.pids.items()}
        read["bench (replayer)"] = own_cpu_seconds()
        return read

    def start(self) -> None:
        self.begin = self._read()

    def stop(self) -> dict[str, float | None]:
        end = self._read()
        return {name: (None if end[name] is None or self.begin.get(name) is None
                       else end[name] - self.begin[name]) for name in end}


#: ksqlDB's CPU seconds since its start below which the bench calls its JVM cold. After a
#: restart the first backlog drained at 11,700-15,600/s and the second was often slow too; a
#: started ksqlDB had used about 20 CPU s, the first bench cost it 60-80 and a warm one about
#: 27, so this flags the first two benches (docs/BENCHMARKS.md, "After a restart, how many
#: benches until warm").
COLD_KSQLDB_CPU_SECONDS = 100.0


def server_warmth(pids: dict[str, int | None]) -> str | None:
    """How long each measured server has run and the CPU it has used, with a warning where
    ksqlDB's JVM is still cold; None if no server's process is known."""
    facts, ksqldb_cpu = [], []
    for name, pid in pids.items():
        age, cpu = process_age_seconds(pid), process_cpu_seconds(pid)
        if age is None or cpu is None:
            continue
        facts.append(f"{name} up {age / 60:,.1f} min, {cpu:,.0f} CPU s so far")
        if name.startswith("ksqldb"):
            ksqldb_cpu.append(cpu)
    if not facts:
        return None
    line = "servers: " + "; ".join(facts)
    if ksqldb_cpu and min(ksqldb_cpu) < COLD_KSQLDB_CPU_SECONDS:
        line += (" -> ksqlDB is still warming up: the first benches after a start run on cold "
                 "JVMs and drain slower; run the bench again for warm figures")
    return line


class BenchTopology:
    """The templates for a throw-away prefix (an environment derived from the caller's), built
    stage by stage and destroyed at the end by the topology engine, as `apply` and `destroy`
    would (ACLs included where the environment manages them)."""

    def __init__(self, project: Path, env: Environment, config: E2EConfig) -> None:
        self.tag = uuid.uuid4().hex[:6]
        variables = {"partitions": config.partitions} if config.partitions else {}
        self.env = env.derived(f"fraud_bench{self.tag}_", f".bench{self.tag}", **variables)
        self.env.query_overrides = dict(config.overrides)
        # ksqlDB objects only: the bench's replayer writes the raw topic itself
        self.engine = dataclasses.replace(Engine.load(project, self.env), connect=None)
        self.ksql_objects = [s.logical for s in self.engine.manifest.of_kind(ObjectKind.KSQL)]
        #: the objects a persistent query writes (the ones that can lag)
        self.queries = [s.logical for s in self.engine.manifest.queries()]
        self.created: list[str] = []

    @property
    def topics(self) -> dict[str, str]:
        return self.env.variables["topics"]

    def create(self, logical_names) -> None:
        """Apply the objects created so far and these (a plan over them creates these)."""
        self.created += [n for n in logical_names if n not in self.created]
        stage = self.engine.subset(self.created)
        stage.carry_out(stage.plan(), log=lambda _line: None)

    def rest(self) -> list[str]:
        return [name for name in self.ksql_objects if name not in self.created]

    def lag(self, logical_names) -> int:
        """Records the queries writing these objects have yet to consume."""
        return sum(self.engine.ksql.lag(self.engine.manifest.get(n).name)
                   for n in logical_names if n in self.queries)

    def groups(self, partitions: Callable[[str], Partitions]) -> dict[str, tuple[str, Partitions]]:
        """Each created query's consumer group and the partitions it reads (for `GroupLag`,
        which then reads the lag from Kafka alone): as ksqlDB describes them once the query
        has committed, else its application id and its sources' topics (`partitions` lists a
        topic's)."""
        ksql = self.engine.ksql
        service_id = ksql.info()["KsqlServerInfo"]["ksqlServiceId"]
        groups = {}
        for name in (n for n in self.queries if n in self.created):
            description = ksql.describe(self.engine.manifest.get(name).name, extended=True)
            read = [(summary["groupId"], [(topic["kafkaTopic"], offset["partition"])
                                          for topic in summary.get("topicSummaries") or []
                                          for offset in topic.get("offsets") or []])
                    for summary in description.get("queryOffsetSummaries") or []]
            if not read or not read[0][1]:  # nothing committed yet
                query_id = description["writeQueries"][0]["id"]
                sources = ksql.execute(f"EXPLAIN {query_id};")[0]["queryDescription"]["sources"]
                read = [(f"_confluent-ksql-{service_id}query_{query_id}",
                         [tp for source in sources
                          for tp in partitions(ksql.describe(source)["topic"])])]
            groups[name] = read[0]
        return groups

    def drop(self) -> None:
        """Destroy what the bench created, with its topics (and the rules it granted)."""
        try:
            self.engine.carry_out(self.engine.destroy_plan(delete_topics=True),
                                  log=lambda _line: None,
                                  delete_topics=True)
        except FraudError as exc:
            print(f"  (could not remove the bench's objects: {exc})", file=sys.stderr)


class EndOffsets:
    """How many records topics hold (the sum of their partitions' end offsets), read with one
    client for the whole run: polled often, it must not add a connection each time."""

    def __init__(self, kafka: Connection) -> None:
        # read_committed: end offsets are then the last stable offsets (committed records)
        self.consumer = consumer(kafka, {"group.id": f"{READER_GROUPS}bench-offsets",
                                         "logger": QUIET_LOGGER})

    def __call__(self, topic: str) -> int:
        from confluent_kafka import TopicPartition

        meta = self.consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or not meta.partitions:
            return 0
        return sum(self.consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                   for p in meta.partitions)

    def close(self) -> None:
        self.consumer.close()


def _wait_offsets(end_offsets: EndOffsets, topic: str, target: int, timeout: float = 900.0,
                  every: float = 0.5) -> tuple[float, float]:
    """(seconds until the topic's first record, seconds until it holds `target` records)."""
    start = time.monotonic()
    first: float | None = None
    count = 0

    def filled() -> float | None:
        nonlocal first, count
        count = end_offsets(topic)
        now = time.monotonic() - start
        if count and first is None:
            first = now
        return now if count >= target else None

    last = wait_until(filled, timeout, every=every, timed_out=lambda: CheckFailed(
        f"{topic}: {count:,} of {target:,} records after {timeout:.0f}s"))
    return first or 0.0, last


def _wait_caught_up(topology: BenchTopology, names: list[str], timeout: float = 900.0) -> None:
    """Until the queries writing `names` have consumed everything."""
    wait_until(lambda: topology.lag(names) <= 0, timeout, timed_out=lambda: CheckFailed(
        f"queries downstream of scored still {topology.lag(names):,} behind after "
        f"{timeout:.0f}s"))


def synthetic_file(rows: int, workdir: Path) -> Path:
    """A Kaggle-format file of synthetic payments (what the replayer reads)."""
    from training.synth import synthesize, write_kaggle_csv

    data = workdir / "bench.csv"
    write_kaggle_csv(synthesize(rows, 0.0017, seed=5), data)
    return data


def with_alert_share(model: Path, data: Path, share: float, workdir: Path) -> Path:
    """A copy of `model` whose threshold flags `share` of the payments in `data` (the score
    quantile), re-stamped with its new version."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    import pandas as pd

    from core.artifact import META_THRESHOLD, set_metadata, stamp_version
    from core.contract import KAGGLE_COLUMNS

    features = pd.read_csv(data)[list(KAGGLE_COLUMNS[:-1])].to_numpy(np.float32)
    scores = ort.InferenceSession(str(model)).run(None, {"features": features})[0]
    proto = onnx.load(str(model))
    set_metadata(proto, {META_THRESHOLD: repr(float(np.quantile(scores, 1 - share)))})
    stamp_version(proto)
    out = workdir / f"model-alerting-{share:g}.onnx"
    onnx.save(proto, str(out))
    return out


def raw_payload(data: Path, rows: int) -> list[bytes]:
    """The replayer's raw lines for `data`, kept in memory for the offered-rate runs."""
    lines = []
    for payment in payments(data, ReplayOptions(rate=0, loop=True, start_id=1)):
        lines.append(payment.line.encode())
        if len(lines) >= rows:
            break
    return lines


def _label_for(payment_id: int) -> bytes:
    """A genuine-payment label for a payment (the load's labels: one payment in ten)."""
    return label_line(payment_id, "0", "2026-01-01T00:00:00Z", "bench").encode()


def without_ids(lines: list[bytes]) -> list[bytes]:
    """Raw lines without their payment ID (the first field), for `PacedProducer.run`'s
    `first_id`."""
    return [line.split(b",", 1)[1] for line in lines]


class PacedProducer:
    """Produces lines to a topic at a steady rate (or as fast as it can with rate 0)."""

    def __init__(self, kafka: Connection, topic: str) -> None:
        self.topic = topic
        self.producer = producer(kafka, {"linger.ms": 5, "batch.num.messages": 10_000,
                                         "logger": QUIET_LOGGER,
                                         "queue.buffering.max.messages": 500_000})

    def run(self, lines: list[bytes], rate: float, seconds: float | None = None,
            limit: int | None = None, first_id: int | None = None) -> int:
        """Send `rate * seconds` lines (all of them, or `limit`, without `seconds`), wrapping
        around; returns how many were sent. With `first_id`, `lines` are raw lines without
        their ID (`without_ids`) and the payments get IDs from `first_id` up: a payment ID
        sent twice would match its label once per copy in the label join."""
        pacer = Pacer(rate)
        sent = 0
        n = len(lines)
        total = (limit or n) if seconds is None else int(rate * seconds)
        produce, poll = self.producer.produce, self.producer.poll
        while sent < total:
            pacer.wait(sent)
            burst = min(total - sent, 200 if rate > 0 else 10_000)
            for i in range(sent, sent + burst):
                value = lines[i % n] if first_id is None else b"%d,%b" % (first_id + i,
                                                                          lines[i % n])
                try:
                    produce(self.topic, value)
                except BufferError:  # queue full: wait for deliveries (the slow path)
                    produce_waiting(self.producer, self.topic, value)
            sent += burst
            poll(0)
        self.producer.flush(60)
        return sent


@dataclass
class StageResult:
    name: str
    records: int
    seconds: float
    cpu: dict[str, float | None]

    @property
    def per_second(self) -> float | None:
        """None when the whole backlog went through between two polls: too fast to time."""
        return self.records / self.seconds if self.seconds > 0 else None

    @property
    def rate_text(self) -> str:
        rate = self.per_second
        return f"{rate:,.0f} payments/s" if rate is not None else "too fast to time (more --rows)"


def _read_all(kafka: Connection, topic: str, n: int) -> list[tuple[bytes, bytes]]:
    """The first `n` records of `topic` (key, value); n=0: all of them (until none came for
    3 s)."""
    return [(m.key(), m.value()) for m in consume_messages(
        kafka, topic, n, timeout=300, idle_after=None if n else 3.0)]


def _produce_keyed(kafka: Connection, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    """Keyed records with Java's partitioner (as the sidecar writes them), as fast as it can."""
    writer = producer(kafka, {"linger.ms": 5, "logger": QUIET_LOGGER,
                              "partitioner": "murmur2_random",
                              "queue.buffering.max.messages": 500_000})
    for key, value in records:
        produce_waiting(writer, topic, value, key)
    writer.flush(60)


@dataclass
class RateResult:
    offered: int
    produced_per_s: float
    scored_per_s: float
    kept_up: bool
    end_lag: int
    p50_ms: float | None
    p99_ms: float | None
    alert_p50_ms: float | None
    alert_p99_ms: float | None
    cpu: dict[str, float | None]
    #: every payment of the rate through every stage: those produced over the seconds from the
    #: first one to the end of the drain (at a rate too high to hold: a backlog drained)
    end_to_end_per_s: float = 0.0


def rate_held(rate: int, early: int, late: int, drain: float, produced_for: float,
              commit_s: float) -> bool:
    """Whether the pipeline kept up with `rate`: what was behind did not grow from the second
    quarter of the load to the last (`early`, `late`: each part's lowest sample there, so that
    input a query has read but not yet committed does not count; 10% and half a second of
    input allowed for noise: about 7% of the rate missing shows), and it drained within 5 s
    plus two commit intervals and no longer than the load lasted (a short load that takes
    longer to drain than to produce was a backlog, not a rate held)."""
    return late <= early * 1.1 + rate / 2 and drain < min(5 + 2 * commit_s, produced_for)


def _latencies(kafka: Connection, topic: str, since_ms: float, until_ms: float,
               field_name: str) -> list[float]:
    """Latency (ms) of the records of `topic` whose timestamp lies in [since, until): from the
    record's time to its `field_name` (epoch ms)."""
    out: list[float] = []
    with consuming(kafka, {"group.id": f"{READER_GROUPS}bench-{uuid.uuid4()}",
                           "auto.offset.reset": "earliest", "enable.auto.commit": False,
                           "logger": QUIET_LOGGER}) as reader:
        reader.subscribe([topic])
        idle_since = time.monotonic()
        while time.monotonic() - idle_since < 3.0:
            batch = reader.consume(5_000, timeout=0.5)
            if not batch:
                continue
            idle_since = time.monotonic()
            for msg in batch:
                if msg.error():
                    continue
                ts = msg.timestamp()[1]
                if since_ms <= ts < until_ms:
                    out.append(json_value(msg.value())[field_name] - ts)
    return out


class ArrivalTail:
    """Consumes a topic in a thread from now on and keeps, per record, the time from the
    record's timestamp to its arrival here (ms), with the record's timestamp."""

    def __init__(self, kafka: Connection, topic: str) -> None:
        import threading

        self.consumer = consumer(kafka, {"logger": QUIET_LOGGER,
                                         "group.id": f"{READER_GROUPS}bench-{uuid.uuid4()}",
                                         "auto.offset.reset": "latest",
                                         "enable.auto.commit": False})
        self.consumer.subscribe([topic])
        self.seen: list[tuple[int, float]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            for msg in self.consumer.consume(1_000, timeout=0.2):
                if not msg.error():
                    ts = msg.timestamp()[1]
                    self.seen.append((ts, time.time() * 1000 - ts))

    def between(self, since_ms: float, until_ms: float) -> list[float]:
        return [lat for ts, lat in list(self.seen) if since_ms <= ts < until_ms]

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.consumer.close()


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


class E2EBench:
    """Runs the stages and the offered rates; prints figures as it goes."""

    def __init__(self, project: Path, env: Environment, config: E2EConfig, model: Path,
                 workdir: Path, data: Path, say: Callable[[str], None] = print) -> None:
        if env.ksqldb is None or not env.bootstrap_servers:
            raise ConfigError(f"environment '{env.name}' needs Kafka and ksqlDB for the "
                              f"end-to-end bench ({env.skipped.get('ksqldb', '')}); start "
                              "`fraudctl local up`")
        self.topology = BenchTopology(project, env, config)
        self.env, self.config, self.model, self.workdir, self.say = (
            self.topology.env, config, model, workdir, say)
        self.data = data
        self.reader, self.writer = env.kafka("monitor"), env.kafka("replayer")
        self.pids: dict[str, int | None] = {"kafka": None, "ksqldb": None}
        if env.local_stack or env.local_cluster:  # the CPU of the brokers and ksqlDB servers
            from infra.local import LocalStack
            from infra.local.cluster import LocalCluster

            stack = LocalCluster() if env.local_cluster else LocalStack()
            self.pids = {name: pid for name, pid in stack.recorded_pids().items()
                         if name.split("-")[0] in ("kafka", "ksqldb")}
        self.sidecar: subprocess.Popen | None = None
        self.sidecar_group = f"{sidecar_group(self.env)}-bench-{self.topology.tag}"
        self.end_offsets = EndOffsets(self.reader)

    def stages(self, lines: list[bytes]) -> list[StageResult]:
        """Each stage alone, on a backlog of len(lines) payments."""
        t, topics, n = self.topology, self.topology.topics, len(lines)
        results = []
        t.create(FEATURE_OBJECTS[:1])  # the raw stream creates the raw topic
        meter = CpuMeter(self.pids)
        meter.start()
        started = time.monotonic()
        self._replay(n)
        results.append(StageResult("replayer (`fraudctl replay` of a Kaggle file)", n,
                                   time.monotonic() - started, meter.stop()))
        self._report(results[-1])

        meter.start()
        t.create(FEATURE_OBJECTS[1:])
        first, last = _wait_offsets(self.end_offsets, topics["features"], n)
        results.append(StageResult("ksqlDB features query", n, last - first, meter.stop()))
        self._report(results[-1], f"first record after {first:.1f}s")

        t.create(SIDECAR_OBJECTS)
        meter = CpuMeter({**self.pids, "sidecar": None})
        meter.start()
        self.sidecar, _url = spawn_sidecar(self.env.kafka("sidecar"), self.model,
                                           (topics["features"], topics["scored"]),
                                           self.sidecar_group,
                                           self.workdir / "sidecar.log",
                                           exactly_once=self.env.exactly_once,
                                           **pipeline_outputs(self.env))
        meter.pids["sidecar"] = self.sidecar.pid
        meter.begin["sidecar"] = 0.0
        first, last = _wait_offsets(self.end_offsets, topics["scored"], n, every=0.2)
        results.append(StageResult("sidecar (ONNX scoring)", n, last - first, meter.stop()))
        self._report(results[-1], f"first record {first:.1f}s after the process started")

        downstream = t.rest()
        # what the sidecar wrote for the backlog: every scored record, the alerts, the counts
        outputs = {name: _read_all(self.reader, topics[name], n if name == "scored" else 0)
                   for name in SIDECAR_OUTPUTS}
        started = time.monotonic()
        t.create(downstream)
        _wait_caught_up(t, downstream)
        self.say(f"  (created {len(downstream)} objects downstream of scored; they caught up "
                 f"with the first {n:,} in {time.monotonic() - started:.1f}s)")
        meter = CpuMeter(self.pids)
        meter.start()
        started = time.monotonic()
        for name, records in outputs.items():
            _produce_keyed(self.env.kafka("sidecar"), topics[name], records)
        time.sleep(1.0)
        _wait_caught_up(t, downstream)
        results.append(StageResult(f"ksqlDB downstream of scored ({len(downstream)} objects)",
                                   n, time.monotonic() - started, meter.stop()))
        self._report(results[-1], "the sidecar's records again ("
                     + ", ".join(f"{len(r):,} {k}" for k, r in outputs.items())
                     + "), queries running")
        return results

    def _replay(self, n: int) -> None:
        """The replayer as `fraudctl replay --rate 0 --no-labels` runs it: parse, check, send."""
        options = ReplayOptions(rate=0, limit=n, start_id=1)
        target = KafkaTarget(self.writer, self.topology.topics["raw"],
                             self.topology.topics["labels_raw"])
        replay(payments(self.data, options), target, options, progress=io.StringIO())

    def _report(self, stage: StageResult, note: str = "") -> None:
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in stage.cpu.items() if v)
        self.say(f"  {stage.name}: {stage.rate_text} "
                 f"({stage.records:,} in {stage.seconds:.1f}s{'; ' + note if note else ''}); "
                 f"CPU s: {cpu}")

    def rates(self, lines: list[bytes]) -> list[RateResult]:
        """The whole pipeline at each offered rate, highest last; stops at the first rate it
        cannot hold."""
        topics = self.topology.topics
        producer = PacedProducer(self.writer, topics["raw"])
        labels = PacedProducer(self.writer, topics["labels_raw"])
        payments_without_ids = without_ids(lines)
        next_id = len(lines) + 1  # the stages sent payments 1..len(lines)
        alert_tail = ArrivalTail(self.reader, topics["alerts"])
        # as the operator: the monitor principal may describe only fraudctl's own groups, and
        # ksqlDB's queries read internal (repartition) topics too
        groups = {**self.topology.groups(self._partitions),
                  "sidecar": (self.sidecar_group, self._partitions(topics["features"]))}
        lag = GroupLag(self.env.kafka(), groups)
        results = []
        try:
            for rate in self.config.rates:
                meter = CpuMeter({**self.pids,
                                  "sidecar": self.sidecar.pid if self.sidecar else None})
                meter.start()
                since = time.time() * 1000
                sampler = LagSampler(lag).start()
                started = time.monotonic()
                sent = producer.run(payments_without_ids, rate=rate,
                                    seconds=self.config.seconds, first_id=next_id)
                produced_for = time.monotonic() - started
                sampler.stop()
                until = time.time() * 1000
                quarter = produced_for / 4
                early = sampler.floor(started + quarter, started + 2 * quarter) or 0
                late = sampler.floor(started + 3 * quarter, started + produced_for) or 0
                labels.run([_label_for(i) for i in range(next_id, next_id + sent, 10)], rate=0)
                next_id += sent
                last = self._drain(lag)
                drain = time.monotonic() - started - produced_for  # the labels' sending too
                cpu = meter.stop()
                scored = _latencies(self.reader, topics["scored"], since, until,
                                    S_SCORED_AT)
                alerts = alert_tail.between(since, until)
                commit_s = float(self.config.ksql_properties.get(
                    "ksql.streams.commit.interval.ms", 2000)) / 1000
                kept_up = rate_held(rate, early, late, drain, produced_for, commit_s)
                through = produced_for + drain  # from the first payment to the last count
                result = RateResult(rate, sent / produced_for,
                                    len(scored) / produced_for, kept_up, late,
                                    _pct(scored, 50), _pct(scored, 99), _pct(alerts, 50),
                                    _pct(alerts, 99), cpu, sent / through)
                results.append(result)
                self._report_rate(result, early, drain, through, last)
                if not kept_up:
                    break
        finally:
            alert_tail.close()
        return results

    def _report_rate(self, result: RateResult, early: int, drain: float,
                     seconds: float, last: dict[str, int]) -> None:
        cpu_text = ", ".join(f"{k} {v / seconds:.2f}" for k, v in result.cpu.items() if v)
        last_text = ", ".join(f"{name} {n:,}" for name, n in last.items()) or "-"
        self.say(f"  offered {result.offered:,}/s: produced {result.produced_per_s:,.0f}/s, "
                 f"scored {result.scored_per_s:,.0f}/s; records behind (all queries and the "
                 f"sidecar, lowest sampled) {early:,} in the load's second quarter, "
                 f"{result.end_lag:,} in its last, drained in "
                 f"{drain:.1f}s (the last behind: {last_text}; all through {seconds:.1f}s "
                 f"after the first: "
                 f"{result.end_to_end_per_s:,.0f}/s end to end) -> "
                 f"{'kept up' if result.kept_up else 'FELL BEHIND'}; "
                 f"raw->scored p50 {_fmt(result.p50_ms)} p99 {_fmt(result.p99_ms)} ms, "
                 f"raw->alert p50 {_fmt(result.alert_p50_ms)} p99 {_fmt(result.alert_p99_ms)} "
                 f"ms; cores busy: {cpu_text}")

    @staticmethod
    def _drain(lag: GroupLag, timeout: float = 120.0) -> dict[str, int]:
        """Wait until nothing is behind (at most `timeout`: the rate then shows as FELL
        BEHIND); returns the parts still behind in the last sample that had any."""
        last: dict[str, int] = {}

        def caught_up() -> bool:
            behind = {name: n for name, n in lag().items() if n > 0}
            if behind:
                last.clear()
                last.update(behind)
            return not behind

        with contextlib.suppress(CheckFailed):
            wait_until(caught_up, timeout, every=0.2,
                       timed_out=lambda: CheckFailed("still behind"))
        return last

    def _partitions(self, topic: str) -> Partitions:
        return topic_partitions(self.end_offsets.consumer, topic)

    def close(self) -> None:
        if self.sidecar is not None:
            terminate(self.sidecar)
        self.end_offsets.close()
        self.topology.drop()


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def run_e2e(project: Path, env: Environment, config: E2EConfig, model: Path,
            workdir: Path) -> dict[str, Any]:
    """Stages alone, then offered rates; returns the figures (also printed)."""
    say = print
    say(f"end-to-end bench on '{env.name}' (Kafka {env.bootstrap_servers}, ksqlDB "
        f"{env.ksqldb.url if env.ksqldb else '-'}), {config.rows:,} payments, "
        f"{env.variables.get('partitions')} partitions"
        + f", {env.delivery_guarantee}, query settings {config.ksql_properties}"
        + (f", overridden by {config.overrides}" if config.overrides else ""))
    data = synthetic_file(config.rows, workdir)
    lines = raw_payload(data, config.rows)
    if config.alert_share is not None:
        model = with_alert_share(model, data, config.alert_share, workdir)
        say(f"the model's threshold moved to flag {config.alert_share:.0%} of the payments")
    bench = E2EBench(project, env, config, model, workdir, data, say)
    warmth = server_warmth(bench.pids)
    if warmth:
        say(warmth)
    try:
        say("each stage alone, on a backlog:")
        stages = bench.stages(lines)
        say("the whole pipeline at offered rates:")
        rates = bench.rates(lines)
    finally:
        bench.close()
    sustained = max((r.offered for r in rates if r.kept_up), default=0)
    say(f"sustained: {sustained:,} payments/s end to end (sidecar alone: "
        f"{stages[2].rate_text}; features query alone: {stages[1].rate_text})")
    return {"stages": [{"name": s.name, "per_second": s.per_second, "seconds": s.seconds,
                        "cpu": s.cpu} for s in stages],
            "rates": [r.__dict__ for r in rates], "sustained": sustained,
            "settings": {**config.ksql_properties, **config.overrides},
            "guarantee": env.delivery_guarantee, "partitions": env.variables.get("partitions"),
            "alert_share": config.alert_share}
