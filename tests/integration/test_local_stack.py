"""The local JVM stack: idempotent up, busy-port error, and a clean down with no orphans."""

import subprocess
from pathlib import Path

import pytest
from broker_features import finalized_features

from core.errors import FraudError
from infra.local import LocalStack, StackConfig
from infra.local.stack import KSQLDB_JVM_OPTIONS, _pid_alive, free_port

pytestmark = pytest.mark.kafka


def _local(stack):
    if stack.local_stack is None:
        pytest.skip(f"the session stack is {stack.source}, not the local JVM stack")
    return stack.local_stack


def test_up_twice_is_harmless(stack):
    local = _local(stack)
    before = local.recorded_pids()
    again = LocalStack(local.config).up(log=lambda *a: None)
    assert again == local.endpoints()
    assert local.recorded_pids() == before
    # asking for the broker alone on a full stack is satisfied too: nothing restarts
    assert LocalStack(local.config).up(log=lambda *a: None, connect=False) == again
    assert local.recorded_pids() == before
    assert all(p["ready"] for p in local.status()["processes"].values())


def test_broker_uses_the_first_transaction_protocol(stack):
    """Formatted with BROKER_FEATURES: the broker answers ApiVersions with transaction.version 1,
    so Connect's Java 4.x producers use the same transaction protocol as ksqlDB's and the
    sidecar's (docs/OPERATIONS.md, "Transaction protocol")."""
    _local(stack)
    features = finalized_features(stack.bootstrap_servers)
    assert features.get("transaction.version") == 1, features
    assert features.get("metadata.version", 0) > 0, features  # the answer was read whole


def test_ksqldb_runs_with_biased_locking(stack, ksqldb_url):
    """The ksqlDB server's JVM has KSQLDB_JVM_OPTIONS in effect, as the JVM itself reports them
    (`jcmd PID VM.flags`): a Java that ignored the option would show it off."""
    pid = _local(stack).recorded_pids()["ksqldb"]
    flags = subprocess.run(["jcmd", str(pid), "VM.flags"], capture_output=True, text=True,
                           timeout=60, check=True).stdout
    wanted = [o for o in KSQLDB_JVM_OPTIONS if o.startswith("-XX:+Use")]
    assert wanted and all(o in flags.split() for o in wanted), flags


def test_busy_port_is_a_clear_error(stack, tmp_path):
    local = _local(stack)
    other = StackConfig(run_dir=tmp_path / "other", kafka_port=local.config.kafka_port,
                        controller_port=free_port(), connect_port=free_port())
    with pytest.raises(FraudError, match=rf"Port {local.config.kafka_port} .*in use"):
        LocalStack(other).up(log=lambda *a: None)
    assert not (tmp_path / "other" / "stack.json").exists()


@pytest.mark.slow
def test_up_then_down_leaves_no_process(stack, tmp_path):
    _local(stack)  # only meaningful where this machine runs the JVMs
    config = StackConfig(run_dir=tmp_path / "lifecycle", kafka_port=free_port(),
                         controller_port=free_port(), connect_port=free_port(),
                         ksqldb_port=free_port(), registry_port=free_port())
    lifecycle = LocalStack(config)
    with_ksqldb = stack.ksqldb_url is not None  # where the session stack has one, so does this
    endpoints = lifecycle.up(timeout=300, log=lambda *a: None, ksqldb=with_ksqldb)
    pids = lifecycle.recorded_pids()
    expected = {"kafka", "connect"} | ({"registry", "ksqldb"} if with_ksqldb else set())
    assert set(pids) == expected and all(_pid_alive(p) for p in pids.values())
    assert endpoints["ksqldb_url"] == (config.ksqldb_url if with_ksqldb else None)
    assert endpoints["schema_registry_url"] == (
        config.schema_registry_url if with_ksqldb else None)
    status = lifecycle.status()
    assert set(status["processes"]) == expected
    assert all(p["ready"] for p in status["processes"].values())

    stopped = lifecycle.down(log=lambda *a: None)
    assert sorted(stopped) == sorted(pids.values())
    assert not any(_pid_alive(p) for p in pids.values())
    assert not _processes_naming(config.run_dir), "a process still names the run directory"
    assert lifecycle.down(log=lambda *a: None) == []  # down twice is harmless too
    stopped_status = lifecycle.status()
    assert not stopped_status["running"] and stopped_status["ksqldb_url"] is None


def test_status_after_down_and_reset(stack, tmp_path, capsys):
    """`status` of a stopped stack names no endpoints; `reset` asks (or needs --yes), then
    deletes the run directory, topics and all."""
    from fraudctl.cli import main

    _local(stack)
    config = StackConfig(run_dir=tmp_path / "reset", kafka_port=free_port(),
                         controller_port=free_port(), connect_port=free_port())
    LocalStack(config).up(timeout=240, log=lambda *a: None, ksqldb=False)
    LocalStack(config).down(log=lambda *a: None)
    run_dir = ["--run-dir", str(config.run_dir)]
    capsys.readouterr()
    assert main(["local", "status", *run_dir]) == 3
    out = capsys.readouterr().out
    assert "stopped" in out and "BOOTSTRAP_SERVERS" not in out
    assert (config.run_dir / "kafka-data").is_dir()
    assert main(["local", "reset", *run_dir]) == 1  # no terminal here, and no --yes
    assert "Pass --yes" in capsys.readouterr().err and config.run_dir.exists()
    assert main(["local", "reset", "--yes", *run_dir]) == 0
    assert not config.run_dir.exists()


def _processes_naming(run_dir: Path) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(run_dir) in cmdline and _pid_alive(int(proc.name)):
            found.append(int(proc.name))
    return found


def test_without_ksqldb_up_says_why_and_a_second_up_restarts_nothing(stack, tmp_path,
                                                                       monkeypatch):
    from infra.local import stack as stack_module
    from infra.local.jars import KsqlDbUnavailable

    _local(stack)

    def unavailable(**_):
        raise KsqlDbUnavailable("ksqlDB 7.9.0 could not be resolved (test)")

    monkeypatch.setattr(stack_module, "fetch_ksqldb", unavailable)
    config = StackConfig(run_dir=tmp_path / "no-ksqldb", kafka_port=free_port(),
                         controller_port=free_port(), connect_port=free_port(),
                         ksqldb_port=free_port(), registry_port=free_port())
    said: list[str] = []
    try:
        endpoints = LocalStack(config).up(timeout=240, log=said.append)
        assert endpoints["ksqldb_url"] is None and endpoints["connect_url"]
        assert any("could not be resolved" in line for line in said)
        pids = LocalStack(config).recorded_pids()
        assert set(pids) == {"kafka", "connect"}
        LocalStack(config).up(timeout=240, log=said.append)
        assert LocalStack(config).recorded_pids() == pids, "Kafka and Connect were restarted"
        assert "already running" in said[-1]
    finally:
        LocalStack(config).down(log=lambda *a: None)
