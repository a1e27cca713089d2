"""CLI: `fraudctl replay` and `fraudctl monitor`."""

from __future__ import annotations

import argparse
from pathlib import Path

from infra.cli_types import non_negative, whole
from infra.errors import FraudctlError, UsageError
from infra.topology.commands import project_dir
from infra.topology.environment import load_environment


def cmd_replay(args: argparse.Namespace) -> int:
    from infra.replay import ReplayOptions, file_sender, kafka_sender, raw_lines, replay

    if args.file is not None and args.to != "file":
        raise UsageError("--file names the file Connect tails, which only --to file writes; "
                         "add --to file, or leave --file out to send to Kafka")
    if args.file is not None and not args.file.strip():
        raise UsageError("--file: empty path; name the file Connect's FileStreamSource tails")
    data = Path(args.data)
    if not data.is_file():
        raise UsageError(f"--data {data}: no such file")
    env = load_environment(project_dir(args), args.env)
    options = ReplayOptions(rate=args.rate, limit=args.limit, loop=args.loop,
                            start_id=args.start_id, keep_labels=not args.no_labels)
    if args.to == "file":
        configured = str(env.variables.get("files", {}).get("source", "") or "")
        if not (args.file or configured).strip():
            raise UsageError("--to file needs --file PATH or vars.files.source in the "
                             f"environment file {env.path}")
        target = Path(args.file or configured)
        send, flush = file_sender(target)
        where = f"file {target}"
    else:
        if not env.bootstrap_servers:
            raise FraudctlError(f"environment '{env.name}' has no Kafka bootstrap servers "
                                "(set BOOTSTRAP_SERVERS or start `fraudctl local up`)")
        topic = env.variables["topics"]["raw"]
        send, flush = kafka_sender(env.bootstrap_servers, topic)
        where = f"topic {topic} on {env.bootstrap_servers}"
    rate = f"{args.rate:g}/s" if args.rate > 0 else "full speed"
    print(f"replaying {data} into {where} at {rate}"
          f"{', looping' if args.loop else ''}")
    replay(raw_lines(data, options), send, options, flush)
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    from infra.ksql_client import KsqlClient
    from infra.monitor import run

    env = load_environment(project_dir(args), args.env)
    if env.ksqldb is None:
        raise FraudctlError(f"monitor reads ksqlDB's monitoring tables, and environment "
                            f"'{env.name}' has none: {env.skipped.get('ksqldb')}. Use an "
                            "environment with ksqlDB (e.g. --env compose) or set KSQLDB_URL.")
    run(KsqlClient(env.ksqldb), env, args.interval, args.once, args.sidecar_url)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--env", default="local")
    common.add_argument("--project", help="repository root (default: this checkout)")
    rp = sub.add_parser("replay", parents=[common], help="stream a dataset into the raw topic")
    rp.add_argument("--data", required=True, help="Kaggle creditcard.csv or a raw-format file")
    rp.add_argument("--rate", type=non_negative, default=100.0,
                    help="events per second (0: as fast as possible)")
    rp.add_argument("--limit", type=whole(1), help="stop after this many lines")
    rp.add_argument("--loop", action="store_true", help="start over at the end of the file")
    rp.add_argument("--start-id", type=whole(0),
                    help="first ID for Kaggle rows (default: now in ms)")
    rp.add_argument("--no-labels", action="store_true", help="send CLASS empty (unlabelled)")
    rp.add_argument("--to", choices=("kafka", "file"), default="kafka",
                    help="the raw topic, or the file Connect's FileStreamSource tails")
    rp.add_argument("--file", help="with --to file: the path (default: vars.files.source)")
    rp.set_defaults(func=cmd_replay)
    mon = sub.add_parser("monitor", parents=[common], help="live view of the monitoring tables")
    mon.add_argument("--interval", type=non_negative, default=5.0)
    mon.add_argument("--once", action="store_true", help="print one snapshot and exit")
    mon.add_argument("--sidecar-url", help="the sidecar's HTTP address, for events/s in and "
                                           "out and dead letters (e.g. http://127.0.0.1:8000)")
    mon.set_defaults(func=cmd_monitor)
