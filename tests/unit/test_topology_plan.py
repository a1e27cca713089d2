"""Statement normal form, change classes, and plans computed against given server states."""

import pytest
from topology_project import COUNTS, FILTERED, SOURCE, make_project

from core.errors import ConfigError
from infra.topology import ksql_statement as ks
from infra.topology.apply import ChangeNotAllowed, build_steps, check_allowed
from infra.topology.environment import load_environment
from infra.topology.plan import (
    CREATE,
    DELETE,
    RECREATE,
    SKIPPED,
    UNCHANGED,
    UPDATE,
    LiveConnector,
    LiveSource,
    LiveState,
    make_plan,
)
from infra.topology.state import AppliedRecord, StateStore, checksum
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
    # `>` and `<` compare here; they are no brackets (a column added after them is an update)
    ("CREATE STREAM X AS SELECT CASE WHEN A > 1 THEN 1 ELSE 0 END AS F, A < 2 AS G FROM Y;",
     "CREATE STREAM X AS SELECT CASE WHEN A > 1 THEN 1 ELSE 0 END AS F, A < 2 AS G, B FROM Y;",
     "update"),
    ("CREATE STREAM X (A MAP<STRING, INT>, B INT) WITH (KAFKA_TOPIC='t');",
     "CREATE STREAM X (A MAP<STRING, INT>, B INT, C ARRAY<STRUCT<D INT, E INT>>) "
     "WITH (KAFKA_TOPIC='t');", "update"),
])
def test_change_classes_follow_ksqldb_upgrade_rules(old, new, expected):
    assert ks.change_class(ks.parse(new), ks.parse(old))[0] == expected


def test_type_parameters_are_one_column_and_comparisons_split_nothing():
    stream = ks.parse("CREATE STREAM X (A MAP<STRING, INT>, B STRUCT<C INT, D ARRAY<INT>>) "
                      "WITH (KAFKA_TOPIC='t');")
    assert len(stream.columns) == 2
    query = ks.parse("CREATE STREAM X AS SELECT CASE WHEN A > 1 THEN 1 END AS F, "
                     "A < 2 AS G, B FROM Y;")
    assert len(query.select_items) == 3


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


#: What a real ksqlDB 7.9.0 stores for SOURCE, FILTERED and COUNTS once applied (captured from
#: the server with DESCRIBE): re-formatted, qualified, with WITH properties of its own.
SERVER_STATEMENTS = {
    'T_SOURCE': (
        "CREATE STREAM T_SOURCE (ID BIGINT KEY, V DOUBLE) WITH (CLEANUP_POLICY='delete',"
        " KAFKA_TOPIC='in', KEY_FORMAT='KAFKA', PARTITIONS=1, VALUE_FORMAT='JSON');"),
    'T_FILTERED': (
        "CREATE STREAM T_FILTERED WITH (CLEANUP_POLICY='delete', KAFKA_TOPIC='T_FILTERED',"
        " PARTITIONS=1, REPLICAS=1, RETENTION_MS=604800000) AS SELECT\n"
        "  T_SOURCE.ID ID,\n"
        "  T_SOURCE.V V\n"
        "FROM T_SOURCE T_SOURCE\n"
        "WHERE (T_SOURCE.V > 0)\n"
        "EMIT CHANGES;"),
    'T_COUNTS': (
        "CREATE TABLE T_COUNTS WITH (CLEANUP_POLICY='compact,delete', KAFKA_TOPIC='T_COUNTS',"
        " PARTITIONS=1, REPLICAS=1, RETENTION_MS=604800000) AS SELECT\n"
        "  T_FILTERED.ID ID,\n"
        "  COUNT(*) N\n"
        "FROM T_FILTERED T_FILTERED\n"
        "WINDOW TUMBLING ( SIZE 1 MINUTES ) \n"
        "GROUP BY T_FILTERED.ID\n"
        "EMIT CHANGES;"),
}


def _server_text(spec):
    """The server's statement for one of the test objects (others: a stand-in text)."""
    return SERVER_STATEMENTS.get(spec.name, f"CREATE STREAM {spec.name} AS SELECT * FROM X;")


#: what apply sets on every query of an environment that leaves the guarantee at its default
APPLIED_SETTINGS = {"ksql.streams.processing.guarantee": "exactly_once_v2"}


def _live_from(specs, recorded=True, settings=APPLIED_SETTINGS, **overrides):
    """The server state right after `apply` of `specs`: the statements as ksqlDB stores them,
    the settings each query runs with, and (`recorded`) fraudctl's records of what it sent."""
    ksql = {s.name: LiveSource(s.name, ks.parse(s.text).kind, _server_text(s),
                               write_queries=[f"Q_{s.logical}"] if "SELECT" in s.text else [],
                               query_properties=dict(settings) if "SELECT" in s.text else {})
            for s in specs if s.kind == "ksql"}
    ksql["T_FILTERED"].read_by = ["T_COUNTS"]
    ksql["T_SOURCE"].read_by = ["T_FILTERED"]
    connectors = {s.name: LiveConnector(dict(s.config)) for s in specs if s.kind == "connect"}
    applied = {s.name: AppliedRecord(s.name, checksum(ks.parse(s.text)), s.text,
                                     _server_text(s), 1)
               for s in specs if s.kind == "ksql" and recorded}
    ksql.update(overrides)
    return LiveState(ksql, connectors, applied)


def test_plan_on_an_empty_server_creates_everything_in_order(tmp_path):
    env, specs = _project(tmp_path)
    plan = make_plan(env, specs, LiveState({}, {}))
    assert [(c.name, c.action) for c in plan.changes] == [
        ("t_sink", CREATE), ("T_SOURCE", CREATE), ("T_FILTERED", CREATE), ("T_COUNTS", CREATE)]


def test_plan_after_apply_is_all_unchanged_and_ignores_foreign_objects(tmp_path):
    env, specs = _project(tmp_path)
    live = _live_from(specs, OTHER_TEAM_STREAM=LiveSource("OTHER_TEAM_STREAM", "STREAM", "x"))
    live.connectors["someone-elses-connector"] = LiveConnector({"connector.class": "Y"})
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
    with pytest.raises(ChangeNotAllowed, match=r"recreate T_FILTERED, T_COUNTS .*--allow-recreate"):
        check_allowed(plan, allow_recreate=False, allow_delete=False)
    check_allowed(plan, allow_recreate=True, allow_delete=False)


def test_removed_template_is_a_delete_that_needs_the_flag(tmp_path):
    _env, specs = _project(tmp_path, extra_view=FILTERED.replace("filtered", "source"))
    live = _live_from([s for s in specs])
    env2, specs2 = _project(tmp_path / "v2")
    plan = make_plan(env2, specs2, live)
    deletes = [c for c in plan.changes if c.action == DELETE]
    assert [c.name for c in deletes] == ["T_EXTRA_VIEW"]
    with pytest.raises(ChangeNotAllowed, match=r"delete T_EXTRA_VIEW .*--allow-delete"):
        check_allowed(plan, allow_recreate=False, allow_delete=False)


def test_steps_tear_down_readers_first_then_build_in_order(tmp_path):
    live, plan = _projection_shrinks(tmp_path)
    ksql = Recorder()
    steps = build_steps(plan, ksql=ksql, connect=Recorder(), live_sources=live.ksql)
    assert [s.description for s in steps] == [
        "terminate query Q_counts (writes T_COUNTS)",
        "drop table T_COUNTS DELETE TOPIC",  # rebuilt from its source, with a new topic
        "terminate query Q_filtered (writes T_FILTERED)", "drop stream T_FILTERED",
        "create again T_FILTERED", "create again T_COUNTS"]
    for step in steps:
        step.run()
    sent = [args[0].split("(")[0].split(" AS ")[0].strip() for name, args in ksql.calls
            if name == "execute"]
    assert sent == ["TERMINATE Q_counts;", "DROP TABLE IF EXISTS T_COUNTS DELETE TOPIC;",
                    "TERMINATE Q_filtered;", "DROP STREAM IF EXISTS T_FILTERED;",
                    "CREATE STREAM T_FILTERED", "CREATE TABLE T_COUNTS"]
    assert [args[0] for name, args in ksql.calls if name == "wait_query_running"] == [
        "T_FILTERED", "T_COUNTS"]


def test_destroy_deletes_a_shared_topic_with_its_last_source_only(tmp_path):
    from infra.topology.plan import destroy_plan

    env, _ = _project(tmp_path)
    live = LiveState({
        "T_EVENTS": LiveSource("T_EVENTS", "STREAM", "x", topic="events"),
        "T_FROM_A": LiveSource("T_FROM_A", "STREAM", "x", topic="events", write_queries=["QA"],
                               read_by=["T_EVENTS"]),
        "T_FROM_B": LiveSource("T_FROM_B", "STREAM", "x", topic="events", write_queries=["QB"],
                               read_by=["T_EVENTS"]),
        "T_OWN": LiveSource("T_OWN", "STREAM", "x", topic="own"),
    }, {})
    ksql = Recorder()
    for step in build_steps(destroy_plan(env, live), ksql=ksql, connect=Recorder(),
                            live_sources=live.ksql, delete_topics=True):
        step.run()
    drops = [args[0] for name, args in ksql.calls
             if name == "execute" and args[0].startswith("DROP")]
    deleting = [d for d in drops if d.endswith("DELETE TOPIC;")]
    assert len(drops) == 4 and len(deleting) == 2, drops
    assert deleting[0] == "DROP STREAM IF EXISTS T_OWN DELETE TOPIC;" or \
        deleting[1] == "DROP STREAM IF EXISTS T_OWN DELETE TOPIC;"
    shared = [d for d in drops if "T_OWN" not in d]
    assert shared[-1].endswith("DELETE TOPIC;") and not any(
        d.endswith("DELETE TOPIC;") for d in shared[:-1]), "ksqlDB refuses it before the last"


def test_destroy_deletes_connectors_before_it_drops_their_topics(tmp_path):
    """A sink still reading a dropped stream's topic would have the broker auto-create the
    topic again (one partition), and the next apply would be blocked by it."""
    from infra.topology.plan import LiveConnector, destroy_plan

    env, _ = _project(tmp_path)
    live = LiveState({"T_ALERTS": LiveSource("T_ALERTS", "STREAM", "x", topic="alerts",
                                             write_queries=["QA"])},
                     {"t_alerts_sink": LiveConnector({"topics": "alerts"})})
    steps = build_steps(destroy_plan(env, live), ksql=Recorder(), connect=Recorder(),
                        live_sources=live.ksql, delete_topics=True)
    assert [s.description for s in steps] == [
        "delete connector t_alerts_sink", "terminate query QA (writes T_ALERTS)",
        "drop stream T_ALERTS DELETE TOPIC"]


class Recorder:
    """Records the client calls a step makes (order only; servers are tested elsewhere)."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args, **_options: self.calls.append((name, args))


def test_connector_config_change_and_missing_server(tmp_path):
    env, specs = _project(tmp_path)
    live = _live_from(specs)
    live.connectors["t_sink"].config["topics"] = "old-topic"
    plan = make_plan(env, specs, live)
    sink = next(c for c in plan.changes if c.name == "t_sink")
    assert sink.action == UPDATE and "topics" in sink.reason
    no_ksql = make_plan(env, specs, LiveState(None, live.connectors))
    assert {c.action for c in no_ksql.changes if c.kind == "ksql"} == {SKIPPED}


def test_without_fraudctl_records_the_reformatted_server_text_is_not_taken_as_ours(tmp_path):
    """The server's own text never equals the template's: with no record of what fraudctl
    applied, the plan says so instead of pretending the objects match (or silently match)."""
    env, specs = _project(tmp_path)
    plan = make_plan(env, specs, _live_from(specs, recorded=False))
    filtered = next(c for c in plan.changes if c.name == "T_FILTERED")
    assert filtered.action != UNCHANGED and "not applied by fraudctl" in filtered.reason


def test_an_object_changed_by_hand_on_the_server_is_not_unchanged(tmp_path):
    env, specs = _project(tmp_path)
    live = _live_from(specs)
    live.ksql["T_FILTERED"].statement = SERVER_STATEMENTS["T_FILTERED"].replace(
        "(T_SOURCE.V > 0)", "(T_SOURCE.V > 5)")
    change = next(c for c in make_plan(env, specs, live).changes if c.name == "T_FILTERED")
    assert change.action == RECREATE and "changed on the server" in change.reason


def test_a_template_change_is_judged_against_what_fraudctl_sent(tmp_path):
    """Adding a column at the end is an in-place update, although the server's stored text
    (qualified names, its own WITH properties) differs from ours everywhere."""
    _env, specs = _project(tmp_path)
    live = _live_from(specs)
    env2, specs2 = _project(tmp_path / "v2", filtered=FILTERED.replace(
        "SELECT ID, V", "SELECT ID, V, V * 2 AS W"))
    plan = make_plan(env2, specs2, live)
    assert [(c.name, c.action) for c in plan.pending] == [("T_FILTERED", UPDATE)]


def test_update_of_a_commented_template_is_sent_as_create_or_replace(tmp_path):
    _env, specs = _project(tmp_path)
    live = _live_from(specs)
    commented = "-- filters the source\n-- (second line)\n" + FILTERED.replace("V > 0", "V > 1")
    env2, specs2 = _project(tmp_path / "v2", filtered=commented)
    change = next(c for c in make_plan(env2, specs2, live).changes if c.name == "T_FILTERED")
    assert change.action == UPDATE
    assert change.statement.startswith("CREATE OR REPLACE STREAM T_FILTERED")


def test_a_topic_with_other_partitions_blocks_the_plan_before_anything_is_dropped(tmp_path):
    env, specs = _project(tmp_path)
    live = LiveState({}, {}, topics={"in": (3, 1), "T_FILTERED": (3, 1)})
    plan = make_plan(env, specs, live)
    blocked = {c.name: c.blocked for c in plan.changes if c.blocked}
    assert list(blocked) == ["T_SOURCE"]  # FILTERED names no PARTITIONS: the topic serves
    assert "topic 'in' exists with other settings: PARTITIONS 1 (the topic has 3)" in (
        blocked["T_SOURCE"])
    with pytest.raises(ChangeNotAllowed, match=r"(?s)would refuse.*T_SOURCE.*Nothing was changed"):
        check_allowed(plan, allow_recreate=True, allow_delete=True)


def test_a_failed_connector_is_not_unchanged(tmp_path):
    env, specs = _project(tmp_path)
    live = _live_from(specs)
    live.connectors["t_sink"].failure = "task 0 FAILED: java.io.FileNotFoundException: /x/y"
    sink = next(c for c in make_plan(env, specs, live).changes if c.name == "t_sink")
    assert sink.action == UPDATE and sink.restart and "FileNotFoundException" in sink.reason
    steps = build_steps(make_plan(env, specs, live), ksql=Recorder(), connect=(rec := Recorder()),
                        live_sources=live.ksql)
    assert [s.description for s in steps] == ["update and restart connector t_sink"]
    steps[0].run()
    assert [name for name, _ in rec.calls] == ["put_config", "restart", "wait_running"]


def test_a_query_not_running_on_every_host_is_reported():
    from infra.ksql_client import query_problem

    assert query_problem({"state": "RUNNING", "statusCount": {"RUNNING": 2}}) is None
    assert query_problem({"state": "RUNNING", "statusCount": {"RUNNING": 1, "ERROR": 1}}) == (
        "ERROR on 1 host(s), RUNNING on 1 host(s)")
    assert query_problem({"state": "RUNNING", "statusCount": {"RUNNING": 1, "UNRESPONSIVE": 1}})
    assert query_problem({"state": "ERROR"}) == "ERROR on 1 host(s)"


SALTED = """
    CREATE STREAM {{ this }} AS SELECT ID, MD5(CONCAT('{{ secret("SALT") }}', CAST(V AS VARCHAR)))
      AS K FROM {{ ref('source') }} EMIT CHANGES;
"""


def _salted(tmp_path, salt):
    root = make_project(tmp_path, ksql={"source": SOURCE, "salted": SALTED},
                        env={"prefix": "t_", "servers": {"ksqldb": {"url": "http://k"}},
                             "vars": {"topic": "in", "partitions": 1}})
    env = load_environment(root, "test", environ={"SALT": salt}, discover_local=False)
    specs, errors = validate_offline(root, env)
    assert errors == []
    return env, {s.logical: s for s in specs}


def test_a_secret_in_a_statement_is_recorded_masked_and_still_compared(tmp_path):
    class Recording:
        def __init__(self):
            self.executed = []

        def execute(self, statement):
            self.executed.append(statement)

    env, specs = _salted(tmp_path, "pepper-1")
    spec = specs["salted"]
    server = spec.text.replace("SELECT ID", "SELECT T_SOURCE.ID ID")  # the server's own text
    client = Recording()
    StateStore(client, env.ksql_prefix, env.secrets.mask).record(spec.name, spec.text, server)
    assert "pepper-1" not in client.executed[0] and "'***'" in client.executed[0]
    record = AppliedRecord(spec.name, checksum(ks.parse(spec.text)), env.secrets.mask(spec.text),
                           env.secrets.mask(server), 1)
    live = LiveState({spec.name: LiveSource(spec.name, "STREAM", server, write_queries=["Q"],
                                            query_properties=APPLIED_SETTINGS),
                      "T_SOURCE": LiveSource("T_SOURCE", "STREAM", specs["source"].text)},
                     {}, {spec.name: record})
    unchanged = make_plan(env, list(specs.values()), live)
    assert next(c for c in unchanged.changes if c.name == spec.name).action == UNCHANGED

    env2, specs2 = _salted(tmp_path / "v2", "pepper-2")
    changed = next(c for c in make_plan(env2, list(specs2.values()), live).changes
                   if c.name == spec.name)
    assert (changed.action, changed.reason) == (UPDATE, "a secret's value changed")
    assert changed.statement.startswith("CREATE OR REPLACE STREAM T_SALTED")


def test_a_leftover_table_topic_is_warned_about_before_the_table_is_created(tmp_path):
    env, specs = _project(tmp_path)
    live = LiveState({}, {}, topics={"T_COUNTS": (1, 1), "in": (1, 1)})
    plan = make_plan(env, specs, live)
    counts = next(c for c in plan.changes if c.name == "T_COUNTS")
    assert counts.action == CREATE
    assert counts.warnings and "left over from an earlier table" in counts.warnings[0]
    source = next(c for c in plan.changes if c.name == "T_SOURCE")
    assert not source.warnings, "a stream over an existing topic is the normal case"


def test_plan_shows_each_objects_guarantee_and_updates_queries_whose_settings_differ(tmp_path):
    env, specs = _project(tmp_path)
    plan = make_plan(env, specs, _live_from(specs))
    guarantees = {c.name: c.guarantee for c in plan.changes}
    assert guarantees["T_FILTERED"] == guarantees["T_COUNTS"] == "exactly_once_v2"
    assert guarantees["T_SOURCE"] == ""  # no query: nothing runs it
    assert "[exactly_once_v2]" in next(c for c in plan.changes
                                       if c.name == "T_COUNTS").describe()

    # queries created at least once (as before exactly-once was the default): updated in
    # place, so they keep their offsets and nothing is replayed
    earlier = _live_from(specs, settings={"ksql.streams.processing.guarantee": "at_least_once"})
    upgrade = {c.name: c for c in make_plan(env, specs, earlier).changes}
    assert upgrade["T_FILTERED"].action == UPDATE
    assert upgrade["T_FILTERED"].reason == ("query settings change: ksql.streams.processing."
                                            "guarantee at_least_once -> exactly_once_v2")
    assert upgrade["T_FILTERED"].statement.startswith("CREATE OR REPLACE STREAM T_FILTERED")
    assert upgrade["T_FILTERED"].properties == APPLIED_SETTINGS
    assert upgrade["T_SOURCE"].action == UNCHANGED


def test_an_environment_may_choose_at_least_once(tmp_path):
    root = make_project(tmp_path, ksql={"source": SOURCE, "filtered": FILTERED},
                        env={"prefix": "t_", "delivery_guarantee": "at_least_once",
                             "servers": {"ksqldb": {"url": "http://k"}},
                             "vars": {"topic": "in", "partitions": 1}})
    env = load_environment(root, "test", environ={}, discover_local=False)
    assert not env.exactly_once and env.isolation_level == "read_uncommitted"
    specs, _errors = validate_offline(root, env)
    plan = make_plan(env, specs, LiveState({}, None))
    assert {c.name: c.guarantee for c in plan.changes}["T_FILTERED"] == "at_least_once"

    bad = make_project(tmp_path / "bad", env={"prefix": "t_", "delivery_guarantee": "twice",
                                              "servers": {}, "vars": {}})
    with pytest.raises(ConfigError, match="delivery_guarantee: expected exactly_once or "
                                          "at_least_once, got 'twice'"):
        load_environment(bad, "test", environ={}, discover_local=False)
