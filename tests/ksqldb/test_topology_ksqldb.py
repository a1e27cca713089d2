"""The topology cycle on a real ksqlDB (the local stack's, compose's, or KSQLDB_URL's).

Checks what only the real server can: that a plan right after apply says "No changes" although
ksqlDB re-formats every statement it stores; that one template change is exactly one update;
that a topic-settings change is refused before anything is dropped; and that drops work in
order.
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
        assert first.returncode == 2 and "20 to create" in first.stdout, first.stdout
        applied = run_fraudctl(root, "apply", "--only", "ksql", "--auto-approve")
        assert applied.returncode == 0, applied.stdout + applied.stderr

        again = run_fraudctl(root, "plan", "--only", "ksql")
        assert again.returncode == 0, f"the server's statements must read as unchanged:\n" \
                                      f"{again.stdout}"
        assert "0 to create, 0 to update, 0 to recreate, 0 to delete, 20 unchanged" in (
            again.stdout)
        # the environment's ksql_query_properties and each template's own reached the queries
        def settings(logical):
            query = next(q for q in client.queries()
                         if f"IT{tag.upper()}_{logical}" in q["sinks"])
            return client.query_properties(query["id"])

        assert settings("TRANSACTIONS_FEATURES") == {
            "ksql.streams.processing.guarantee": "exactly_once_v2",
            "ksql.streams.commit.interval.ms": "100", "ksql.streams.num.stream.threads": "1"}
        for logical in ("TRANSACTIONS_LABELLED", "MONITOR_ACCURACY", "USER_ALERT_ESCALATION"):
            assert settings(logical)["ksql.streams.commit.interval.ms"] == "250", logical
        assert settings("MONITOR_ALERT_RATE")["ksql.streams.commit.interval.ms"] == "1000"
        assert "No changes" in run_fraudctl(root, "apply", "--only", "ksql",
                                            "--auto-approve").stdout
        assert run_fraudctl(root, "status", "--only", "ksql").returncode == 0

        alerts = root / "ksql" / "alerts.sql"
        alerts.write_text(alerts.read_text().replace("WHERE IS_ANOMALY = TRUE",
                                                     "WHERE IS_ANOMALY = TRUE AND SCORE > 0"))
        changed = run_fraudctl(root, "plan", "--only", "ksql")
        assert changed.returncode == 2
        assert "0 to create, 1 to update, 0 to recreate, 0 to delete, 19 unchanged" in (
            changed.stdout), changed.stdout
        assert (f"update    ksql    IT{tag.upper()}_ALERTS  [exactly_once_v2]  (filter changes)"
                in changed.stdout), changed.stdout
        updated = run_fraudctl(root, "apply", "--only", "ksql", "--auto-approve")
        assert updated.returncode == 0, updated.stdout + updated.stderr
        assert run_fraudctl(root, "plan", "--only", "ksql").returncode == 0

        env_file = root / "infra" / "environments" / "it.yaml"
        env_file.write_text(env_file.read_text().replace("partitions: 3", "partitions: 4"))
        before = {s["name"] for s in client.sources()}
        blocked = run_fraudctl(root, "apply", "--only", "ksql", "--auto-approve",
                               "--allow-recreate")
        assert blocked.returncode == 1
        assert "exists with other settings: PARTITIONS 4 (the topic has 3)" in blocked.stderr
        assert "Nothing was changed" in blocked.stderr
        assert {s["name"] for s in client.sources()} == before, "nothing may be dropped"
    finally:
        destroyed = run_fraudctl(root, "destroy", "--only", "ksql", "--auto-approve",
                                 "--delete-topics")
        assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    left = [s["name"] for s in client.sources() if s["name"].startswith(f"IT{tag}_".upper())]
    assert left == []


def test_an_at_least_once_topology_is_upgraded_in_place(stack, ksqldb_url, tmp_path):
    """A topology applied at least once (as every one was before exactly-once became the
    default) is planned as updates of its queries' settings, applied with CREATE OR REPLACE
    (each query keeps its id, so its committed offsets: nothing is replayed), except the
    stateful ones (the join, the aggregations), which ksqlDB cannot replace: they and what
    reads them are recreated, and the plan says what that replays."""
    tag = uuid.uuid4().hex[:6]
    root = tmp_path / "repo"
    copy_repo_project(root, tag, {"ksqldb": {"url": ksqldb_url},
                                  "kafka": {"bootstrap_servers": stack.bootstrap_servers}},
                      base_env="compose", guarantee="at_least_once")
    client = KsqlClient(RestConfig(ksqldb_url))
    env_file = root / "infra" / "environments" / "it.yaml"
    try:
        assert run_fraudctl(root, "apply", "--only", "ksql", "--auto-approve").returncode == 0
        before = {q["id"] for q in client.queries() if any(
            s.startswith(f"IT{tag.upper()}_") for s in q["sinks"])}
        env_file.write_text(env_file.read_text().replace("at_least_once", "exactly_once"))
        plan = run_fraudctl(root, "plan", "--only", "ksql")
        assert plan.returncode == 2, plan.stdout + plan.stderr
        assert "0 to create, 4 to update, 9 to recreate, 0 to delete, 7 unchanged" in (
            plan.stdout), plan.stdout
        assert ("query settings change: ksql.streams.processing.guarantee at_least_once -> "
                "exactly_once_v2") in plan.stdout
        assert "ksqlDB cannot replace a stream-stream join in place" in plan.stdout
        refused = run_fraudctl(root, "apply", "--only", "ksql", "--auto-approve")
        assert refused.returncode == 1 and "--allow-recreate" in refused.stderr
        applied = run_fraudctl(root, "apply", "--only", "ksql", "--auto-approve",
                               "--allow-recreate")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        after = {q["id"]: q for q in client.queries() if any(
            s.startswith(f"IT{tag.upper()}_") for s in q["sinks"])}
        kept = {q for q in before if any(
            word in q for word in ("_TRANSACTIONS_FEATURES_", "_TRANSACTIONS_LABELS_",
                                   "_ALERTS_"))}
        assert len(kept) == 3
        assert kept <= set(after), "the queries updated in place keep their ids"
        assert {client.query_properties(qid)["ksql.streams.processing.guarantee"]
                for qid in after} == {"exactly_once_v2"}
        assert run_fraudctl(root, "plan", "--only", "ksql").returncode == 0
    finally:
        run_fraudctl(root, "destroy", "--only", "ksql", "--auto-approve", "--delete-topics")
