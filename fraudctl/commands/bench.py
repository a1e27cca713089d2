"""`fraudctl bench`: the sidecar against per-event baselines, or (`--e2e`) the whole pipeline
through ksqlDB on an environment's servers."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from core.values import key_value, non_negative, share, sizes, whole
from fraudctl.options import project_dir, project_options
from infra.topology.environment import GUARANTEES


def cmd_bench(args: argparse.Namespace) -> int:
    if args.e2e:
        return _bench_e2e(args)
    from fraudctl.tasks.bench_sidecar import run_bench

    run_bench(project_dir(args), args.quick, Path(args.json) if args.json else None,
              update_doc=args.write_docs)
    return 0


def _bench_e2e(args: argparse.Namespace) -> int:
    from fraudctl.tasks.bench_e2e import E2EConfig, run_e2e
    from fraudctl.tasks.bench_sidecar import train_small_model
    from infra.topology.environment import load_environment
    from training.quiet import import_tensorflow_quietly

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TF's native lines while training
    import_tensorflow_quietly()
    project = project_dir(args)
    env = load_environment(project, args.env)
    if args.guarantee:
        env.choose_guarantee(args.guarantee)
    if args.value_format:  # the wire format of the bench's topics between its stages
        env.variables["value_format"] = args.value_format
    config = E2EConfig(rows=args.rows, rates=args.rates, seconds=args.seconds,
                       ksql_properties=env.query_properties, overrides=dict(args.set or []),
                       partitions=args.partitions, alert_share=args.alert_share)
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
    bench = sub.add_parser("bench", parents=[project_options()],
                           help="sidecar throughput/latency vs per-event baselines")
    bench.add_argument("--quick", action="store_true", help="smaller run, under a minute")
    bench.add_argument("--json", help="write the figures to this JSON file")
    bench.add_argument("--write-docs", action="store_true",
                       help="also rewrite docs/BENCHMARKS.md with the figures (off by default)")
    e2e = bench.add_argument_group("end to end through ksqlDB (--e2e, on --env's servers)")
    e2e.add_argument("--e2e", action="store_true",
                     help="the whole pipeline on an environment's servers: each stage alone, "
                          "then offered rates (needs Kafka and ksqlDB: `fraudctl local up`)")
    e2e.add_argument("--rows", type=whole(1_000), default=200_000,
                     help="payments in each stage's backlog (default 200,000)")
    e2e.add_argument("--rates", type=sizes, default=(2_000, 4_000, 8_000, 16_000, 30_000),
                     help="offered payments/s, comma-separated (default 2000,...,30000)")
    e2e.add_argument("--seconds", type=non_negative, default=20.0,
                     help="how long each rate is held (default 20)")
    e2e.add_argument("--partitions", type=whole(1), help="partitions of every topic "
                                                         "(default: the environment's)")
    e2e.add_argument("--guarantee", choices=GUARANTEES,
                     help="the delivery guarantee of the bench's queries and sidecar (default: "
                          "the environment's delivery_guarantee)")
    e2e.add_argument("--set", type=key_value, action="append", metavar="KEY=VALUE",
                     help="a ksqlDB streams property for the bench's queries, over the "
                          "environment's ksql_query_properties, e.g. "
                          "ksql.streams.cache.max.bytes.buffering=0 (repeatable)")
    e2e.add_argument("--value-format", "--sidecar-format", dest="value_format",
                     choices=("JSON", "JSON_SR"),
                     help="the value format of the topics between the pipeline's parts "
                          "(default: the environment's vars.value_format)")
    e2e.add_argument("--alert-share", type=share, metavar="SHARE",
                     help="move the model's threshold so that this share of the payments are "
                          "alerts (0.67: an alert storm, a bad rollout); default: as trained")
    bench.set_defaults(func=cmd_bench)
