"""Kafka Connect's REST API and a FileStreamSource tailing a file into a topic."""

import uuid

import pytest

from core.kafka import consume_messages, create_topics
from infra.connect_client import ConnectClient
from infra.rest import RestConfig

pytestmark = [pytest.mark.kafka, pytest.mark.connect]


def test_connect_rest_api_answers_and_lists_file_plugins(connect_url):
    client = ConnectClient(RestConfig(connect_url, timeout=10))
    assert client.info()["version"]
    classes = {p["class"] for p in client.plugins()}
    assert "org.apache.kafka.connect.file.FileStreamSourceConnector" in classes
    assert "org.apache.kafka.connect.file.FileStreamSinkConnector" in classes


def test_file_source_reads_file_then_appended_lines(stack, connect_url, topic_name):
    if stack.file_dir_local is None:
        pytest.skip("no directory shared with Connect (set CONNECT_SHARED_DIR)")
    create_topics(stack.bootstrap_servers, [topic_name])
    source = stack.file_dir_local / f"{topic_name}.csv"
    first = [f"{i},2018-12-18T12:00:00Z,user{i % 7},{i},0.{i}" for i in range(50)]
    source.write_text("\n".join(first) + "\n")

    client = ConnectClient(RestConfig(connect_url, timeout=10))
    name = f"test-file-source-{uuid.uuid4().hex[:6]}"
    client.put_config(name, {
        "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
        "tasks.max": "1",
        "file": stack.connect_path(source),
        "topic": topic_name,
    })
    try:
        client.wait_running(name, timeout=60)
        got = consume_messages(stack.bootstrap_servers, topic_name, len(first), timeout=60,
                               idle_after=2.0)
        assert [m.value().decode() for m in got] == first

        # the continuous-stream case: lines appended to the file arrive as well
        more = [f"{i},2018-12-18T13:00:00Z,user{i % 7},{i},1.{i}" for i in range(50, 80)]
        with source.open("a") as out:
            out.write("\n".join(more) + "\n")
        got = consume_messages(stack.bootstrap_servers, topic_name, len(first) + len(more),
                               timeout=60, idle_after=2.0)
        assert [m.value().decode() for m in got] == first + more
    finally:
        client.delete(name)
