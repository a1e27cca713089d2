"""Where the tests' Kafka, Connect and ksqlDB come from, in order of preference.

1. Environment variables (an existing cluster): BOOTSTRAP_SERVERS, CONNECT_URL, KSQLDB_URL.
2. docker-compose.yml through testcontainers, when a Docker daemon answers.
3. The local JVM stack (real Kafka, Connect and ksqlDB from Maven jars), on free ports.

ksqlDB comes from KSQLDB_URL, compose or the local stack (where FRAUD_MAVEN_REPOS or
Confluent's repository has it); tests that need it are skipped, with the reason, otherwise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Endpoints:
    """What a test may talk to. `file_dir_*`: a directory both the test and Connect can see."""

    bootstrap_servers: str
    connect_url: str | None
    ksqldb_url: str | None
    source: str
    file_dir_local: Path | None = None
    file_dir_connect: str | None = None
    local_stack: object | None = None
    ksqldb_missing: str | None = None  # why the local stack has no ksqlDB
    schema_registry_url: str | None = None

    def connect_path(self, local_file: Path) -> str:
        """The path under which Connect sees a file the test wrote under `file_dir_local`."""
        assert self.file_dir_local is not None and self.file_dir_connect is not None
        return f"{self.file_dir_connect}/{local_file.relative_to(self.file_dir_local)}"


def docker_available() -> str | None:
    """None if a Docker daemon answers, else why not."""
    from fraudctl.tasks.demo import docker_problem

    return docker_problem()


def from_environment() -> Endpoints | None:
    bootstrap = os.environ.get("BOOTSTRAP_SERVERS")
    if not bootstrap:
        return None
    shared = os.environ.get("CONNECT_SHARED_DIR")
    return Endpoints(bootstrap, os.environ.get("CONNECT_URL"), os.environ.get("KSQLDB_URL"),
                     "environment", Path(shared) if shared else None,
                     os.environ.get("CONNECT_SHARED_DIR_REMOTE", shared),
                     schema_registry_url=os.environ.get("SCHEMA_REGISTRY_URL"))


def start_local_stack(base: Path) -> Endpoints:
    from infra.local import LocalStack, StackConfig
    from infra.local.stack import free_port

    config = StackConfig(run_dir=base / "stack", kafka_port=free_port(),
                         controller_port=free_port(), connect_port=free_port(),
                         ksqldb_port=free_port(), registry_port=free_port())
    stack = LocalStack(config)
    notes: list[str] = []
    endpoints = stack.up(timeout=300, log=notes.append)
    files = base / "connect-files"
    files.mkdir()
    why = None if endpoints["ksqldb_url"] else " ".join(notes)[-1500:]
    return Endpoints(endpoints["bootstrap_servers"], endpoints["connect_url"],
                     endpoints["ksqldb_url"], "local JVM stack", files, str(files), stack,
                     ksqldb_missing=why, schema_registry_url=endpoints["schema_registry_url"])
