"""The fault tests' own stack: they kill its processes, so no other test shares it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fault_harness import start_fault_stack

from infra.local import LocalStack
from infra.local.stack import _pid_alive


@pytest.fixture(scope="session")
def fault_stack(stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A broker, Connect and ksqlDB that only the fault tests use (after the session stack
    has shown that the jars and ksqlDB resolve here)."""
    if stack.local_stack is None:
        pytest.skip(f"the fault tests kill local processes; the session stack is {stack.source}")
    if not stack.ksqldb_url:
        pytest.skip(f"needs ksqlDB: {stack.ksqldb_missing}")
    fault = start_fault_stack(tmp_path_factory.mktemp("fault") / "stack")
    pids = fault.recorded_pids()
    try:
        yield fault
    finally:
        fault.down(log=lambda *_: None)
        pids.update(fault.recorded_pids())
        assert not [p for p in pids.values() if _pid_alive(p)], "fault stack survived"
