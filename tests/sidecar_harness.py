"""Run the real sidecar (`fraudctl score`) as a subprocess and talk to its HTTP port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from core.kafka import Connection, connection
from infra.local.stack import free_port
from udf_server.config import kafka_environment

REPO = Path(__file__).resolve().parent.parent


class SidecarProcess:
    def __init__(self, bootstrap: Connection, model: Path, topics: tuple[str, str, str],
                 group: str, workdir: Path, *, exactly_once: bool = True,
                 instance_id: str = "t1", extra: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        kafka = connection(bootstrap)
        bootstrap = kafka.bootstrap_servers
        self.environ = kafka_environment(kafka.security)  # credentials: not on the command line
        self.log_path = workdir / f"sidecar-{instance_id}-{self.port}.log"
        self.args = [sys.executable, "-m", "fraudctl.cli", "score",
                     "--bootstrap-servers", bootstrap, "--model", str(model),
                     "--input-topic", topics[0], "--output-topic", topics[1],
                     "--dlq-topic", topics[2], "--group", group, "--instance-id", instance_id,
                     "--http-port", str(self.port), *extra]
        self.args += ["--exactly-once", "true" if exactly_once else "false"]
        self.proc: subprocess.Popen | None = None

    @classmethod
    def for_pipeline(cls, bootstrap: Connection, model: Path, topics: dict[str, str],
                     group: str, workdir: Path, *, extra: tuple[str, ...] = (),
                     registry: str | None = None, **kw) -> SidecarProcess:
        """A sidecar on a topology's topics (an environment's `topics` variables): features in;
        scored records, dead letters, the champion's alerts and the monitoring counts out; in
        the wire format of the Schema Registry at `registry` where given."""
        framing = ("--schema-registry", registry) if registry else ()
        return cls(bootstrap, model, (topics["features"], topics["scored"],
                                      f"{topics['scored']}.dlq"), group, workdir,
                   extra=("--flagged-topic", topics["flagged"], "--counts-topic",
                          topics["monitor_counts"], *framing, *extra), **kw)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SidecarProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
                                     env={**os.environ, **self.environ,
                                          "PYTHONUNBUFFERED": "1"})
        log.close()
        return self

    def wait_ready(self, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"sidecar exited:\n{self.log()}"
            try:
                r = requests.get(self.url + "/readyz", timeout=1)
                if r.status_code == 200:
                    return r.json()
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"sidecar not ready in {timeout}s:\n{self.log()}")

    def metric(self, name: str, **labels: str) -> float:
        text = requests.get(self.url + "/metrics", timeout=5).text
        want = "fraud_sidecar_" + name
        if labels:
            want += "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
        total = 0.0
        for line in text.splitlines():
            head, _, value = line.rpartition(" ")
            if head == want or (not labels and head.startswith(want + "{")):
                total += float(value)
        return total

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError(f"sidecar ignored SIGTERM:\n{self.log()}") from None
        return self.proc.returncode if self.proc else 0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]
