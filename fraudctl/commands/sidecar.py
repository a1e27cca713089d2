"""`fraudctl score` (the scoring sidecar) and `fraudctl model promote` (model rollout)."""

from __future__ import annotations

import argparse
import os

from fraudctl.options import project_options
from udf_server.config import add_arguments, from_arguments


def cmd_score(args: argparse.Namespace) -> int:
    from udf_server.main import run

    environ = dict(os.environ)
    if args.env:  # the environment's settings, under what flags and FRAUD_* variables say
        environ = {**environment_defaults(args), **environ}
    return run(from_arguments(args, environ))


def environment_defaults(args: argparse.Namespace) -> dict[str, str]:
    """The sidecar's FRAUD_* settings an environment implies: its brokers, the sidecar
    principal's security settings, the features/scored/dead-letter topics, the group its ACLs
    grant, and its delivery guarantee."""
    from core.contract import DEAD_LETTER_SUFFIX
    from fraudctl.options import project_environment
    from fraudctl.tasks.sidecar_process import sidecar_registry
    from infra.topology.acls import sidecar_group
    from udf_server.config import kafka_environment

    _project, env = project_environment(args)
    kafka, topics = env.kafka("sidecar"), env.variables.get("topics") or {}
    found = {"FRAUD_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
             "FRAUD_INPUT_TOPIC": topics.get("features"), "FRAUD_OUTPUT_TOPIC": topics.get(
                 "scored"), "FRAUD_GROUP": sidecar_group(env),
             "FRAUD_FLAGGED_TOPIC": topics.get("flagged"),
             "FRAUD_COUNTS_TOPIC": topics.get("monitor_counts"),
             "FRAUD_EXACTLY_ONCE": "true" if env.exactly_once else "false",
             **kafka_environment(kafka.security), **(sidecar_registry(env) or {})}
    if topics.get("scored"):
        found["FRAUD_DLQ_TOPIC"] = topics["scored"] + DEAD_LETTER_SUFFIX
    return {k: v for k, v in found.items() if v}


def cmd_promote(args: argparse.Namespace) -> int:
    from udf_server.model_store import promote

    version = promote(args.model, args.dir)
    print(f"{args.dir}/current -> versions/{version}.onnx; running sidecars swap at their "
          "next batch")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    score = sub.add_parser("score", help="run the scoring sidecar (Kafka in, Kafka out)",
                           parents=[project_options(
                               env_default=None, env_help="take the brokers, the sidecar's "
                               "principal, topics, group and guarantee from this environment "
                               "(infra/environments/<env>.yaml); flags and FRAUD_* win")])
    add_arguments(score)
    score.set_defaults(func=cmd_score)

    model = sub.add_parser("model", help="model rollout")
    model_sub = model.add_subparsers(dest="model_cmd", required=True, metavar="COMMAND")
    prom = model_sub.add_parser("promote", help="copy a model into a model directory and "
                                "point `current` at it (also rollback: promote the old one)")
    prom.add_argument("--model", required=True, help="model.onnx to serve")
    prom.add_argument("--dir", required=True, help="the directory the sidecars watch")
    prom.set_defaults(func=cmd_promote)
