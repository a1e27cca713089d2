"""The scoring sidecar as a child process (`python -m udf_server`, the image's entry point), for
the demo, the notebook and the benchmarks: start, wait until ready, stop."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

from core.contract import DEAD_LETTER_SUFFIX
from core.errors import StackError
from core.kafka import Connection, connection
from core.waiting import wait_until
from infra.local.stack import free_port
from infra.topology.environment import Environment
from udf_server.config import kafka_environment


def spawn_sidecar(kafka: Connection, model: Path, topics: tuple[str, str], group: str,
                  log: Path | None, *extra: str, exactly_once: bool = True,
                  flagged: str | None = None, counts: str | None = None,
                  registry: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """A sidecar scoring `topics` (features in, scored out; dead letters to scored + .dlq;
    the champion's alerts to `flagged` and monitoring counts to `counts` where given; in the
    wire format of a Schema Registry where `registry` (its FRAUD_SCHEMA_REGISTRY* variables:
    `sidecar_registry`) is given)
    with its output appended to `log` (or discarded); returns the process and its HTTP
    address at once. `extra` are more of its flags (its instance id is the group's name
    unless they name one: one sidecar per group, the same transactional id after a
    restart). The connection's security settings reach it as FRAUD_KAFKA_* variables, never
    on its command line."""
    port = free_port()
    features, scored = topics
    kafka = connection(kafka)
    environ = {**os.environ, **kafka_environment(kafka.security), **(registry or {})}
    command = [sys.executable, "-m", "udf_server", "--bootstrap-servers",
               kafka.bootstrap_servers,
               "--model", str(model), "--input-topic", features, "--output-topic", scored,
               "--dlq-topic", scored + DEAD_LETTER_SUFFIX, "--group", group,
               "--http-port", str(port), "--exactly-once", "true" if exactly_once else "false",
               *(("--flagged-topic", flagged) if flagged else ()),
               *(("--counts-topic", counts) if counts else ()),
               *(() if "--instance-id" in extra else ("--instance-id", group)), *extra]
    with (log.open("a") if log else open(os.devnull, "w")) as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=environ)
    return proc, f"http://127.0.0.1:{port}"


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 120.0,
               log: Path | None = None) -> None:
    """Until `url`/readyz answers 200 (model loaded, partitions assigned); StackError if the
    process exits first or the time runs out."""
    import requests

    where = f"; see {log}" if log else ""

    def ready() -> bool:
        if proc.poll() is not None:
            raise StackError(f"the sidecar exited with code {proc.returncode}{where}")
        try:
            return requests.get(url + "/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_until(ready, timeout, every=0.2, timed_out=lambda: StackError(
        f"the sidecar was not ready within {timeout:.0f}s{where}"))


def terminate(*procs: subprocess.Popen) -> None:
    """Stop child processes: SIGTERM to each, then SIGKILL after 30 s."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def pipeline_outputs(env: Environment) -> dict[str, str | None]:
    """spawn_sidecar's `flagged` and `counts` topics in an environment, and its `registry`
    where the environment's sidecar topics are JSON_SR."""
    topics = env.variables["topics"]
    return {"flagged": topics.get("flagged"), "counts": topics.get("monitor_counts"),
            "registry": sidecar_registry(env)}


def sidecar_registry(env: Environment) -> dict[str, str] | None:
    """The FRAUD_SCHEMA_REGISTRY* variables of a sidecar that frames its records with the
    environment's registry (its URL, CA and the sidecar's user; None: plain JSON)."""
    if env.value_format != "JSON_SR" or env.schema_registry is None:
        return None
    user = env.registry_user("sidecar")
    found = {"FRAUD_SCHEMA_REGISTRY": env.schema_registry.url,
             "FRAUD_SCHEMA_REGISTRY_CA": env.schema_registry.ca_bundle,
             "FRAUD_SCHEMA_REGISTRY_USER": user[0] if user else None,
             "FRAUD_SCHEMA_REGISTRY_PASSWORD": user[1] if user else None}
    return {k: v for k, v in found.items() if v}


def start_sidecar(env: Environment, group: str, models: Path, logs: Path,
                  stop: ExitStack, shadow: Path | None = None) -> str:
    """A sidecar on the environment's topics, following the model directory `models` (and
    scoring `shadow` beside it: a challenger in shadow mode), stopped with `stop`; returns its
    URL once it is ready."""
    topics = env.variables["topics"]
    log = logs / "sidecar.log"
    proc, url = spawn_sidecar(env.kafka("sidecar"), models,
                              (topics["features"], topics["scored"]), group, log,
                              *(("--shadow-model", str(shadow)) if shadow else ()),
                              exactly_once=env.exactly_once, **pipeline_outputs(env))
    stop.callback(terminate, proc)
    wait_ready(url, proc, log=log)
    return url
