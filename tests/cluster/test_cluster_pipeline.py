"""The whole pipeline on the secured cluster: `fraudctl demo` there adds up; a re-plan right
after says nothing changed (ACLs included); no credential appears in any output, log or
state-stream record; `destroy` removes the rules `apply` granted."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid

import pytest
from cluster_fixture import cluster_project
from topology_project import run_fraudctl

from core.kafka import consume_messages
from infra.kafka_acl_client import list_acls
from infra.topology.state import state_topic

pytestmark = [pytest.mark.slow]
ROWS = 300


def _figure(text: str, label: str) -> str:
    match = re.search(rf"^{label}\s+(\S+)", text, re.M)
    assert match, f"no '{label}' line in the summary:\n{text}"
    return match.group(1)


def test_the_demo_runs_on_the_secured_cluster_and_no_secret_leaks(cluster, tmp_path):
    tag = uuid.uuid4().hex[:6]
    root = tmp_path / "repo"
    spec = cluster_project(root, tag, cluster, tmp_path / "files", registry=True)  # JSON_SR
    outputs: list[str] = []
    try:
        demo = subprocess.run(
            [sys.executable, "-m", "fraudctl.cli", "demo", "--env", "it", "--project",
             str(root), "--rows", "4000", "--epochs", "2", "--rate", "0",
             "--rows-to-replay", str(ROWS)],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=1200,
            check=False)
        outputs.append(demo.stdout + demo.stderr)
        assert demo.returncode == 0, demo.stdout[-4000:] + demo.stderr[-4000:]
        assert _figure(demo.stdout, "rows replayed") == f"{ROWS:,}"
        assert _figure(demo.stdout, "rows scored") == f"{ROWS:,}"
        assert _figure(demo.stdout, "dead-lettered") == "0"
        assert "Every replayed row was scored once and counted" in demo.stdout

        plan = run_fraudctl(root, "plan")
        outputs.append(plan.stdout + plan.stderr)
        assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr
        granted = int(re.search(r"ACL rules: 0 to create, 0 to delete, (\d+) unchanged",
                                plan.stdout).group(1))
        assert granted > 50, plan.stdout[-1000:]

        records = consume_messages(cluster.kafka(), state_topic(spec["prefix"]), 1,
                                   timeout=60, idle_after=3)
        assert records, "the state stream records what apply created"
        outputs += [m.value().decode(errors="replace") for m in records]
        logs = [*cluster.stack.run_dir.glob("*.log"), *cluster.stack.run_dir.glob("*.out"),
                *(root / ".data" / "demo").glob("*.log")]
        assert len(logs) > 8
        outputs += [path.read_text(errors="replace") for path in logs]
        for secret in cluster.secrets():
            leaks = [i for i, text in enumerate(outputs) if secret in text]
            assert not leaks, f"a credential appears in output/log/record {leaks}"
        print(f"no credential in {len(outputs)} outputs, logs and state records; "
              f"{granted} ACL rules unchanged after the demo")
    finally:
        gone = run_fraudctl(root, "destroy", "--auto-approve", "--delete-topics")
        assert gone.returncode == 0, gone.stdout[-3000:] + gone.stderr
    left = [a for a in list_acls(cluster.kafka()) or () if tag in a.name]
    assert not left, f"destroy left {len(left)} rule(s): {left[:3]}"
