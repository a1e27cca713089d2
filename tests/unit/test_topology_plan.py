"""Statement normal form, change classes, and plans computed against given server states."""

import pytest
from topology_project import COUNTS, FILTERED, SOURCE, make_project

from infra.topology import ksql_statement as ks
from infra.topology.apply import ApplyError, build_steps, check_allowed
from infra.topology.environment import load_environment
from infra.topology.plan import (
    CREATE,
    DELETE,
    RECREATE,
    SKIPPED,
    UNCHANGED,
    UPDATE,
    LiveSource,
    LiveState,
    make_plan,
)
from infra.topology.validate import validate_offline


def test_normal_form_ignores_case_whitespace_comments_and_property_order():
    a = ks.parse("create stream X (id bigint key, v double)\n -- c\n with (value_format='JSON',"
                 " kafka_topic='t');")
    b = ks.parse("CREATE OR REPLACE STREAM X(ID BIGINT KEY,V DOUBLE) WITH "
                 "(KAFKA_TOPIC='t',VALUE_FORMAT='JSON')")
    assert a.normal == b.normal
    assert ks.same_definition(a, b)


def test_quoted_strings_keep_their_case():
    a = ks.parse("CREATE STREAM X AS SELECT * FROM Y WHERE NAME = 'Kai';")
    b = ks.parse("CREATE STREAM X AS SELECT * FROM Y WHERE NAME = 'kai';")
    assert not ks.same_definition(a, b)
    c = ks.parse("CREATE STREAM X AS SELECT * FROM Y WHERE NAME = 'a,b';")
    d = ks.parse("CREATE STREAM X AS SELECT * FROM Y WHERE NAME = 'a, b';")
    assert not ks.same_definition(c, d), "spacing inside a string literal is data"


def test_properties_the_server_adds_do_not_count_as_a_change():
    desired = ks.parse("CREATE STREAM X (ID BIGINT KEY) WITH (KAFKA_TOPIC='t', "
                       "VALUE_FORMAT='JSON');")
    live = ks.parse("CREATE STREAM X (ID BIGINT KEY) WITH (KAFKA_TOPIC='t', KEY_FORMAT='KAFKA', "
                    "VALUE_FORMAT='JSON', PARTITIONS=1);")
    assert ks.same_definition(desired, live)
    assert not ks.same_definition(live, desired)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("CREATE STREAM X AS SELECT A FROM Y WHERE A > 0;",
     "CREATE STREAM X AS SELECT A FROM Y WHERE A > 1;", "update"),
    ("CREATE STREAM X AS SELECT A FROM Y;", "CREATE STREAM X AS SELECT A, B FROM Y;", "update"),
    ("CREATE STREAM X AS SELECT A, B FROM Y;", "CREATE STREAM X AS SELECT B FROM Y;", "recreate"),
    ("CREATE STREAM X AS SELECT A FROM Y;", "CREATE STREAM X AS SELECT A FROM Z;", "recreate"),
    ("CREATE STREAM X (A INT) WITH (KAFKA_TOPIC='t');",
     "CREATE STREAM X (A INT, B INT) WITH (KAFKA_TOPIC='t');", "update"),
    ("CREATE STREAM X (A INT, B INT) WITH (KAFKA_TOPIC='t');",
     "CREATE STREAM X (A INT) WITH (KAFKA_TOPIC='t');", "recreate"),
    ("CREATE STREAM X (A INT) WITH (KAFKA_TOPIC='t');",
     "CREATE STREAM X (A INT) WITH (KAFKA_TOPIC='u');", "recreate"),
    ("CREATE TABLE X AS SELECT A, COUNT(*) AS N FROM Y GROUP BY A;",
     "CREATE TABLE X AS SELECT A, COUNT(*) AS N, MAX(B) AS M FROM Y GROUP BY A;", "recreate"),
])
def test_change_classes_follow_ksqldb_upgrade_rules(old, new, expected):
    assert ks.change_class(ks.parse(new), ks.parse(old))[0] == expected


SINK = '{"connector.class": "X", "topics": "{{ var("topic") }}"}'


def _project(tmp_path, filtered=FILTERED, **extra):
    root = make_project(tmp_path, ksql={"source": SOURCE, "filtered": filtered,
                                        "counts": COUNTS, **extra},
                        connect={"sink": SINK},
                        env={"prefix": "t_", "servers": {"ksqldb": {"url": "http://k"},
                                                         "connect": {"url": "http://c"}},
                             "vars": {"topic": "in", "partitions": 1}})
    env = load_environment(root, "test", environ={}, discover_local=False)
    specs, errors = validate_offline(root, env)
    assert errors == []
    return env, specs


def _live_from(specs, **overrides):
    """The server state right after applying `specs` (the server echoes our statements)."""
    ksql = {s.name: LiveSource(s.name, ks.parse(s.text).kind, s.text, write_queries=[
        f"Q_{s.logical}"] if "SELECT" in s.text else []) for s in specs if s.kind == "ksql"}
    ksql["T_FILTERED"].read_by = ["T_COUNTS"]
    ksql["T_SOURCE"].read_by = ["T_FILTERED"]
    connectors = {s.name: dict(s.config) for s in specs if s.kind == "connect"}
    ksql.update(overrides)
    return LiveState(ksql, connectors)


def test_plan_on_an_empty_server_creates_everything_in_order(tmp_path):
    env, specs = _project(tmp_path)
    plan = make_plan(env, specs, LiveState({}, {}))
    assert [(c.name, c.action) for c in plan.changes] == [
        ("t_sink", CREATE), ("T_SOURCE", CREATE), ("T_FILTERED", CREATE), ("T_COUNTS", CREATE)]


def test_plan_after_apply_is_all_unchanged_and_ignores_foreign_objects(tmp_path):
    env, specs = _project(tmp_path)
    live = _live_from(specs, OTHER_TEAM_STREAM=LiveSource("OTHER_TEAM_STREAM", "STREAM", "x"))
    live.connectors["someone-elses-connector"] = {"connector.class": "Y"}
    plan = make_plan(env, specs, live)
    assert {c.action for c in plan.changes} == {UNCHANGED}
    assert not plan.pending


def test_filter_change_is_an_in_place_update(tmp_path):
    _env, specs = _project(tmp_path)
    live = _live_from(specs)
    env2, specs2 = _project(tmp_path / "v2", filtered=FILTERED.replace("V > 0", "V > 10"))
    plan = make_plan(env2, specs2, live)
    change = next(c for c in plan.changes if c.name == "T_FILTERED")
    assert change.action == UPDATE and change.statement.startswith("CREATE OR REPLACE STREAM")
    assert next(c for c in plan.changes if c.name == "T_COUNTS").action == UNCHANGED


def _projection_shrinks(tmp_path):
    """Applied as in the repo, then FILTERED drops a column: not upgradable in place."""
    _env, specs = _project(tmp_path)
    live = _live_from(specs)
    env2, specs2 = _project(tmp_path / "v2", filtered=FILTERED.replace("SELECT ID, V",
                                                                       "SELECT ID"))
    return live, make_plan(env2, specs2, live)


def test_recreate_cascades_downstream_and_needs_the_flag(tmp_path):
    _live, plan = _projection_shrinks(tmp_path)
    actions = {c.name: c.action for c in plan.changes}
    assert actions["T_FILTERED"] == RECREATE and actions["T_COUNTS"] == RECREATE
    counts = next(c for c in plan.changes if c.name == "T_COUNTS")
    assert "follows T_FILTERED" in counts.reason
    with pytest.raises(ApplyError, match=r"recreate T_FILTERED, T_COUNTS .*--allow-recreate"):
        check_allowed(plan, allow_recreate=False, allow_delete=False)
    check_allowed(plan, allow_recreate=True, allow_delete=False)


def test_removed_template_is_a_delete_that_needs_the_flag(tmp_path):
    _env, specs = _project(tmp_path, extra_view=FILTERED.replace("filtered", "source"))
    live = _live_from([s for s in specs])
    env2, specs2 = _project(tmp_path / "v2")
    plan = make_plan(env2, specs2, live)
    deletes = [c for c in plan.changes if c.action == DELETE]
    assert [c.name for c in deletes] == ["T_EXTRA_VIEW"]
    with pytest.raises(ApplyError, match=r"delete T_EXTRA_VIEW .*--allow-delete"):
        check_allowed(plan, allow_recreate=False, allow_delete=False)


def test_steps_tear_down_readers_first_then_build_in_order(tmp_path):
    live, plan = _projection_shrinks(tmp_path)
    ksql = Recorder()
    steps = build_steps(plan, ksql=ksql, connect=Recorder(), live_sources=live.ksql)
    assert [s.description for s in steps] == [
        "terminate query Q_counts (writes T_COUNTS)", "drop table T_COUNTS",
        "terminate query Q_filtered (writes T_FILTERED)", "drop stream T_FILTERED",
        "create again T_FILTERED", "create again T_COUNTS"]
    for step in steps:
        step.run()
    sent = [args[0].split("(")[0].split(" AS ")[0].strip() for name, args in ksql.calls
            if name == "execute"]
    assert sent == ["TERMINATE Q_counts;", "DROP TABLE IF EXISTS T_COUNTS;",
                    "TERMINATE Q_filtered;", "DROP STREAM IF EXISTS T_FILTERED;",
                    "CREATE STREAM T_FILTERED", "CREATE TABLE T_COUNTS"]
    assert [args[0] for name, args in ksql.calls if name == "wait_query_running"] == [
        "T_FILTERED", "T_COUNTS"]


class Recorder:
    """Records the client calls a step makes (order only; servers are tested elsewhere)."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args: self.calls.append((name, args))


def test_connector_config_change_and_missing_server(tmp_path):
    env, specs = _project(tmp_path)
    live = _live_from(specs)
    live.connectors["t_sink"]["topics"] = "old-topic"
    plan = make_plan(env, specs, live)
    sink = next(c for c in plan.changes if c.name == "t_sink")
    assert sink.action == UPDATE and "topics" in sink.reason
    no_ksql = make_plan(env, specs, LiveState(None, live.connectors))
    assert {c.action for c in no_ksql.changes if c.kind == "ksql"} == {SKIPPED}
