"""The topology cycle on a real ksqlDB (Docker or KSQLDB_URL + BOOTSTRAP_SERVERS; else skipped).

Checks what only the real server can: that what ksqlDB stores and reports for our statements
normalises back to "unchanged", and that in-place updates and drops work in order.
"""

import uuid

import pytest
from topology_project import copy_repo_project, run_fraudctl

from infra.ksql_client import KsqlClient
from infra.rest import RestConfig

pytestmark = pytest.mark.ksqldb




def test_apply_unchanged_update_destroy_on_real_ksqldb(stack, ksqldb_url, tmp_path):
    tag = uuid.uuid4().hex[:6]
    root = tmp_path / "repo"
    copy_repo_project(root, tag, {"ksqldb": {"url": ksqldb_url},
                                  "kafka": {"bootstrap_servers": stack.bootstrap_servers}},
                      base_env="compose")
    client = KsqlClient(RestConfig(ksqldb_url))
    try:
        first = run_fraudctl(root, "plan", "--only", "ksql")
        assert first.returncode == 2 and "9 to create" in first.stdout, first.stdout
        applied = run_fraudctl(root, "apply", "--only", "ksql", "--auto-approve")
        assert applied.returncode == 0, applied.stdout + applied.stderr

        again = run_fraudctl(root, "plan", "--only", "ksql")
        assert again.returncode == 0, f"the server's statements must read as unchanged:\n" \
                                      f"{again.stdout}"
        assert run_fraudctl(root, "status", "--only", "ksql").returncode == 0

        alerts = root / "ksql" / "alerts.sql"
        alerts.write_text(alerts.read_text().replace("WHERE IS_ANOMALY = TRUE",
                                                     "WHERE IS_ANOMALY = TRUE AND SCORE > 0"))
        changed = run_fraudctl(root, "plan", "--only", "ksql")
        assert changed.returncode == 2 and "update" in changed.stdout, changed.stdout
        assert run_fraudctl(root, "apply", "--only", "ksql", "--auto-approve").returncode == 0
        assert run_fraudctl(root, "plan", "--only", "ksql").returncode == 0
    finally:
        destroyed = run_fraudctl(root, "destroy", "--only", "ksql", "--auto-approve",
                                 "--delete-topics")
        assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    left = [s["name"] for s in client.sources() if s["name"].startswith(f"IT{tag}_".upper())]
    assert left == []
