"""The demo: the whole pipeline, on the compose stack, the local stack or an environment.

Steps: bring up Kafka, Connect and ksqlDB (docker compose where a Docker engine answers, else the
local JVM stack; nothing with `--env` naming an existing cluster); train a model (synthetic data
unless --data names the Kaggle file); promote it; apply the topology; start the sidecar; replay
data through the Connect source file. With a terminal, the live view runs until Ctrl-C; without
one, a fixed number of rows is replayed, the demo waits until each is scored and counted by the
monitoring tables, prints a summary and exits non-zero if any count does not add up. Either way
it stops what it started, and only that.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack, suppress
from pathlib import Path

from core.errors import CheckFailed, ConfigError, FraudError, StackError
from fraudctl.tasks.sidecar_process import start_sidecar, terminate
from infra.topology.acls import sidecar_group
from infra.topology.environment import Environment

COMPOSE_DATA_DIR = "/data"  # where compose's Connect sees ./.data/connect
LOCAL_CLUSTER = "local-cluster"  # the environment of `fraudctl local up --cluster`


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


class DemoFailed(CheckFailed):
    """A step failed; the message names the step, the cause and the log to read."""


class Steps:
    """Numbered steps with their duration; a failure names the step and its log file."""

    def __init__(self, total: int) -> None:
        self.total, self.number = total, 0

    def run(self, title: str, action: Callable[[], object], log: Path | None = None):
        self.number += 1
        print(f"\n[{self.number}/{self.total}] {title}", flush=True)
        started = time.monotonic()
        try:
            result = action()
        except FraudError as exc:
            where = f"\n  log: {log}" if log else ""
            raise DemoFailed(f"step {self.number}/{self.total} ({title}) failed: {exc}{where}")\
                from None
        print(f"      done in {time.monotonic() - started:.1f}s", flush=True)
        return result


def _fraudctl(*args: str, log: Path | None = None) -> None:
    """Run a fraudctl command as a child; its output goes to the terminal or to `log`."""
    out = log.open("a") if log else None
    try:
        result = subprocess.run([sys.executable, "-m", "fraudctl", *args], stdout=out,
                                stderr=subprocess.STDOUT if out else None,
                                stdin=subprocess.DEVNULL, check=False)
    finally:
        if out:
            out.close()
    if result.returncode != 0:
        raise CheckFailed(f"`fraudctl {' '.join(args)}` exited {result.returncode}")


def _compose(project: Path) -> list[str]:
    """`docker compose` on the project's compose file, wherever the demo was started from."""
    return ["docker", "compose", "--project-directory", str(project), "--file",
            str(project / "docker-compose.yml")]


def _run(cmd: list[str]) -> None:
    if subprocess.run(cmd, check=False).returncode != 0:
        raise StackError(f"`{' '.join(cmd)}` failed; see its output above "
                         "(`docker compose logs SERVICE` shows each service)")


def _start_local_stack(stop: ExitStack, cluster: bool = False) -> None:
    from infra.local import LocalStack
    from infra.local.cluster import LocalCluster

    stack = LocalCluster() if cluster else LocalStack()
    already = stack._live_pids()
    endpoints = stack.up(log=lambda text: print(f"      {text}", flush=True))
    if not endpoints.get("ksqldb_url"):
        raise StackError("the local stack has no ksqlDB (see the paragraph above for why "
                            "and the ways out)")
    if not already:  # the demo started it, so the demo stops it
        stop.callback(lambda: stack.down(log=lambda *_: None))


def _compose_user_key_salt(data_dir: Path) -> None:
    """The compose stack's user-key salt: FRAUD_USER_KEY_SALT if set, else one made up once and
    kept in .data/ (the local environment keeps its own in the stack's run directory)."""
    import secrets

    if os.environ.get("FRAUD_USER_KEY_SALT"):
        return
    path = data_dir / "user_key_salt"
    if not path.is_file():
        path.write_text(secrets.token_hex(16) + "\n")
        path.chmod(0o600)
    os.environ["FRAUD_USER_KEY_SALT"] = path.read_text().strip()


def _connect_file(env, env_name: str, data_dir: Path, which: str) -> Path:
    """A file a Connect FileStreamSource tails (vars.files.<which>), as a path on this
    machine."""
    configured = str(env.variables.get("files", {}).get(which, ""))
    if not configured:
        raise ConfigError(f"environment '{env_name}' has no vars.files.{which}")
    if env_name == "compose" and configured.startswith(COMPOSE_DATA_DIR + "/"):
        return data_dir / "connect" / configured[len(COMPOSE_DATA_DIR) + 1:]
    return Path(configured)


def run_demo(args: argparse.Namespace, project: Path) -> int:
    """The demo's steps for the options of `fraudctl demo` (see the module's docstring)."""
    from infra.topology.environment import load_environment

    why = docker_problem()
    env_name = args.env or ("compose" if why is None else "local")
    if env_name == "compose" and why:
        raise StackError(f"--env compose needs Docker: {why}. Leave --env out to run the "
                         "demo on the local stack.")
    interactive = sys.stdin.isatty() and sys.stdout.isatty() and not args.rows_to_replay
    data_dir = project / ".data"
    logs = data_dir / "demo"
    logs.mkdir(parents=True, exist_ok=True)
    models = data_dir / "models"
    steps = Steps(6 if interactive else 7)  # live: replay, then the view
    with ExitStack() as stop:
        _start_servers(env_name, project, data_dir, steps, stop)
        env = load_environment(project, env_name)
        at = ("--env", env_name, "--project", str(project))
        data = Path(args.data) if args.data else data_dir / "synthetic.csv"
        _train_step(args, data, models, logs, steps)
        # the demo's own stacks follow template changes; a user's cluster is never recreated
        own = ("--allow-recreate",) if env_name in ("local", LOCAL_CLUSTER, "compose") else ()
        steps.run("apply the topology (Connect connectors, ksqlDB streams and tables)",
                  lambda: _fraudctl("apply", *at, "--auto-approve", *own))
        sidecar_url = steps.run("start the scoring sidecar",
                                lambda: _sidecar(env, env_name, project, models, logs, stop),
                                log=logs / "sidecar.log")
        source, labels = (_connect_file(env, env_name, data_dir, which)
                          for which in ("source", "labels"))
        if interactive:
            return _live(args, at, data, (source, labels), sidecar_url, steps, stop, logs)
        from fraudctl.tasks.demo_check import run_and_check

        return run_and_check(args, env, data, (source, labels), steps, sidecar_url)
    return 0


def _start_servers(env_name: str, project: Path, data_dir: Path, steps: Steps,
                   stop: ExitStack) -> None:
    """The first step: the environment's servers (started here unless they are a user's)."""
    if env_name == "compose":
        compose = _compose(project)
        (data_dir / "connect").mkdir(parents=True, exist_ok=True)
        steps.run("Kafka, Kafka Connect and ksqlDB (docker compose)",
                  lambda: _run([*compose, "up", "-d", "--wait", "kafka", "connect", "ksqldb"]))
        _compose_user_key_salt(data_dir)
    elif env_name == "local":
        steps.run("Kafka, Kafka Connect and ksqlDB (local stack, no Docker)",
                  lambda: _start_local_stack(stop), log=_stack_logs())
    elif env_name == LOCAL_CLUSTER:
        steps.run("three brokers, Kafka Connect and two ksqlDB servers (the secured local "
                  "cluster)", lambda: _start_local_stack(stop, cluster=True),
                  log=_stack_logs(cluster=True))
    else:
        steps.run(f"the servers of environment '{env_name}' (not started by the demo)",
                  lambda: None)


def _train_step(args: argparse.Namespace, data: Path, models: Path, logs: Path,
                steps: Steps) -> None:
    """Synthesise the data (unless --data names a file), train, export and promote."""
    build = models / "build"
    train_log = logs / "train.log"

    def train() -> None:
        if not args.data:
            _fraudctl("data", "synth", "--rows", str(args.rows), "--seed", "7", "--out",
                      str(data), log=train_log)
        _fraudctl("train", "--data", str(data), "--out", str(build), "--epochs",
                  str(args.epochs), log=train_log)
        _fraudctl("model", "promote", "--model", str(build / "model.onnx"), "--dir",
                  str(models), log=train_log)

    steps.run(f"train the autoencoder on {data.name}, export and promote the ONNX model "
              f"(log: {train_log})", train, log=train_log)


def _sidecar(env: Environment, env_name: str, project: Path, models: Path, logs: Path,
             stop: ExitStack) -> str:
    if env_name == "compose":
        _run([*_compose(project), "up", "-d", "--build",
              "--wait", "sidecar"])
        return "http://127.0.0.1:8000"
    return start_sidecar(env, sidecar_group(env), models, logs, stop)


def _stack_logs(cluster: bool = False) -> Path:
    from infra.local import StackConfig
    from infra.local.cluster import ClusterConfig

    return ClusterConfig().run_dir if cluster else StackConfig().run_dir


def _live(args, at: tuple[str, ...], data: Path, files: tuple[Path, Path], sidecar_url: str,
          steps: Steps, stop: ExitStack, logs: Path) -> int:
    """Replay in a loop and show the live view until Ctrl-C."""
    source, labels = files
    with (logs / "replay.log").open("a") as replay_log:
        replayer = subprocess.Popen(
            [sys.executable, "-m", "fraudctl", "replay", *at, "--data", str(data),
             "--rate", str(args.rate), "--loop", "--to", "file", "--file", str(source),
             "--labels-file", str(labels), "--label-delay", str(args.label_delay)],
            stdout=subprocess.DEVNULL, stderr=replay_log, stdin=subprocess.DEVNULL)
    stop.callback(terminate, replayer)
    steps.run(f"replay {data.name} at {args.rate:g}/s into {source}, labels "
              f"{args.label_delay:g}s later into {labels} (looping)", lambda: None)
    print(f"\n[{steps.total}/{steps.total}] live view (Ctrl-C stops the demo and what it "
          "started). Promote another model meanwhile to see a second version:\n"
          f"  .venv/bin/fraudctl model promote --model MODEL.onnx --dir {logs.parent / 'models'}",
          flush=True)
    time.sleep(3)
    with suppress(KeyboardInterrupt, FraudError):
        _fraudctl("monitor", *at, "--interval", "5", "--sidecar-url", sidecar_url)
    return 0
