"""The rendered topology as one object: parsed once, one graph for order, cycles, upstream
and downstream; and the one wait helper."""

import time

import pytest
from topology_project import COUNTS, FILTERED, SOURCE, make_project

from core.errors import CheckFailed, TemplateError
from core.waiting import wait_until
from infra.topology.dag import CycleError, Graph
from infra.topology.environment import load_environment
from infra.topology.kinds import Action, ObjectKind
from infra.topology.manifest import Manifest
from infra.topology.render import ObjectSpec
from infra.topology.validate import validate_offline

SINK = '{"connector.class": "X", "topics": "in"{{ depends_on("counts") }}}'


def _manifest(tmp_path):
    root = make_project(tmp_path, ksql={"counts": COUNTS, "filtered": FILTERED,
                                        "source": SOURCE}, connect={"sink": SINK})
    env = load_environment(root, "test", environ={}, discover_local=False)
    manifest, errors = validate_offline(root, env)
    assert errors == []
    return manifest


def test_the_manifest_holds_each_object_parsed_once_in_dependency_order(tmp_path):
    manifest = _manifest(tmp_path)
    assert [s.logical for s in manifest] == ["source", "filtered", "counts", "sink"]
    assert manifest.get("counts").statement.kind == "TABLE"
    assert [s.logical for s in manifest.queries()] == ["filtered", "counts"]
    assert manifest.get("sink").statement is None and manifest.get("sink").config
    assert [s.logical for s in manifest.of_kind(ObjectKind.CONNECT)] == ["sink"]
    assert [s.logical for s in manifest.downstream("filtered")] == ["counts", "sink"]
    assert manifest.graph.upstream("sink") == {"counts", "filtered", "source"}
    assert "counts" in manifest and "nothing" not in manifest
    assert [s.logical for s in manifest.subset(["counts", "source"])] == ["source", "counts"]


def _spec(logical, *refs):
    return ObjectSpec(ObjectKind.KSQL, logical, logical.upper(), f"ksql/{logical}.sql", "",
                      refs=dict.fromkeys(refs, 3))


def test_a_cycle_is_a_template_error_at_its_first_reference():
    graph = Graph([_spec("a", "b"), _spec("b", "c"), _spec("c", "a")])
    cycle = graph.cycle()
    assert isinstance(cycle, CycleError) and isinstance(cycle, TemplateError)
    assert cycle.cycle == ["a", "b", "c", "a"]
    assert str(cycle) == "ksql/a.sql:3: dependency cycle: a -> b -> c -> a"
    with pytest.raises(CycleError):
        graph.order()
    assert Manifest(graph.specs).objects == graph.specs  # kept as given, for the error report


def test_a_statement_that_is_not_one_create_is_located_in_its_file(tmp_path):
    root = make_project(tmp_path, ksql={"source": SOURCE, "two": "SELECT 1;\nSELECT 2;\n"})
    env = load_environment(root, "test", environ={}, discover_local=False)
    manifest, errors = validate_offline(root, env)
    assert [s.logical for s in manifest] == ["source"]
    assert [str(e).split(":")[0] for e in errors] == ["ksql/two.sql"]


def test_plan_actions_know_their_mark_and_verb():
    assert Action("recreate").symbol == "-/+" and Action.RECREATE.verb == "create again"
    assert Action.CREATE.builds and not Action.DELETE.builds
    assert ObjectKind.of_server("ksqldb") is ObjectKind.KSQL


def test_wait_until_returns_the_first_answer_and_raises_the_callers_error():
    answers = iter([None, False, "ready"])
    assert wait_until(lambda: next(answers), 5, every=0.01,
                      timed_out=lambda: CheckFailed("never")) == "ready"
    started = time.monotonic()
    with pytest.raises(CheckFailed, match="still waiting"):
        wait_until(lambda: None, 0.2, every=0.05, timed_out=lambda: CheckFailed("still waiting"))
    assert 0.2 <= time.monotonic() - started < 2

    def gives_up():
        raise TemplateError(None, None, "a query is in ERROR")

    with pytest.raises(TemplateError, match="in ERROR"):
        wait_until(gives_up, 5, timed_out=lambda: CheckFailed("not this"))


def test_a_recreated_query_with_new_inputs_says_what_it_reads_instead():
    from infra.topology import ksql_statement as ks

    old = ks.parse("CREATE TABLE T AS SELECT K, COUNT(*) AS N FROM EVENTS GROUP BY K "
                   "EMIT CHANGES;")
    new = ks.parse("CREATE TABLE T AS SELECT K, SUM(N) AS N FROM COUNTS GROUP BY K "
                   "EMIT CHANGES;")
    joined = ks.parse("CREATE STREAM J AS SELECT * FROM A X JOIN B Y WITHIN 1 HOUR "
                      "ON X.ID = Y.ID EMIT CHANGES;")
    assert joined.reads == ("A", "B")
    action, why = ks.change_class(new, old)
    assert action == "recreate"
    assert why.endswith("it reads COUNTS instead of EVENTS: rebuilt from what those hold, "
                        "not from the old input's history")
    assert ks.change_class(new, new)[1].count("instead") == 0
