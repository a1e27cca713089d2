"""`fraudctl`: one CLI whose subcommands are thin wrappers over the layers below.

Each command group is one module of `fraudctl.commands` with a `register(subparsers)`. Heavy
imports (TensorFlow, onnxruntime, confluent-kafka) happen inside the handlers, so `fraudctl
--help` and the topology commands stay fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from core.errors import FraudError
from fraudctl.commands import bench, demo, local, pipeline, sidecar, topology, training
from fraudctl.options import mask_loaded

#: the command groups, in the order `fraudctl --help` lists them
COMMAND_GROUPS = (local, topology, pipeline, training, sidecar, bench, demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fraudctl",
        description="Real-time card-fraud detection on Kafka: stack, topology, model, sidecar.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except FraudError as exc:
        print(f"error: {mask_loaded(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
