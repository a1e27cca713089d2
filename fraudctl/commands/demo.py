"""`fraudctl demo`: the whole pipeline on compose, the local stack or an environment's servers
(the steps: `fraudctl.tasks.demo`)."""

from __future__ import annotations

import argparse

from core.values import non_negative
from fraudctl.options import project_dir, project_options


def cmd_demo(args: argparse.Namespace) -> int:
    from fraudctl.tasks.demo import run_demo

    return run_demo(args, project_dir(args))


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser(
        "demo", help="run the whole pipeline (compose with Docker, else the local stack)",
        parents=[project_options(None, "compose, local, or an existing cluster's environment "
                                       "(default: compose where Docker answers, else local)")])
    demo.add_argument("--data", help="the Kaggle creditcard.csv (default: synthetic data)")
    demo.add_argument("--rows", type=int, default=20_000, help="synthetic rows to train on")
    demo.add_argument("--epochs", type=int, default=10, help="training epochs")
    demo.add_argument("--rate", type=float, default=500.0, help="replay events per second")
    demo.add_argument("--label-delay", type=non_negative, default=5.0,
                      help="seconds between a payment and its label (default 5)")
    demo.add_argument("--rows-to-replay", type=int, default=None,
                      help="replay this many rows, check every count, print a summary and "
                           "exit (the default without a terminal: 2,000)")
    demo.add_argument("--timeout", type=float, default=300.0,
                      help="seconds to wait for every replayed row to be scored and counted")
    demo.set_defaults(func=cmd_demo)


