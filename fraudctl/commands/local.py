"""`fraudctl local up|down|reset|status|fetch`: the no-Docker Kafka + Connect + Schema Registry +
ksqlDB stack."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fraudctl.options import confirm


def _stack(args: argparse.Namespace):
    from infra.local import LocalStack, StackConfig

    if getattr(args, "cluster", False):
        from infra.local.cluster import ClusterConfig, LocalCluster

        cluster = ClusterConfig()
        if args.run_dir:
            cluster.run_dir = Path(args.run_dir)
        return LocalCluster(cluster)
    config = StackConfig()
    if args.run_dir:
        config.run_dir = Path(args.run_dir)
    for name in ("kafka_port", "controller_port", "connect_port", "ksqldb_port",
                 "registry_port"):
        if getattr(args, name, None):
            setattr(config, name, getattr(args, name))
    return LocalStack(config)


ENDPOINT_VARIABLES = {"bootstrap_servers": "BOOTSTRAP_SERVERS", "connect_url": "CONNECT_URL",
                      "ksqldb_url": "KSQLDB_URL",
                      "schema_registry_url": "SCHEMA_REGISTRY_URL"}


#: what the secured cluster adds to the endpoints (TLS, principals, every ksqlDB server)
CLUSTER_KEYS = ("ksqldb_urls", "ca_file", "kafka_security", "credentials")


def _print_endpoints(endpoints: dict, as_json: bool) -> None:
    shown = {k: endpoints.get(k) for k in (*ENDPOINT_VARIABLES, *CLUSTER_KEYS)
             if k in ENDPOINT_VARIABLES or k in endpoints}
    if as_json:
        print(json.dumps(shown))
        return
    print(" ".join(f"{var}={endpoints[key]}" for key, var in ENDPOINT_VARIABLES.items()
                   if endpoints.get(key)))
    if endpoints.get("ca_file"):
        folder = Path(next(iter(endpoints["credentials"].values()))).parent
        print(f"TLS CA: {endpoints['ca_file']}; ksqlDB servers: "
              f"{', '.join(endpoints['ksqldb_urls'])}; credentials of "
              f"{', '.join(endpoints['credentials'])} in {folder}/<principal>.json "
              "(`--env local-cluster` reads them)")


def cmd_local_fetch(args: argparse.Namespace) -> int:
    from infra.local import fetch_distribution
    from infra.local.jars import KsqlDbUnavailable, fetch_ksqldb, fetch_schema_registry

    print(fetch_distribution().root)
    if not args.no_ksqldb:
        try:
            print(fetch_ksqldb().root)
            print(fetch_schema_registry().root)
        except KsqlDbUnavailable as exc:
            print(f"note: {exc}", file=sys.stderr)
    return 0


def cmd_local_up(args: argparse.Namespace) -> int:
    stack = _stack(args)
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    endpoints = stack.up(timeout=args.timeout, log=log, ksqldb=not args.no_ksqldb)
    _print_endpoints(endpoints, args.json)
    return 0


def cmd_local_down(args: argparse.Namespace) -> int:
    stopped = _stack(args).down()
    if not stopped:
        print("No local stack processes were running.")
    return 0


def cmd_local_reset(args: argparse.Namespace) -> int:
    stack = _stack(args)
    confirm(f"Stop the local stack and delete {stack.run_dir} (every topic, ksqlDB's state and "
            "the logs)?", args.yes, "reset the local stack", flag="--yes")
    stack.reset()
    return 0


def cmd_local_status(args: argparse.Namespace) -> int:
    status = _stack(args).status()
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        for name, proc in status["processes"].items():
            state = "ready" if proc["ready"] else ("starting" if proc["alive"] else "stopped")
            print(f"{name:8} {state:9} pid={proc['pid']}")
        if status["running"]:
            _print_endpoints(status, False)
        down = [name for name, proc in status["processes"].items() if not proc["alive"]]
        if status["running"] and down:
            print(f"down: {', '.join(down)} (`fraudctl local up` starts only "
                  f"{'that one' if len(down) == 1 else 'those'}; logs in {status['run_dir']})")
    running = all(p["ready"] for p in status["processes"].values())
    return 0 if running else 3


def register(sub: argparse._SubParsersAction) -> None:
    local = sub.add_parser("local", help="the local no-Docker Kafka + Connect + ksqlDB stack")
    local_sub = local.add_subparsers(dest="local_cmd", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--run-dir", help="state, data and logs (default: cache dir/run/local)")
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument("--cluster", action="store_true",
                        help="the secured cluster: 3 brokers (SASL_SSL, ACLs), 2 ksqlDB servers "
                             "and Connect on HTTPS (ports from FRAUD_CLUSTER_BASE_PORT, "
                             "default 19000; run dir: cache dir/run/cluster)")
    ports = argparse.ArgumentParser(add_help=False)
    ports.add_argument("--kafka-port", type=int, help="broker port (env FRAUD_LOCAL_KAFKA_PORT)")
    ports.add_argument("--controller-port", type=int,
                       help="KRaft controller port (env FRAUD_LOCAL_CONTROLLER_PORT)")
    ports.add_argument("--connect-port", type=int,
                       help="Connect REST port (env FRAUD_LOCAL_CONNECT_PORT)")
    ports.add_argument("--ksqldb-port", type=int,
                       help="ksqlDB REST port (env FRAUD_LOCAL_KSQLDB_PORT)")
    ports.add_argument("--registry-port", type=int,
                       help="Schema Registry port (env FRAUD_LOCAL_SCHEMA_REGISTRY_PORT)")
    no_ksqldb = argparse.ArgumentParser(add_help=False)
    no_ksqldb.add_argument("--no-ksqldb", action="store_true",
                           help="leave ksqlDB and Schema Registry out (Kafka and Connect only)")
    up = local_sub.add_parser("up", parents=[common, ports, no_ksqldb],
                              help="start broker, Connect, Schema Registry and ksqlDB, "
                                   "wait until ready")
    up.add_argument("--timeout", type=float, default=240.0)
    up.set_defaults(func=cmd_local_up)
    local_sub.add_parser("down", parents=[common], help="stop what `up` started").set_defaults(
        func=cmd_local_down)
    reset = local_sub.add_parser("reset", parents=[common],
                                 help="stop the stack and delete its data (asks first)")
    reset.add_argument("--yes", action="store_true", help="do not ask (scripts, CI)")
    reset.set_defaults(func=cmd_local_reset)
    local_sub.add_parser("status", parents=[common, ports],
                         help="process and readiness (exit 3 if not running)").set_defaults(
        func=cmd_local_status)
    local_sub.add_parser("fetch", parents=[no_ksqldb],
                         help="resolve the Kafka, Connect and ksqlDB jars").set_defaults(
        func=cmd_local_fetch)
