"""Missing Java or Maven: an error that says what to install, before anything starts."""

import pytest

from core.errors import FraudError
from infra.local import jars


def test_missing_java_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FraudError, match=r"'java' was not found on PATH.*Java 17"):
        jars.require_java()


def test_missing_maven_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("FRAUD_CACHE_DIR", str(tmp_path / "cache"))  # nothing resolved yet
    monkeypatch.setattr(jars, "require_java", lambda: "/usr/bin/java")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FraudError, match=r"'mvn' was not found.*apt-get install maven"):
        jars.fetch_distribution(quiet=True)


def test_free_ports_stay_out_of_the_ephemeral_range():
    import socket

    from infra.local.stack import _ephemeral_range, free_port

    low, _ = _ephemeral_range()
    for _ in range(20):
        port = free_port()
        assert 10_000 <= port < low
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # and it really is free


def test_cluster_ids_never_start_with_a_dash(monkeypatch):
    """A leading '-' made `kafka-storage format -t <id>` read the id as an option (CI, stop 8)."""
    import uuid

    from infra.local import stack

    dash_first = uuid.UUID(bytes=b"\xf8" + bytes(15))  # base64 of 0xF8... begins with '-'
    draws = iter([dash_first, dash_first, uuid.UUID(int=7)])
    monkeypatch.setattr(stack.uuid, "uuid4", lambda: next(draws))
    cluster_id = stack.new_cluster_id()
    assert cluster_id == "AAAAAAAAAAAAAAAAAAAABw"
    assert len(cluster_id) == 22
