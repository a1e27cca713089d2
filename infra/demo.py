"""`fraudctl demo`: the whole pipeline on the compose stack (or an existing cluster with --env).

Steps: bring up Kafka, Connect and ksqlDB; train a model (synthetic data unless --data names the
Kaggle file); promote it into the model directory; apply the topology; start the sidecar;
replay data through the Connect source file; show the live monitor. Without Docker (and without
--env) it says what is missing and what to do instead.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from infra.errors import FraudctlError

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / ".data"


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
  2. Point the demo at an existing cluster instead: copy infra/environments/prod.example.yaml
     to infra/environments/mycluster.yaml, fill it in, then
       make demo DEMO_ARGS="--env mycluster"
     (KSQLDB_URL, CONNECT_URL and BOOTSTRAP_SERVERS override the file's URLs).
  3. Run what works without Docker: `.venv/bin/fraudctl local up` starts a real Kafka broker
     and Kafka Connect on this machine; `make test` exercises everything except ksqlDB.
"""


def _fraudctl(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "infra.cli", *args], cwd=REPO, check=False)
    if result.returncode != 0:
        raise FraudctlError(f"`fraudctl {' '.join(args)}` failed (exit {result.returncode})")


def _step(number: int, total: int, text: str) -> None:
    print(f"\n[{number}/{total}] {text}", flush=True)


def cmd_demo(args: argparse.Namespace) -> int:
    env_name = args.env or "compose"
    why = docker_problem()
    if env_name == "compose" and why:
        print(MISSING_DOCKER.format(why=why), file=sys.stderr)
        return 2
    total = 6
    (DATA / "connect").mkdir(parents=True, exist_ok=True)
    (DATA / "models").mkdir(parents=True, exist_ok=True)
    compose = ["docker", "compose", "--project-directory", str(REPO)]

    _step(1, total, "Kafka, Kafka Connect and ksqlDB" + (
        " (docker compose)" if env_name == "compose" else f" (environment {env_name})"))
    if env_name == "compose":
        _run([*compose, "up", "-d", "--wait", "kafka", "connect", "ksqldb"])

    _step(2, total, "train the autoencoder and export the ONNX model")
    data = Path(args.data) if args.data else DATA / "synthetic.csv"
    if not args.data:
        _fraudctl("data", "synth", "--rows", str(args.rows), "--seed", "7", "--out", str(data))
    build = DATA / "models" / "build"
    _fraudctl("train", "--data", str(data), "--out", str(build))
    _fraudctl("model", "promote", "--model", str(build / "model.onnx"),
              "--dir", str(DATA / "models"))

    _step(3, total, "apply the topology (Connect connectors, ksqlDB streams and tables)")
    _fraudctl("apply", "--env", env_name, "--auto-approve")

    _step(4, total, "start the scoring sidecar")
    sidecar = None
    if env_name == "compose":
        _run([*compose, "up", "-d", "--build", "--wait", "sidecar"])
    else:
        from infra.topology.environment import load_environment

        env = load_environment(REPO, env_name)
        sidecar = subprocess.Popen([sys.executable, "-m", "infra.cli", "score",
                                    "--bootstrap-servers", env.bootstrap_servers or "",
                                    "--model", str(DATA / "models")], cwd=REPO)

    _step(5, total, f"replay {data.name} at {args.rate:g}/s into the Connect source file")
    source = DATA / "connect" / "transactions.csv"
    replayer = subprocess.Popen([sys.executable, "-m", "infra.cli", "replay", "--env", env_name,
                                 "--data", str(data), "--rate", str(args.rate), "--loop",
                                 "--to", "file", "--file", str(source)], cwd=REPO)

    _step(6, total, "live monitor (Ctrl-C to stop the demo; `docker compose down` to remove it)")
    time.sleep(5)
    try:
        _fraudctl("monitor", "--env", env_name, "--interval", "5")
    except (KeyboardInterrupt, FraudctlError):
        pass
    finally:
        replayer.terminate()
        if sidecar is not None:
            sidecar.terminate()
    return 0


def _run(cmd: list[str]) -> None:
    if subprocess.run(cmd, cwd=REPO, check=False).returncode != 0:
        raise FraudctlError(f"`{' '.join(cmd)}` failed; see its output above "
                            "(`docker compose logs SERVICE` shows each service)")


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="run the whole pipeline (needs Docker or --env)")
    demo.add_argument("--env", help="an existing cluster's environment instead of compose")
    demo.add_argument("--data", help="the Kaggle creditcard.csv (default: synthetic data)")
    demo.add_argument("--rows", type=int, default=100_000, help="synthetic rows")
    demo.add_argument("--rate", type=float, default=200.0, help="replay events per second")
    demo.set_defaults(func=cmd_demo)
