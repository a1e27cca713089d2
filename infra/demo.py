"""`fraudctl demo`: the pipeline on the compose stack, or a clear word on what is missing."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from infra.errors import FraudctlError

REPO = Path(__file__).resolve().parent.parent


def docker_problem() -> str | None:
    """None if `docker compose` can run containers here, else why not."""
    if not shutil.which("docker"):
        return "the `docker` command is not installed"
    try:
        info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                              capture_output=True, text=True, timeout=15, check=False)
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 15 s"
    if info.returncode != 0:
        detail = (info.stderr.strip().splitlines() or ["no answer"])[0]
        return f"no Docker engine answers ({detail})"
    return None


MISSING_DOCKER = """\
The demo cannot run the full stack here: {why}.

What the full demo needs: Kafka, Kafka Connect, ksqlDB and the scoring sidecar. ksqlDB is
published only as a Docker image (and on Confluent's package repository), so it needs Docker or
an existing ksqlDB server.

What you can do:
  1. Install and start Docker (Docker Engine or Docker Desktop with Compose v2), then run
     `make demo` again.
  2. Point the demo at an existing cluster instead:
       BOOTSTRAP_SERVERS=host:9092 CONNECT_URL=http://host:8083 KSQLDB_URL=http://host:8088 \\
         make demo DEMO_ARGS="--env prod"
  3. Run what works without Docker: `.venv/bin/fraudctl local up` starts a real Kafka broker
     and Kafka Connect on this machine; `make test` exercises everything except ksqlDB.
"""


def cmd_demo(args: argparse.Namespace) -> int:
    why = docker_problem()
    if why and not args.env:
        print(MISSING_DOCKER.format(why=why), file=sys.stderr)
        return 2
    if args.env:
        raise FraudctlError("the demo against an existing cluster arrives with the pipeline "
                            "(issue #6); for now use `fraudctl local up` or Docker")
    (REPO / ".data" / "connect").mkdir(parents=True, exist_ok=True)
    (REPO / ".data" / "models").mkdir(parents=True, exist_ok=True)
    print("Starting Kafka, Kafka Connect and ksqlDB with docker compose ...", flush=True)
    result = subprocess.run(["docker", "compose", "up", "-d", "--wait", "kafka", "connect",
                             "ksqldb"], cwd=REPO, check=False)
    if result.returncode != 0:
        raise FraudctlError("`docker compose up` failed; see its output above "
                            "(`docker compose logs` shows each service)")
    print("Stack is up: Kafka localhost:9092, Connect http://localhost:8083, "
          "ksqlDB http://localhost:8088.")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="run the whole pipeline (needs Docker or --env)")
    demo.add_argument("--env", help="run against an existing cluster's environment instead")
    demo.set_defaults(func=cmd_demo)
