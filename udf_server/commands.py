"""`fraudctl score` (the sidecar) and `fraudctl model promote`; every flag has an env variable."""

from __future__ import annotations

import argparse
import os
import signal

from infra.cli_types import key_value, non_negative, setting, sizes, whole
from infra.errors import FraudctlError

#: flag -> (environment variable, default)
ENV = {
    "bootstrap_servers": ("FRAUD_BOOTSTRAP_SERVERS", None),
    "input_topic": ("FRAUD_INPUT_TOPIC", "transactions.features"),
    "output_topic": ("FRAUD_OUTPUT_TOPIC", "transactions.scored"),
    "dlq_topic": ("FRAUD_DLQ_TOPIC", "transactions.scored.dlq"),
    "group": ("FRAUD_GROUP", "fraud-scoring-sidecar"),
    "model": ("FRAUD_MODEL", None),
    "shadow_model": ("FRAUD_SHADOW_MODEL", None),
    "batch_size": ("FRAUD_BATCH_SIZE", "5000"),
    "batch_wait_ms": ("FRAUD_BATCH_WAIT_MS", "10"),
    "instance_id": ("FRAUD_INSTANCE_ID", None),
    "http_host": ("FRAUD_HTTP_HOST", "127.0.0.1"),
    "http_port": ("FRAUD_HTTP_PORT", "8000"),
    "log_level": ("FRAUD_LOG_LEVEL", "INFO"),
}
KAFKA_ENV_PREFIX = "FRAUD_KAFKA_"


def kafka_settings(pairs: list[str], environ: dict[str, str]) -> dict[str, str]:
    """librdkafka settings from FRAUD_KAFKA_SECURITY_PROTOCOL=... style variables and -X k=v."""
    settings = {key[len(KAFKA_ENV_PREFIX):].lower().replace("_", "."): value
                for key, value in environ.items() if key.startswith(KAFKA_ENV_PREFIX)}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise FraudctlError(f"-X {pair!r}: expected key=value (a librdkafka setting)")
        settings[key.strip()] = value
    return settings


def cmd_score(args: argparse.Namespace) -> int:
    from udf_server import logs
    from udf_server.http_api import start_http
    from udf_server.service import Scorer, SidecarConfig

    logs.configure(args.log_level)
    for name in ("bootstrap_servers", "model"):
        if not getattr(args, name):
            flag = "--" + name.replace("_", "-")
            raise FraudctlError(f"{flag} (or {ENV[name][0]}) is required")
    batch_size = setting(args.batch_size, "--batch-size", ENV["batch_size"][0], whole(1))
    batch_wait_ms = setting(args.batch_wait_ms, "--batch-wait-ms", ENV["batch_wait_ms"][0],
                            whole(0))
    http_port = setting(args.http_port, "--http-port", ENV["http_port"][0], whole(-1, 65535))
    config = SidecarConfig(
        bootstrap_servers=args.bootstrap_servers, model=args.model,
        input_topic=args.input_topic, output_topic=args.output_topic, dlq_topic=args.dlq_topic,
        group=args.group, shadow_model=args.shadow_model, batch_size=batch_size,
        batch_wait_ms=batch_wait_ms, exactly_once=args.exactly_once,
        kafka=kafka_settings(args.kafka_setting, dict(os.environ)))
    if args.instance_id:
        config.instance_id = args.instance_id
    try:
        scorer = Scorer(config)
    except ValueError as exc:
        raise FraudctlError(str(exc)) from None
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: scorer.stop())
    server = start_http(scorer, args.http_host, http_port) if http_port >= 0 else None
    try:
        scorer.run()
    finally:
        if server is not None:
            server.shutdown()
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from udf_server.model_store import promote

    version = promote(args.model, args.dir)
    print(f"{args.dir}/current -> versions/{version}.onnx; running sidecars swap at their "
          "next batch")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from pathlib import Path

    if args.e2e:
        return _bench_e2e(args)
    from udf_server.bench import run_bench

    run_bench(args.quick, Path(args.json) if args.json else None, update_doc=args.write_docs)
    return 0


def _bench_e2e(args: argparse.Namespace) -> int:
    import json
    import tempfile
    from pathlib import Path

    from infra.bench_e2e import E2EConfig, run_e2e
    from infra.topology.commands import project_dir
    from infra.topology.environment import load_environment
    from training.commands import import_tensorflow_quietly
    from udf_server.bench import train_small_model

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TF's native lines while training
    import_tensorflow_quietly()
    project = project_dir(args)
    env = load_environment(project, args.env)
    config = E2EConfig(rows=args.rows, rates=args.rates, seconds=args.seconds,
                       ksql_properties={**env.query_properties, **dict(args.set or [])},
                       partitions=args.partitions)
    if args.quick:
        config.rows, config.seconds = min(config.rows, 50_000), min(config.seconds, 8.0)
    with tempfile.TemporaryDirectory(prefix="fraud-bench-e2e-") as tmp:
        workdir = Path(tmp)
        model = train_small_model(workdir, print) / "model.onnx"
        figures = run_e2e(project, env, config, model, workdir)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="sidecar throughput/latency vs per-event baselines")
    bench.add_argument("--quick", action="store_true", help="smaller run, under a minute")
    bench.add_argument("--json", help="write the figures to this JSON file")
    bench.add_argument("--write-docs", action="store_true",
                       help="also rewrite docs/BENCHMARKS.md with the figures (off by default)")
    e2e = bench.add_argument_group("end to end through ksqlDB (--e2e)")
    e2e.add_argument("--e2e", action="store_true",
                     help="the whole pipeline on an environment's servers: each stage alone, "
                          "then offered rates (needs Kafka and ksqlDB: `fraudctl local up`)")
    e2e.add_argument("--env", default="local")
    e2e.add_argument("--project", help="repository root (default: this checkout)")
    e2e.add_argument("--rows", type=whole(1_000), default=200_000,
                     help="payments in each stage's backlog (default 200,000)")
    e2e.add_argument("--rates", type=sizes, default=(2_000, 4_000, 8_000, 16_000, 30_000),
                     help="offered payments/s, comma-separated (default 2000,...,30000)")
    e2e.add_argument("--seconds", type=non_negative, default=20.0,
                     help="how long each rate is held (default 20)")
    e2e.add_argument("--partitions", type=whole(1), help="partitions of every topic "
                                                         "(default: the environment's)")
    e2e.add_argument("--set", type=key_value, action="append", metavar="KEY=VALUE",
                     help="a ksqlDB streams property for the bench's queries, over the "
                          "environment's ksql_query_properties, e.g. "
                          "ksql.streams.cache.max.bytes.buffering=0 (repeatable)")
    bench.set_defaults(func=cmd_bench)

    score = sub.add_parser("score", help="run the scoring sidecar (Kafka in, Kafka out)")
    for name, (env, default) in ENV.items():
        score.add_argument("--" + name.replace("_", "-"), default=os.environ.get(env, default),
                           help=f"env {env}" + (f" (default {default})" if default else ""))
    score.add_argument("--exactly-once", action="store_true",
                       default=os.environ.get("FRAUD_EXACTLY_ONCE", "").lower()
                       in ("1", "true", "yes"),
                       help="Kafka transactions (env FRAUD_EXACTLY_ONCE=true)")
    score.add_argument("-X", dest="kafka_setting", action="append", default=[],
                       metavar="KEY=VALUE", help="librdkafka setting (also FRAUD_KAFKA_<KEY>)")
    score.set_defaults(func=cmd_score)

    model = sub.add_parser("model", help="model rollout")
    model_sub = model.add_subparsers(dest="model_cmd", required=True, metavar="COMMAND")
    prom = model_sub.add_parser("promote", help="copy a model into a model directory and "
                                "point `current` at it (also rollback: promote the old one)")
    prom.add_argument("--model", required=True, help="model.onnx to serve")
    prom.add_argument("--dir", required=True, help="the directory the sidecars watch")
    prom.set_defaults(func=cmd_promote)
