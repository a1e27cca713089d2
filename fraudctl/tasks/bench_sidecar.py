"""`fraudctl bench`: the sidecar's throughput and latency through a real Kafka broker, against
the per-event baselines a user would otherwise deploy, all in one run.

Measured here (each on the same trained model):
- sidecar throughput: N preloaded feature records; events/s from the moment the sidecar is
  ready to the last scored record (SCORED_AT stamps), after one uncounted warm-up run (the
  broker's JIT and page cache), plus the wall time from start to the last acknowledgement;
- latency at fixed offered rates: a separate producer process sends at R events/s; latency is
  the scored record's SCORED_AT minus the input record's produce timestamp (kept by the sidecar);
- baselines: Keras `model.predict` on one event at a time (in-process, no Kafka: an upper bound
  for a consumer doing that), onnxruntime on one event at a time in-process, and a per-event
  consumer through Kafka (poll one record, one onnxruntime call, produce, auto-commit);
- scale-out: 1 versus 2 sidecar processes in one group on a 6-partition topic, the records
  produced once every process is ready (else the first process drains the topic alone);
- a profile of the hot path on one in-process batch: decode, matrix, inference, encode, produce.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import platform
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from core.artifact import INPUT_NAME, OUTPUT_NAME
from core.contract import (
    DEAD_LETTER_SUFFIX,
    F_AMOUNT,
    F_FEATURES,
    F_TS,
    F_USER,
    F_USER_KEY,
    S_MODEL_VERSION,
    S_SCORE,
    S_SCORED_AT,
    S_THRESHOLD,
)
from core.kafka import consume_messages, create_topics, produce_waiting
from core.kafka import consumer as kafka_consumer
from core.kafka import producer as kafka_producer
from core.records import json_value
from fraudctl.tasks.replay import Pacer
from fraudctl.tasks.sidecar_process import spawn_sidecar, terminate, wait_ready

BENCH_DOC = Path("docs") / "BENCHMARKS.md"  # in the project
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


@dataclass
class BenchConfig:
    quick: bool = False
    records: int = 1_000_000  # long enough that the consumer's first fetches do not count
    scale_records: int = 300_000
    warmup_records: int = 200_000
    rates: tuple[int, ...] = (1_000, 10_000, 50_000)
    rate_seconds: float = 8.0
    warmup: float = 2.0
    runs: int = 3
    keras_events: int = 300
    onnx_events: int = 20_000
    per_event_records: int = 50_000

    @classmethod
    def for_mode(cls, quick: bool) -> BenchConfig:
        if quick:
            return cls(quick=True, records=150_000, scale_records=150_000,
                       warmup_records=30_000, rate_seconds=2.5, warmup=1.0, runs=1,
                       keras_events=50,
                       onnx_events=5_000, per_event_records=20_000)
        return cls()


@dataclass
class Results:
    figures: dict[str, Any] = field(default_factory=dict)

    def say(self, text: str) -> None:
        print(text, flush=True)


# ----- set-up -----------------------------------------------------------------------------------
def train_small_model(workdir: Path, say) -> Path:
    """A real model (Keras + ONNX) trained on synthetic data in a few seconds."""
    from training.synth import synthesize, write_kaggle_csv
    from training.train import TrainConfig, train

    data = workdir / "synthetic.csv"
    write_kaggle_csv(synthesize(20_000, 0.01, seed=3), data)
    train(data, workdir / "model", TrainConfig(epochs=3), log=lambda _line: None)
    say(f"model trained on {data.name} (20,000 rows, 3 epochs)")
    return workdir / "model"


def _feature_values(n: int, seed: int = 0) -> list[bytes]:
    from training.synth import synthesize

    frame = synthesize(min(n, 50_000), 0.01, seed=seed)
    rows = frame[["Time", *[f"V{i}" for i in range(1, 29)], "Amount"]].to_numpy()
    values = [orjson.dumps({F_USER_KEY: "d41d8cd98f00b204e9800998ecf8427e",
                            F_USER: "Xxi", F_TS: "2018-12-18T12:00:00Z",
                            F_AMOUNT: float(r[29]),
                            F_FEATURES: [float(x) for x in r]}) for r in rows]
    return [values[i % len(values)] for i in range(n)]


def _preload(bootstrap: str, topic: str, values: list[bytes], partitions: int) -> None:
    create_topics(bootstrap, [topic], partitions=partitions)
    producer = kafka_producer(bootstrap, {"linger.ms": 20, "batch.num.messages": 10_000,
                                          "compression.type": "lz4"})
    for i, value in enumerate(values):
        produce_waiting(producer, topic, value, i.to_bytes(8, "big"))
    producer.flush(120)


def _sidecar(bootstrap: str, model: Path, topics: tuple[str, str, str], group: str,
             instance: str) -> tuple[subprocess.Popen, str]:
    """A quiet sidecar (warnings only, output discarded) for the measurements."""
    return spawn_sidecar(bootstrap, model, topics[:2], group, None, "--instance-id", instance,
                         "--log-level", "WARNING")


# ----- measurements -----------------------------------------------------------------------------
def _throughput(bootstrap: str, model: Path, n: int, partitions: int, processes: int,
                tag: str, live: bool = False) -> dict[str, float]:
    """Events/s of `processes` sidecars in one group, counted from the moment every process
    reports ready (model loaded, partitions assigned) to the last record's `SCORED_AT`.

    Backlog (default): n records preloaded, the rate at which the sidecar catches up.
    Live: the records are produced only once every process is ready, so a process that starts
    faster cannot drain the topic alone before the others join (scale-out figures).
    The wall figure includes process start-up and the group join.
    """
    topics = (f"bench.in.{tag}", f"bench.out.{tag}", f"bench.out.{tag}{DEAD_LETTER_SUFFIX}")
    values = _feature_values(n)
    if live:
        create_topics(bootstrap, topics, partitions=partitions)
    else:
        _preload(bootstrap, topics[0], values, partitions)
        create_topics(bootstrap, topics[1:], partitions=partitions)
    started = time.time()
    sidecars = [_sidecar(bootstrap, model, topics, f"bench-{tag}", f"p{i}")
                for i in range(processes)]
    procs = [proc for proc, _url in sidecars]
    try:
        for proc, url in sidecars:
            wait_ready(url, proc, timeout=60)
        all_ready_ms = time.time() * 1000
        if live:
            _preload(bootstrap, topics[0], values, partitions)
        out = consume_messages(bootstrap, topics[1], n, timeout=600)
    finally:
        terminate(*procs)
    finished = time.time()
    stamps = np.array([json_value(m.value())[S_SCORED_AT] for m in out], dtype=np.float64)
    steady = stamps[stamps >= all_ready_ms]
    if len(steady) < n // 2:
        raise RuntimeError(f"only {len(steady):,} of {n:,} records were scored after every "
                           "sidecar was ready: too few to measure (use more records)")
    span = max((steady.max() - all_ready_ms) / 1000.0, 1e-3)
    return {"records": len(out), "events_per_s": len(steady) / span,
            "measured": len(steady),
            "wall_events_per_s": len(out) / (finished - started),
            "wall_seconds": finished - started}


def _median_throughput(runs: int, bootstrap: str, model: Path, n: int, partitions: int,
                       processes: int, tag: str, live: bool = False) -> dict[str, Any]:
    """The median of `runs` throughput runs (this machine's figures vary run to run)."""
    results = sorted((_throughput(bootstrap, model, n, partitions, processes, f"{tag}{i}",
                                  live) for i in range(runs)),
                     key=lambda r: r["events_per_s"])
    return {**results[len(results) // 2], "runs": [r["events_per_s"] for r in results]}


def _paced_producer(bootstrap: str, topic: str, rate: int, seconds: float,
                    values: list[bytes]) -> None:
    """Runs in its own process: send `rate` events/s for `seconds`, timestamps = send time."""
    # linger 5 ms, like a real producer: 1 ms floods the broker with tiny requests and the
    # generator itself then queues records for hundreds of ms (measured: p99 197 vs 16 ms)
    producer = kafka_producer(bootstrap, {"linger.ms": 5})
    pacer = Pacer(rate)
    for i in range(int(rate * seconds)):
        pacer.wait(i)
        produce_waiting(producer, topic, values[i % len(values)], i.to_bytes(8, "big"),
                        wait=0.01)
        if i % 100 == 0:
            producer.poll(0)
    producer.flush(60)


def _latency(bootstrap: str, model: Path, rate: int, seconds: float, warmup: float,
             tag: str) -> dict:
    """Offer `rate` events/s for warmup + seconds; statistics over the records sent after the
    warm-up (the first second of a fresh consumer group is start-up, not steady state)."""
    topics = (f"bench.lat.in.{tag}", f"bench.lat.out.{tag}",
              f"bench.lat.out.{tag}{DEAD_LETTER_SUFFIX}")
    create_topics(bootstrap, topics, partitions=3)
    proc, url = _sidecar(bootstrap, model, topics, f"bench-lat-{tag}", "lat")
    try:
        wait_ready(url, proc, timeout=60)
        values = _feature_values(5_000, seed=1)
        producer = multiprocessing.get_context("spawn").Process(
            target=_paced_producer, args=(bootstrap, topics[0], rate, warmup + seconds, values))
        producer.start()
        total = int(rate * (warmup + seconds))
        out = consume_messages(bootstrap, topics[1], total, timeout=warmup + seconds + 120)
        producer.join(60)
    finally:
        terminate(proc)
    sent = np.array([m.timestamp()[1] for m in out], dtype=np.float64)
    latencies = np.array([json_value(m.value())[S_SCORED_AT] for m in out]) - sent
    steady = latencies[sent >= sent.min() + warmup * 1000]
    return {"offered_events_per_s": rate, "records": len(out), "measured": len(steady),
            "p50_ms": float(np.percentile(steady, 50)),
            "p95_ms": float(np.percentile(steady, 95)),
            "p99_ms": float(np.percentile(steady, 99)),
            "max_ms": float(steady.max()),
            "p99_ms_including_warmup": float(np.percentile(latencies, 99))}


def _per_event_consumer(bootstrap: str, topics: tuple[str, str], model: str, n: int,
                        result) -> None:
    """Runs in its own process: what a per-event deployment does (the seed demo's shape with
    ONNX instead of Keras): poll one record, decode it, one onnxruntime call, produce the result,
    offsets auto-committed. Puts events/s from first record to last acknowledgement."""
    import onnxruntime as ort

    from udf_server import codec

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    consumer = kafka_consumer(bootstrap, {"group.id": "bench-per-event",
                                          "auto.offset.reset": "earliest"})
    producer = kafka_producer(bootstrap, {"linger.ms": 5})
    consumer.subscribe([topics[0]])
    done, start = 0, None
    while done < n:
        msg = consumer.poll(1.0)
        if msg is None or msg.error():
            continue
        start = start or time.perf_counter()
        decoded = codec.decode(msg.value())
        row = np.asarray([decoded.features], dtype=np.float32)
        score = float(session.run([OUTPUT_NAME], {INPUT_NAME: row})[0][0])
        producer.produce(topics[1], orjson.dumps({**decoded.passthrough, S_SCORE: score}),
                         msg.key())
        producer.poll(0)
        done += 1
    producer.flush(60)
    result.put(n / (time.perf_counter() - start))
    consumer.close()


def _per_event_kafka(bootstrap: str, model: Path, n: int) -> float:
    topics = ("bench.pe.in", "bench.pe.out")
    _preload(bootstrap, topics[0], _feature_values(n, seed=4), 3)
    ctx = multiprocessing.get_context("spawn")
    result = ctx.Queue()
    proc = ctx.Process(target=_per_event_consumer, args=(bootstrap, topics, str(model), n,
                                                          result))
    proc.start()
    rate = result.get(timeout=600)
    proc.join(60)
    return rate


def _keras_per_event(model_dir: Path, events: int) -> float:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    autoencoder = keras.models.load_model(model_dir / "autoencoder.keras")
    rows = np.random.default_rng(0).normal(size=(events, 31)).astype(np.float32)
    autoencoder.predict(rows[:1], verbose=0)  # warm-up
    start = time.perf_counter()
    for i in range(events):
        reconstructed = autoencoder.predict(rows[i:i + 1], verbose=0)
        float(np.mean((reconstructed - rows[i:i + 1]) ** 2))
    return events / (time.perf_counter() - start)


def _onnx_per_event(model: Path, events: int) -> float:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    rows = np.random.default_rng(0).normal(size=(events, 30)).astype(np.float32)
    session.run([OUTPUT_NAME], {INPUT_NAME: rows[:1]})
    start = time.perf_counter()
    for i in range(events):
        session.run([OUTPUT_NAME], {INPUT_NAME: rows[i:i + 1]})
    return events / (time.perf_counter() - start)


def _profile_hot_path(bootstrap: str, model: Path, batch: int = 5_000) -> dict[str, float]:
    """Per-stage microseconds per event for one batch, with the sidecar's own functions."""
    from udf_server import codec
    from udf_server.model_store import load_model
    from udf_server.service import tune_gc

    values = _feature_values(batch, seed=2)
    loaded = load_model(model)
    tune_gc()  # as the sidecar does before its loop (the last measurement of this process)
    producer = kafka_producer(bootstrap, {"linger.ms": 5, "batch.num.messages": 10_000,
                                          "compression.type": "lz4",
                                          "enable.idempotence": True})
    create_topics(bootstrap, ["bench.profile"], partitions=3)
    times: dict[str, float] = {}

    def timed(name, fn):
        start = time.perf_counter()
        result = fn()
        times[name] = (time.perf_counter() - start) / batch * 1e6
        return result

    decoded = timed("decode + validate", lambda: [codec.decode(v) for v in values])
    matrix = timed("feature matrix", lambda: codec.to_matrix([d.features for d in decoded]))
    scores = timed("inference (one call)", lambda: loaded.score(matrix))
    common = {S_THRESHOLD: 1.0, S_MODEL_VERSION: loaded.version, S_SCORED_AT: 0}
    score_list = scores.tolist()
    encoded = timed("encode output JSON", lambda: [
        codec.encode_scored(d.passthrough, s, 1.0, common)
        for d, s in zip(decoded, score_list, strict=True)])
    timed("produce (enqueue)", lambda: [producer.produce("bench.profile", value=v)
                                        for v in encoded])
    timed("flush (broker acks)", lambda: producer.flush(60))
    return times


# ----- orchestration ---------------------------------------------------------------------------
def run_bench(project: Path, quick: bool, json_path: Path | None,
              update_doc: bool = True) -> dict:
    """Every sidecar figure on a broker started for the run; prints them as it goes, then the
    table (written into docs/BENCHMARKS.md with `update_doc`)."""
    from infra.local import LocalStack, StackConfig
    from infra.local.stack import free_port

    config = BenchConfig.for_mode(quick)
    results = Results()
    say, f = results.say, results.figures
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fraud-bench-") as tmp:
        workdir = Path(tmp)
        stack = LocalStack(StackConfig(run_dir=workdir / "stack", kafka_port=free_port(),
                                       controller_port=free_port(), connect_port=free_port()))
        bootstrap = stack.up(timeout=180, log=lambda *_: None, connect=False)[
            "bootstrap_servers"]
        say(f"broker: Apache Kafka (KRaft) on {bootstrap}, started for this run")
        try:
            model_dir = train_small_model(workdir, say)
            _measure_throughput(bootstrap, model_dir, config, results)
            _measure_latency(bootstrap, model_dir / "model.onnx", config, results)
            _measure_scale_out(bootstrap, model_dir / "model.onnx", config, results)
            f["hot_path_us_per_event"] = _profile_hot_path(bootstrap, model_dir / "model.onnx")
        finally:
            stack.down(log=lambda *_: None)
    f["ratios"] = {
        "sidecar_vs_keras_per_event": f["sidecar_events_per_s"]
        / f["keras_per_event_events_per_s"],
        "sidecar_vs_onnx_per_event_kafka": f["sidecar_events_per_s"]
        / f["onnx_per_event_kafka_events_per_s"],
        "sidecar_vs_onnx_per_event_in_process": f["sidecar_events_per_s"]
        / f["onnx_per_event_events_per_s"]}
    f["machine"] = machine()
    f["mode"] = "quick" if quick else "full"
    f["command"] = "fraudctl bench" + (" --quick" if quick else "")
    f["seconds"] = time.monotonic() - started
    table = report_table(f)
    say("\n" + table)
    if json_path:
        json_path.write_text(json.dumps(f, indent=2) + "\n")
        say(f"figures written to {json_path}")
    if update_doc:
        write_doc(project / BENCH_DOC, f, table)
        say(f"{BENCH_DOC} updated")
    return f


def _measure_throughput(bootstrap: str, model_dir: Path, config: BenchConfig,
                        results: Results) -> None:
    """The sidecar on a preloaded backlog, against the per-event baselines of the same run."""
    say, f, model = results.say, results.figures, model_dir / "model.onnx"
    warm = _throughput(bootstrap, model, config.warmup_records, 3, 1, "warm")
    f["warmup_run_events_per_s"] = warm["events_per_s"]
    say(f"warm-up run (broker JIT and page cache; not counted): "
        f"{warm['events_per_s']:,.0f} events/s")
    t = _median_throughput(config.runs, bootstrap, model, config.records, 3, 1, "one")
    f["sidecar_events_per_s"] = t["events_per_s"]
    f["sidecar_runs_events_per_s"] = t["runs"]
    f["sidecar_wall_events_per_s"] = t["wall_events_per_s"]
    say(f"sidecar, {config.records:,} preloaded records: {t['events_per_s']:,.0f} "
        f"events/s scoring (median of {config.runs}: "
        f"{', '.join(f'{r:,.0f}' for r in t['runs'])}; "
        f"{t['wall_events_per_s']:,.0f}/s including start-up)")
    f["onnx_per_event_kafka_events_per_s"] = _per_event_kafka(
        bootstrap, model, config.per_event_records)
    say(f"per-event consumer (poll one, one onnxruntime call, produce) through Kafka: "
        f"{f['onnx_per_event_kafka_events_per_s']:,.0f} events/s")
    f["onnx_per_event_events_per_s"] = _onnx_per_event(model, config.onnx_events)
    say(f"onnxruntime, one event per call, in-process: "
        f"{f['onnx_per_event_events_per_s']:,.0f} events/s")
    f["keras_per_event_events_per_s"] = _keras_per_event(model_dir, config.keras_events)
    say(f"Keras model.predict, one event per call, in-process: "
        f"{f['keras_per_event_events_per_s']:,.1f} events/s")


def _measure_latency(bootstrap: str, model: Path, config: BenchConfig,
                     results: Results) -> None:
    """Latency at each offered rate: the run with the median p99 of `config.runs`."""
    say, f = results.say, results.figures
    f["latency"] = []
    for rate in config.rates:
        runs = sorted((_latency(bootstrap, model, rate, config.rate_seconds, config.warmup,
                                f"r{rate}x{i}") for i in range(config.runs)),
                      key=lambda r: r["p99_ms"])
        lat = {**runs[len(runs) // 2], "runs_p99_ms": [r["p99_ms"] for r in runs]}
        f["latency"].append(lat)
        say(f"offered {rate:,}/s, {config.warmup:g}s warm-up + {config.rate_seconds:g}s: "
            f"p50 {lat['p50_ms']:.1f} ms, p95 {lat['p95_ms']:.1f} ms, p99 "
            f"{lat['p99_ms']:.1f} ms over {lat['measured']:,} records (p99 with warm-up "
            f"{lat['p99_ms_including_warmup']:.1f} ms; run with the median p99 of "
            f"{config.runs}: {', '.join(f'{p:.0f}' for p in lat['runs_p99_ms'])} ms)")
        if rate == 10_000:
            f["p99_ms_at_10k"] = lat["p99_ms"]


def _measure_scale_out(bootstrap: str, model: Path, config: BenchConfig,
                       results: Results) -> None:
    """One sidecar process against two on six partitions."""
    scale = {}
    for processes in (1, 2):
        s = _median_throughput(config.runs, bootstrap, model, config.scale_records, 6,
                               processes, f"scale{processes}", live=True)
        scale[processes] = s["events_per_s"]
        results.say(f"scale-out: {processes} sidecar process(es), 6 partitions: "
                    f"{s['events_per_s']:,.0f} events/s (median of {config.runs})")
    results.figures["scale_out_events_per_s"] = {str(k): v for k, v in scale.items()}


def machine() -> dict[str, Any]:
    mem = ""
    try:
        kb = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")).split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    cpu = ""
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in
                   Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    return {"cores": os.cpu_count(), "memory": mem, "cpu": cpu,
            "python": platform.python_version(), "platform": platform.platform(),
            "note": "broker, sidecar(s), load producer and reader share these cores"}


def report_table(f: dict) -> str:
    keras = f["keras_per_event_events_per_s"]
    rows = [
        ("sidecar (micro-batches, through Kafka)", f["sidecar_events_per_s"], 1.0),
        ("per-event consumer + onnxruntime (through Kafka)",
         f["onnx_per_event_kafka_events_per_s"],
         f["sidecar_events_per_s"] / f["onnx_per_event_kafka_events_per_s"]),
        ("onnxruntime per event (in-process, no Kafka)", f["onnx_per_event_events_per_s"],
         f["sidecar_events_per_s"] / f["onnx_per_event_events_per_s"]),
        ("Keras model.predict per event (in-process, no Kafka)", keras,
         f["sidecar_events_per_s"] / keras),
    ]
    runs = ", ".join(f"{r:,.0f}" for r in f.get("sidecar_runs_events_per_s", []))
    warm = f.get("warmup_run_events_per_s")
    lines = [f"Sidecar throughput runs (events/s): {runs}; the table shows the median"
             + (f" (an uncounted warm-up run before them: {warm:,.0f})." if warm else "."), "",
             "| what | events/s | sidecar is N x faster |", "|---|---:|---:|"]
    lines += [f"| {name} | {value:,.1f} | {ratio:,.1f} |" for name, value, ratio in rows]
    lines += ["", "| offered rate | records measured | p50 ms | p95 ms | p99 ms | max ms | "
              "p99 ms incl. warm-up | p99 of each run |",
              "|---:|---:|---:|---:|---:|---:|---:|---|"]
    lines += [f"| {lat['offered_events_per_s']:,}/s | {lat['measured']:,} | {lat['p50_ms']:.1f} | "
              f"{lat['p95_ms']:.1f} | {lat['p99_ms']:.1f} | {lat['max_ms']:.1f} | "
              f"{lat['p99_ms_including_warmup']:.1f} | "
              f"{', '.join(f'{p:.0f}' for p in lat['runs_p99_ms'])} |" for lat in f["latency"]]
    scale = f["scale_out_events_per_s"]
    lines += ["", "| sidecar processes (6 partitions) | events/s |", "|---:|---:|"]
    lines += [f"| {k} | {v:,.0f} |" for k, v in scale.items()]
    hot = f["hot_path_us_per_event"]
    total = sum(hot.values())
    lines += ["", "| hot path stage (one 5,000-event batch) | µs/event | share |",
              "|---|---:|---:|"]
    lines += [f"| {k} | {v:.2f} | {v / total:.0%} |" for k, v in hot.items()]
    return "\n".join(lines)


def write_doc(doc: Path, f: dict, table: str) -> None:
    m = f["machine"]
    section = "\n".join([
        BEGIN,
        f"Command: `{f['command']}` (run {time.strftime('%Y-%m-%d')}, {f['seconds']:.0f} s).",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory']}, Python {m['python']}; "
        f"{m['note']}.",
        "",
        table,
        "",
        END])
    text = doc.read_text() if doc.exists() else "# Benchmarks\n\n" + BEGIN + END
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text += "\n" + section + "\n"
    doc.write_text(text)
