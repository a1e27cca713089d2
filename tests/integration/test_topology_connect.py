"""plan / apply / destroy against the real Kafka Connect, through the CLI as an operator runs it."""

import uuid

import pytest
from topology_project import SOURCE, make_project, run_fraudctl

from core.kafka import consume_messages
from infra.connect_client import ConnectClient
from infra.rest import RestConfig

pytestmark = [pytest.mark.kafka, pytest.mark.connect]

CONNECTOR = """
{
  "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
  "tasks.max": "1",
  "file": "{{ var('file') }}",
  "topic": "{{ var('topic') }}"
}
"""




@pytest.fixture()
def project(stack, connect_url, tmp_path):
    if stack.file_dir_local is None:
        pytest.skip("no directory shared with Connect")
    tag = uuid.uuid4().hex[:6]
    data = stack.file_dir_local / f"topology-{tag}.csv"
    data.write_text("1,a\n2,b\n3,c\n")
    env = {"prefix": f"it{tag}_", "servers": {"connect": {"url": connect_url}},
           "vars": {"file": stack.connect_path(data), "topic": f"topology.{tag}",
                    "partitions": 1}}
    root = make_project(tmp_path / "repo", ksql={"source": SOURCE},
                        connect={"lines": CONNECTOR}, env=env, env_name="it")
    client = ConnectClient(RestConfig(connect_url, timeout=10))
    yield root, env, client, f"it{tag}_lines"
    for name in client.connectors():
        if name.startswith(f"it{tag}_"):
            client.delete(name)


def test_plan_apply_idempotent_update_delete_destroy(stack, project):
    root, env, client, name = project

    plan = run_fraudctl(root, "plan")
    assert plan.returncode == 2, plan.stderr
    assert f"create    connect {name}" in plan.stdout
    assert "skipped   ksql" in plan.stdout and "no ksqldb server" in plan.stderr

    refused = run_fraudctl(root, "apply")
    assert refused.returncode == 1
    assert "refusing to apply without confirmation" in refused.stderr
    assert name not in client.connectors()

    applied = run_fraudctl(root, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "[1/1] create connector" in applied.stdout
    status = client.status(name)
    assert status["connector"]["state"] == "RUNNING"
    assert [t["state"] for t in status["tasks"]] == ["RUNNING"]
    lines = consume_messages(stack.bootstrap_servers, env["vars"]["topic"], 3, timeout=60)
    assert [m.value() for m in lines] == [b"1,a", b"2,b", b"3,c"]

    again = run_fraudctl(root, "plan")
    assert again.returncode == 0, again.stdout
    assert "0 to create, 0 to update, 0 to recreate, 0 to delete, 1 unchanged" in again.stdout
    assert "No changes" in run_fraudctl(root, "apply", "--auto-approve").stdout

    template = root / "connect" / "lines.json"
    template.write_text(template.read_text().replace('"tasks.max": "1"', '"tasks.max": "2"'))
    changed = run_fraudctl(root, "plan")
    assert changed.returncode == 2 and "config changes: tasks.max" in changed.stdout
    assert run_fraudctl(root, "apply", "--auto-approve").returncode == 0
    assert client.connector_config(name)["tasks.max"] == "2"

    template.unlink()
    unsafe = run_fraudctl(root, "apply", "--auto-approve")
    assert unsafe.returncode == 1 and "--allow-delete" in unsafe.stderr
    assert name in client.connectors(), "nothing may change without the flag"
    deleted = run_fraudctl(root, "apply", "--auto-approve", "--allow-delete")
    assert deleted.returncode == 0, deleted.stderr
    assert name not in client.connectors()


def test_destroy_removes_only_owned_connectors(stack, project):
    root, env, client, name = project
    foreign = f"foreign-{uuid.uuid4().hex[:6]}"
    client.put_config(foreign, {
        "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
        "file": env["vars"]["file"], "topic": env["vars"]["topic"] + ".foreign"})
    try:
        assert run_fraudctl(root, "apply", "--auto-approve").returncode == 0
        assert run_fraudctl(root, "status").returncode == 0
        refused = run_fraudctl(root, "destroy")
        assert refused.returncode == 1 and "refusing to destroy" in refused.stderr
        destroyed = run_fraudctl(root, "destroy", "--auto-approve")
        assert destroyed.returncode == 0, destroyed.stderr
        names = client.connectors()
        assert name not in names and foreign in names
        assert "Nothing to destroy" in run_fraudctl(root, "destroy", "--auto-approve").stdout
    finally:
        client.delete(foreign)


def test_validate_shows_connects_own_messages_per_field(project):
    root, _, _, _ = project
    template = root / "connect" / "lines.json"
    template.write_text(template.read_text().replace('"tasks.max": "1"', '"tasks.max": "many"'))
    result = run_fraudctl(root, "validate")
    assert result.returncode == 1
    assert "connect/lines.json: Connect: tasks.max:" in result.stderr
    assert "Traceback" not in result.stderr


SINK = """
{
  "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
  "tasks.max": "1",
  "topics": "{{ var('topic') }}",
  "file": "{{ var('sink_file') }}"
}
"""


def test_a_failed_connector_shows_in_the_plan_and_a_fixed_config_applies(stack, project):
    root, _env, client, lines = project
    name = lines.replace("lines", "sink")
    (root / "connect" / "lines.json").unlink()
    (root / "connect" / "sink.json").write_text(SINK)
    env_file = root / "infra" / "environments" / "it.yaml"
    missing_dir = stack.connect_path(stack.file_dir_local) + f"/no-such-dir-{name}/out.txt"
    env_file.write_text(env_file.read_text().replace(
        "vars:\n", f"vars:\n  sink_file: {missing_dir}\n"))

    failed = run_fraudctl(root, "apply", "--auto-approve")
    assert failed.returncode == 1
    assert f"connector {name}: task 0 FAILED" in failed.stderr, failed.stderr
    plan = run_fraudctl(root, "plan")
    assert plan.returncode == 2
    assert f"update    connect {name}  [at least once (a file sink: readers drop repeats by " \
           f"payment ID)]  (restart: task 0 FAILED" in plan.stdout, plan.stdout
    assert run_fraudctl(root, "status").returncode == 3

    good = stack.connect_path(stack.file_dir_local) + f"/{name}.txt"
    env_file.write_text(env_file.read_text().replace(missing_dir, good))
    fixed = run_fraudctl(root, "apply", "--auto-approve")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "update and restart connector" in fixed.stdout
    status = client.status(name)
    assert [status["connector"]["state"]] + [t["state"] for t in status["tasks"]] == [
        "RUNNING", "RUNNING"]
    assert run_fraudctl(root, "plan").returncode == 0
