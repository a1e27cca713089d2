"""The sidecar's entry point: `python -m udf_server` (the image's) and `fraudctl score`."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from core.errors import FraudError
from udf_server.config import SidecarConfig, add_arguments, from_arguments


def run(config: SidecarConfig) -> int:
    """Score until SIGTERM or SIGINT, with the HTTP endpoints unless `http_port` is -1."""
    from udf_server import logs
    from udf_server.http_api import start_http
    from udf_server.service import Scorer

    logs.configure(config.log_level)
    scorer = Scorer(config)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: scorer.stop())
    server = start_http(scorer, config.http_host, config.http_port) \
        if config.http_port >= 0 else None
    try:
        scorer.run()
    finally:
        if server is not None:
            server.shutdown()
    if scorer.abandoned:  # a producer blocked inside librdkafka cannot be destroyed: leave now
        import logging

        logging.shutdown()
        sys.stdout.flush()
        os._exit(0)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="udf_server", description="The scoring sidecar: feature records in, scored "
                                       "records out (Kafka to Kafka).")
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(from_arguments(args, os.environ))
    except FraudError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
