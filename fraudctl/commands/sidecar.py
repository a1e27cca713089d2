"""`fraudctl score` (the scoring sidecar) and `fraudctl model promote` (model rollout)."""

from __future__ import annotations

import argparse
import os

from udf_server.config import add_arguments, from_arguments


def cmd_score(args: argparse.Namespace) -> int:
    from udf_server.main import run

    return run(from_arguments(args, os.environ))


def cmd_promote(args: argparse.Namespace) -> int:
    from udf_server.model_store import promote

    version = promote(args.model, args.dir)
    print(f"{args.dir}/current -> versions/{version}.onnx; running sidecars swap at their "
          "next batch")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    score = sub.add_parser("score", help="run the scoring sidecar (Kafka in, Kafka out)")
    add_arguments(score)
    score.set_defaults(func=cmd_score)

    model = sub.add_parser("model", help="model rollout")
    model_sub = model.add_subparsers(dest="model_cmd", required=True, metavar="COMMAND")
    prom = model_sub.add_parser("promote", help="copy a model into a model directory and "
                                "point `current` at it (also rollback: promote the old one)")
    prom.add_argument("--model", required=True, help="model.onnx to serve")
    prom.add_argument("--dir", required=True, help="the directory the sidecars watch")
    prom.set_defaults(func=cmd_promote)
