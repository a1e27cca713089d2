"""Failover on the secured cluster, counted: one of three brokers killed (-9) in the middle of
a replay; one of the two ksqlDB servers killed, the other taking over its queries while pull
queries keep answering; one of two sidecars in a group killed, the other taking its partitions.
Every stage's count must equal what went in (the fault harness, as on the single node)."""

from __future__ import annotations

import signal
import threading
import time

import pytest
from cluster_fixture import harness_servers
from fault_harness import FAULT_AT, PipelineRun

from core.kafka import admin
from infra.ksql_client import pull_rows

pytestmark = [pytest.mark.slow]


def _run_through(run: PipelineRun, fault, capsys, name: str, counted=lambda: None) -> None:
    """Apply, score, replay; `fault()` at FAULT_AT of the replay; count every stage, then
    `counted()` (before the run's objects are destroyed)."""
    run.apply()
    run.calibrate()
    run.start_sidecar()
    try:
        if name.startswith("sidecar"):
            run.start_sidecar(1)
        run.start_replay()
        run.wait_replayed(FAULT_AT)
        away = fault()
        run.wait_replayed(1.0, timeout=300)
        expected = run.expect()
        got = run.settle()
        counted()
        shown = run.report(name, away, got)
        with capsys.disabled():
            print("\n" + shown, flush=True)
        assert got.differences(expected) == {}, shown
        assert expected.alerts > 0 and expected.tp > 0
    finally:
        run.close()


def _under_replicated(cluster) -> list[str]:
    topics = admin(cluster.kafka()).list_topics(timeout=30).topics
    return [f"{name}/{p}" for name, meta in topics.items()
            for p, part in meta.partitions.items() if len(part.isrs) < len(part.replicas)]


def test_one_broker_killed_mid_replay_loses_nothing(cluster, tmp_path, capsys):
    run = PipelineRun(cluster.stack, tmp_path, harness_servers(cluster))
    _run_through(run, lambda: run.inject("kafka-2", signal.SIGKILL), capsys,
                 "broker kafka-2 SIGKILL (2 of 3 brokers carry on; it is started again)")
    deadline = time.monotonic() + 120
    while _under_replicated(cluster) and time.monotonic() < deadline:
        time.sleep(2)
    assert not _under_replicated(cluster), "the restarted broker caught up with every partition"


def test_one_ksqldb_server_killed_the_other_takes_over(cluster, tmp_path, capsys):
    run = PipelineRun(cluster.stack, tmp_path, harness_servers(cluster, ksqldb_server=1))
    answers: list[tuple[float, bool]] = []
    reasons: list[str] = []
    stop = threading.Event()

    def ask() -> None:  # pull queries on the surviving server, throughout
        while not stop.is_set():
            try:
                pull_rows(run.ksql, f"SELECT * FROM {run.prefix}MONITOR_ALERT_RATE;")
                answers.append((time.monotonic(), True))
            except Exception as exc:
                answers.append((time.monotonic(), False))
                reasons.append(str(exc)[:300])
            time.sleep(0.5)

    killed_at: list[float] = []

    def fault() -> float:
        asking = threading.Thread(target=ask, daemon=True)
        asking.start()
        killed_at.append(time.monotonic())
        return run.inject("ksqldb-1", signal.SIGKILL, restart=False)

    try:
        _run_through(run, fault, capsys, "ksqlDB server 1 SIGKILL (server 2 takes over; "
                                         "server 1 stays down)", counted=stop.set)
    finally:
        stop.set()
        cluster.stack.up(timeout=300, log=lambda *_: None)
    after = [(t, ok) for t, ok in answers if t >= killed_at[0]]
    good = [t for t, ok in after if ok]
    assert good, "pull queries never answered after the kill"
    gaps = [b - a for a, b in zip([killed_at[0], *good], good, strict=False)]
    longest = max(gaps)
    failed = [t - killed_at[0] for t, ok in after if not ok]
    span = f"{min(failed):.0f}-{max(failed):.0f}s after the kill" if failed else "none"
    with capsys.disabled():
        print(f"pull queries on server 2: {len(after)} asked after the kill, {len(failed)} "
              f"failed ({span}; first: {reasons[0] if reasons else '-'}), longest wait for "
              f"an answer {longest:.1f}s", flush=True)
    assert longest < 60
    assert not failed, f"pull queries failed on the surviving server: {reasons[:3]}"


def test_one_of_two_sidecars_killed_the_other_takes_its_partitions(cluster, tmp_path, capsys):
    run = PipelineRun(cluster.stack, tmp_path, harness_servers(cluster))

    def fault() -> float:
        survivor = run.sidecars[1]
        away = run.inject("sidecar", signal.SIGKILL, restart=False)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the group rebalances onto the survivor
            if survivor.metric("assigned_partitions") >= 3:
                break
            time.sleep(1)
        return away

    _run_through(run, fault, capsys, "sidecar 1 of 2 SIGKILL (sidecar 2 takes its partitions)")
