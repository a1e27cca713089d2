"""Rendering, references and validation errors, each naming the file, line or object."""

import pytest
from topology_project import COUNTS, FILTERED, SOURCE, make_project

from core.errors import ConfigError
from infra.topology.environment import load_environment
from infra.topology.manifest import Manifest
from infra.topology.validate import validate_offline


def _validate(root, env_name="test", environ=None):
    env = load_environment(root, env_name, environ=environ or {}, discover_local=False)
    return validate_offline(root, env)


def test_render_refs_vars_and_dependency_order(tmp_path):
    root = make_project(tmp_path, ksql={"source": SOURCE, "filtered": FILTERED,
                                        "counts": COUNTS})
    specs, errors = _validate(root)
    assert errors == []
    by = {s.logical: s for s in specs}
    assert "FROM T_SOURCE WHERE" in by["filtered"].text
    assert "KAFKA_TOPIC='in'" in by["source"].text
    assert set(by["counts"].refs) == {"filtered"}
    assert [s.logical for s in Manifest(specs)] == ["source", "filtered", "counts"]


def test_unknown_variable_names_file_and_line(tmp_path):
    root = make_project(tmp_path, ksql={"source": "-- comment\n\nCREATE STREAM {{ this }} "
                                        "WITH (KAFKA_TOPIC='{{ var(\"nope\") }}');\n"})
    _, errors = _validate(root)
    assert len(errors) == 1
    assert str(errors[0]) == ("ksql/source.sql:3: unknown variable 'nope' (not in test.yaml "
                              "vars)")


def test_undefined_jinja_name_names_file_and_line(tmp_path):
    root = make_project(tmp_path, ksql={"source": "CREATE STREAM {{ this }}\n"
                                        "WITH (KAFKA_TOPIC='{{ topic_name }}');\n"})
    _, errors = _validate(root)
    assert str(errors[0]).startswith("ksql/source.sql:2: undefined: 'topic_name' is undefined")


def test_missing_secret_in_environment_file(tmp_path):
    root = make_project(tmp_path, env={"prefix": "t_", "servers": {"connect": {
        "url": "http://c:8083", "basic_auth": {"username": "u", "password": "${CONNECT_PW}"}}}})
    with pytest.raises(ConfigError, match=r"test.yaml: secret \$\{CONNECT_PW\} is not set"):
        load_environment(root, "test", environ={}, discover_local=False)
    env = load_environment(root, "test", environ={"CONNECT_PW": "hunter2"}, discover_local=False)
    assert env.connect.basic_auth == ("u", "hunter2")
    assert env.secrets.mask("auth failed for hunter2") == "auth failed for ***"


def test_secret_in_template_is_masked(tmp_path):
    root = make_project(tmp_path, connect={"sink": """
        {"connector.class": "X", "password": "{{ secret('DB_PASSWORD') }}"}
    """})
    env = load_environment(root, "test", environ={"DB_PASSWORD": "s3cr3t-value"},
                           discover_local=False)
    specs, errors = validate_offline(root, env)
    assert errors == [] and specs[0].config["password"] == "s3cr3t-value"
    assert "s3cr3t-value" not in env.secrets.mask(specs[0].text)


def test_dangling_ref_names_file_line_and_target(tmp_path):
    root = make_project(tmp_path, ksql={"filtered": "-- positive values\n" + FILTERED.strip()})
    _, errors = _validate(root)
    assert [str(e) for e in errors] == [
        "ksql/filtered.sql:2: ref('source') names no template (no ksql/source.sql or "
        "connect/source.json)"]


def test_a_ref_to_a_template_that_failed_to_render_says_so(tmp_path):
    broken = SOURCE.replace('var("topic")', 'var("no_such_variable")')
    root = make_project(tmp_path, ksql={"source": broken, "filtered": FILTERED})
    _, errors = _validate(root)
    assert [str(e) for e in errors] == [
        "ksql/source.sql:2: unknown variable 'no_such_variable' (not in test.yaml vars)",
        "ksql/filtered.sql:1: ref('source') names ksql/source.sql, which failed to render "
        "(see its error)"]


def test_cycle_is_named(tmp_path):
    a = "CREATE STREAM {{ this }} AS SELECT * FROM {{ ref('b') }};"
    b = "CREATE STREAM {{ this }} AS SELECT * FROM {{ ref('a') }};"
    root = make_project(tmp_path, ksql={"a": a, "b": b})
    _, errors = _validate(root)
    assert any("dependency cycle: a -> b -> a" in str(e) for e in errors)


def test_two_files_defining_one_object(tmp_path):
    root = make_project(tmp_path, ksql={"source": SOURCE, "copy": SOURCE.replace(
        "{{ this }}", "{{ ref('source') }}")})
    _, errors = _validate(root)
    messages = [str(e) for e in errors]
    assert any(m.startswith("ksql/copy.sql: declares STREAM T_SOURCE, but its file name makes "
                            "it T_COPY") for m in messages)
    root2 = make_project(tmp_path / "p2", ksql={"source": SOURCE},
                         connect={"source": '{"connector.class": "X"}'})
    _, errors = _validate(root2)
    assert any("'source' is also defined by ksql/source.sql" in str(e) for e in errors)


@pytest.mark.parametrize(("text", "message"), [
    ("-- nothing here\n", "no statement found"),
    (SOURCE + "\n" + SOURCE, "2 statements found"),
    ("DROP STREAM X;", "expected CREATE STREAM or CREATE TABLE"),
])
def test_file_must_hold_exactly_one_create(tmp_path, text, message):
    root = make_project(tmp_path, ksql={"source": text})
    _, errors = _validate(root)
    assert len(errors) == 1 and errors[0].file.as_posix() == "ksql/source.sql"
    assert message in errors[0].message


def test_invalid_json_after_rendering_names_the_line(tmp_path):
    root = make_project(tmp_path, connect={"src": """
        {
          "connector.class": "X",
          "topic": "{{ var('topic') }}"
          "file": "/tmp/x"
        }
    """})
    _, errors = _validate(root)
    assert str(errors[0]) == "connect/src.json:4: invalid JSON after rendering: Expecting ',' " \
                             "delimiter"


def test_unknown_environment_lists_the_available_ones(tmp_path):
    root = make_project(tmp_path)
    with pytest.raises(ConfigError, match=r"no environment 'prod'.*available: test"):
        load_environment(root, "prod", environ={}, discover_local=False)


def test_bad_prefix_is_rejected(tmp_path):
    root = make_project(tmp_path, env={"prefix": "Fraud"})
    with pytest.raises(ConfigError, match="'prefix' must be lower-case"):
        load_environment(root, "test", environ={}, discover_local=False)


def test_endpoint_overrides_from_the_process_environment(tmp_path):
    root = make_project(tmp_path, env={"prefix": "t_", "servers": {
        "connect": {"url": "http://file:8083"}, "kafka": {"bootstrap_servers": "file:9092"}}})
    env = load_environment(root, "test", environ={"CONNECT_URL": "http://env:1",
                                                  "BOOTSTRAP_SERVERS": "env:2",
                                                  "KSQLDB_URL": "http://k:3"},
                           discover_local=False)
    assert (env.connect.url, env.bootstrap_servers, env.ksqldb.url) == (
        "http://env:1", "env:2", "http://k:3")
    bare = load_environment(root, "test", environ={}, discover_local=False)
    assert bare.ksqldb is None and "no ksqldb server" in bare.skipped["ksqldb"]


def test_environment_prefixes_that_overlap_are_refused(tmp_path):
    from topology_project import make_project

    from core.errors import ConfigError
    from infra.topology.environment import load_environment

    root = make_project(tmp_path, env={"prefix": "fraud_", "servers": {}, "vars": {}},
                        env_name="a")
    (root / "infra" / "environments" / "b.yaml").write_text(
        "prefix: fraud_b_\nservers: {}\nvars: {}\n")
    with pytest.raises(ConfigError, match=r"prefix 'fraud_' overlaps prefix 'fraud_b_'"):
        load_environment(root, "a", environ={}, discover_local=False)
    with pytest.raises(ConfigError, match=r"prefix 'fraud_b_' overlaps prefix 'fraud_'"):
        load_environment(root, "b", environ={}, discover_local=False)
    (root / "infra" / "environments" / "b.yaml").write_text(
        "prefix: other_\nservers: {}\nvars: {}\n")
    assert load_environment(root, "a", environ={}, discover_local=False).prefix == "fraud_"


@pytest.mark.parametrize(("value", "why"), [("", "set but empty"),
                                            ("a", "1 character"), ("abc12", "5 character")])
def test_empty_and_short_secrets_are_refused_saying_why(tmp_path, value, why):
    root = make_project(tmp_path, env={"prefix": "t_", "servers": {"connect": {
        "url": "http://c:8083", "basic_auth": {"username": "u", "password": "${CONNECT_PW}"}}}})
    with pytest.raises(ConfigError, match=rf"\$\{{CONNECT_PW\}} is.*{why}"):
        load_environment(root, "test", environ={"CONNECT_PW": value}, discover_local=False)


def test_a_secret_is_masked_only_where_it_stands_whole():
    from infra.topology.environment import Secrets

    secrets = Secrets()
    secrets.add("pa55wd", "test")
    assert secrets.mask("login pa55wd failed; url https://u:pa55wd@h/") == (
        "login *** failed; url https://u:***@h/")
    assert secrets.mask("xpa55wdx and pa55wd2") == "xpa55wdx and pa55wd2", (
        "inside a longer word it is not the secret: masking it would cut words apart")
