"""`fraudctl replay` (a dataset into the pipeline), `fraudctl monitor` (the live view) and
`fraudctl labels export` (the collected labels, for training)."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.errors import ConfigError, UsageError
from core.values import non_negative, share, whole
from fraudctl.options import project_environment, project_options


def cmd_replay(args: argparse.Namespace) -> int:
    from fraudctl.tasks.replay import (
        FileTarget,
        KafkaTarget,
        LabelPolicy,
        ReplayOptions,
        payments,
        replay,
    )

    for flag in ("file", "labels_file"):
        value = getattr(args, flag)
        if value is not None and args.to != "file":
            raise UsageError(f"--{flag.replace('_', '-')} names a file Connect tails, which "
                             "only --to file writes; add --to file, or leave it out to send "
                             "to Kafka")
        if value is not None and not value.strip():
            raise UsageError(f"--{flag.replace('_', '-')}: empty path; name the file "
                             "Connect's FileStreamSource tails")
    data = Path(args.data)
    if not data.is_file():
        raise UsageError(f"--data {data}: no such file")
    env = project_environment(args)[1]
    policy = None if args.no_labels else LabelPolicy(
        delay=args.label_delay, fraud_share=args.fraud_label_share,
        normal_share=args.normal_label_share)
    options = ReplayOptions(rate=args.rate, limit=args.limit, loop=args.loop,
                            start_id=args.start_id, labels=policy)
    if args.to == "file":
        files = env.variables.get("files", {})
        payments_file = _file_of(args.file, files.get("source"), "--file", "files.source", env)
        labels_file = None if policy is None else _file_of(
            args.labels_file, files.get("labels"), "--labels-file", "files.labels", env)
        target = FileTarget(payments_file, labels_file)
        where = f"file {payments_file}" + (f", labels to {labels_file}" if labels_file else "")
    else:
        if not env.bootstrap_servers:
            raise ConfigError(f"environment '{env.name}' has no Kafka bootstrap servers "
                              "(set BOOTSTRAP_SERVERS or start `fraudctl local up`)")
        topics = env.variables["topics"]
        target = KafkaTarget(env.kafka("replayer"), topics["raw"], topics["labels_raw"])
        where = f"topic {topics['raw']}" + (f", labels to {topics['labels_raw']}"
                                            if policy else "") + f" on {env.bootstrap_servers}"
    rate = f"{args.rate:g}/s" if args.rate > 0 else "full speed"
    labels = "no labels" if policy is None else (
        f"labels {policy.delay:g}s later for {policy.fraud_share:.0%} of frauds and "
        f"{policy.normal_share:.0%} of genuine payments")
    print(f"replaying {data} into {where} at {rate}{', looping' if args.loop else ''}; "
          f"{labels}")
    replay(payments(data, options), target, options)
    return 0


def _file_of(flag_value: str | None, configured, flag: str, variable: str, env) -> Path:
    """The file a flag names, else the environment's variable; a usage error if neither."""
    if not (flag_value or str(configured or "")).strip():
        raise UsageError(f"--to file needs {flag} PATH or vars.{variable} in the environment "
                         f"file {env.path}")
    return Path(flag_value or configured)


def cmd_monitor(args: argparse.Namespace) -> int:
    from fraudctl.tasks.monitor import run
    from infra.ksql_client import KsqlClient

    env = project_environment(args)[1]
    if env.ksqldb is None:
        raise ConfigError(f"monitor reads ksqlDB's monitoring tables, and environment "
                          f"'{env.name}' has none: {env.skipped.get('ksqldb')}. Use an "
                          "environment with ksqlDB (e.g. --env compose) or set KSQLDB_URL.")
    run(KsqlClient(env.ksqldb), env, args.interval, args.once, args.sidecar_url)
    return 0


def cmd_labels_export(args: argparse.Namespace) -> int:
    from fraudctl.tasks.labels_export import export_labels

    env = project_environment(args)[1]
    topic = env.variables["topics"]["labels"]
    out = Path(args.out)
    count, frauds = export_labels(env.kafka("monitor"), topic, out)
    print(f"wrote {out}: {count} labels ({frauds} frauds) from topic {topic}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    common = project_options()
    rp = sub.add_parser("replay", parents=[common], help="stream a dataset into the raw topic")
    rp.add_argument("--data", required=True, help="Kaggle creditcard.csv or a raw-format file")
    rp.add_argument("--rate", type=non_negative, default=100.0,
                    help="events per second (0: as fast as possible)")
    rp.add_argument("--limit", type=whole(1), help="stop after this many lines")
    rp.add_argument("--loop", action="store_true", help="start over at the end of the file")
    rp.add_argument("--start-id", type=whole(0),
                    help="first ID for Kaggle rows (default: now in ms)")
    rp.add_argument("--no-labels", action="store_true",
                    help="send no labels (payments never carry theirs)")
    rp.add_argument("--label-delay", type=non_negative, default=10.0,
                    help="seconds between a payment and its label (default 10)")
    rp.add_argument("--fraud-label-share", type=share, default=1.0,
                    help="share of frauds whose label is sent (default 1)")
    rp.add_argument("--normal-label-share", type=share, default=0.1,
                    help="share of genuine payments whose label is sent (default 0.1)")
    rp.add_argument("--to", choices=("kafka", "file"), default="kafka",
                    help="the raw topic, or the file Connect's FileStreamSource tails")
    rp.add_argument("--file", help="with --to file: the payments file "
                                   "(default: vars.files.source)")
    rp.add_argument("--labels-file", help="with --to file: the labels file "
                                          "(default: vars.files.labels)")
    rp.set_defaults(func=cmd_replay)
    mon = sub.add_parser("monitor", parents=[common], help="live view of the monitoring tables")
    mon.add_argument("--interval", type=non_negative, default=5.0)
    mon.add_argument("--once", action="store_true", help="print one snapshot and exit")
    mon.add_argument("--sidecar-url", help="the sidecar's HTTP address, for events/s in and "
                                           "out and dead letters (e.g. http://127.0.0.1:8000)")
    mon.set_defaults(func=cmd_monitor)
    labels = sub.add_parser("labels", help="the labels the pipeline collected")
    labels_sub = labels.add_subparsers(dest="labels_cmd", required=True, metavar="COMMAND")
    export = labels_sub.add_parser("export", parents=[common],
                                   help="write the labels topic's labels to a file (for "
                                        "`train --kind supervised --labels`)")
    export.add_argument("--out", required=True, help="the labels file to write")
    export.set_defaults(func=cmd_labels_export)
