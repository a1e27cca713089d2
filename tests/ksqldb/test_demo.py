"""`fraudctl demo` without a terminal, end to end on real servers, its summary checked.

The demo runs against an environment naming the session's Kafka, Connect and ksqlDB (the path
a user takes with an existing cluster): it trains a small model, applies the topology, starts
the sidecar, replays rows through Connect's source file, waits until every row is scored and
counted by the monitoring tables, prints the summary, stops what it started and exits 0.
"""

import re
import subprocess
import sys
import uuid

import pytest
from topology_project import copy_repo_project, run_fraudctl

pytestmark = [pytest.mark.ksqldb, pytest.mark.slow]
ROWS = 300


def _figure(text: str, label: str) -> str:
    match = re.search(rf"^{label}\s+(\S+)", text, re.M)
    assert match, f"no '{label}' line in the summary:\n{text}"
    return match.group(1)


def test_demo_without_a_terminal_scores_and_counts_every_row(stack, ksqldb_url, tmp_path):
    tag = uuid.uuid4().hex[:6]
    root = tmp_path / "repo"
    files = tmp_path / "connect"
    files.mkdir()
    copy_repo_project(root, tag, {"kafka": {"bootstrap_servers": stack.bootstrap_servers},
                                  "connect": {"url": stack.connect_url},
                                  "ksqldb": {"url": ksqldb_url}},
                      files={"source": str(files / "transactions.csv"),
                             "alerts": str(files / "alerts.jsonl"),
                             "labels": str(files / "labels.csv")}, base_env="local")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "fraudctl.cli", "demo", "--env", "it", "--project", str(root),
             "--rows", "4000", "--epochs", "2", "--rate", "0", "--rows-to-replay", str(ROWS)],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=900, check=False)
        out = result.stdout
        assert result.returncode == 0, out[-4000:] + result.stderr[-4000:]
        assert "wait until every row is scored" in out, out
        assert _figure(out, "rows replayed") == f"{ROWS:,}"
        assert _figure(out, "rows scored") == f"{ROWS:,}"
        assert _figure(out, "dead-lettered") == "0"
        alerts = int(_figure(out, "alerts").replace(",", ""))
        assert float(_figure(out, "alert rate")) == pytest.approx(alerts / ROWS, abs=1e-4)
        labelled = int(_figure(out, "labels matched").replace(",", ""))
        assert 0 < labelled < ROWS, "every fraud and a sample of genuine payments"
        assert float(_figure(out, "labelled share")) == pytest.approx(labelled / ROWS, abs=1e-3)
        assert float(_figure(out, r"latency p99 \(ms\)")) >= float(
            _figure(out, r"latency p50 \(ms\)")) >= 0
        assert re.fullmatch(r"[0-9a-f]{8,}", _figure(out, "model version"))
        assert "Every replayed row was scored once and counted" in out
    finally:
        run_fraudctl(root, "destroy", "--auto-approve", "--delete-topics")
