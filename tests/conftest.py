"""Session fixtures: one real stack for the whole run (see tests/stack_fixture.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from stack_fixture import (
    REPO,
    Endpoints,
    docker_available,
    from_environment,
    start_local_stack,
)

#: the secured cluster's tests (tests/cluster) run only when asked: `make test-cluster`
collect_ignore = [] if os.environ.get("FRAUD_TEST_CLUSTER") else ["cluster"]

#: the user-key salt the features stream needs (a secret; environments other than `local` read it
#: from the process environment, and so do the `fraudctl` processes tests start)
os.environ.setdefault("FRAUD_USER_KEY_SALT", "test-suite-salt")


def _compose(tmp: Path) -> Iterator[Endpoints]:
    from testcontainers.compose import DockerCompose

    data = REPO / ".data" / "connect"
    data.mkdir(parents=True, exist_ok=True)
    compose = DockerCompose(str(REPO), compose_file_name="docker-compose.yml", wait=True,
                            services=["kafka", "connect", "ksqldb"])
    with compose:
        yield Endpoints("localhost:9092", "http://localhost:8083", "http://localhost:8088",
                        "docker compose", data, "/data")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoints]:
    """Endpoints of a real Kafka (+ Connect, + ksqlDB where there is one) for this session."""
    env = from_environment()
    if env:
        yield env
        return
    if docker_available() is None:
        yield from _compose(tmp_path_factory.mktemp("compose"))
        return
    endpoints = start_local_stack(tmp_path_factory.mktemp("local"))
    stack = endpoints.local_stack
    pids = stack.recorded_pids()
    try:
        yield endpoints
    finally:
        stack.down(log=lambda *a: None)
        from infra.local.stack import _pid_alive

        left = {name: pid for name, pid in pids.items() if _pid_alive(pid)}
        assert not left, f"local stack processes survived teardown: {left}"


@pytest.fixture(scope="session")
def connect_url(stack: Endpoints) -> str:
    if not stack.connect_url:
        pytest.skip("no Kafka Connect: set CONNECT_URL or let the local stack start")
    return stack.connect_url


@pytest.fixture(scope="session")
def ksqldb_url(stack: Endpoints) -> str:
    if stack.ksqldb_url:
        return stack.ksqldb_url
    pytest.skip(f"needs ksqlDB, and the {stack.source} has none: "
                f"{stack.ksqldb_missing or 'set KSQLDB_URL with BOOTSTRAP_SERVERS'}")


@pytest.fixture()
def topic_name(request: pytest.FixtureRequest) -> str:
    """A fresh topic name per test."""
    import re
    import uuid

    base = re.sub(r"[^a-zA-Z0-9._-]", "_", request.node.name[:40])
    return f"test.{base}.{uuid.uuid4().hex[:6]}"
