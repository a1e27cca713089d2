"""RestClient tells transport failures apart by their types: refused (never sent, retried)
against dropped after sending (uncertain, not sent again). Real sockets, no mocks."""

from __future__ import annotations

import socket
import threading

import pytest

from core.errors import ServerError
from infra.rest import RestClient, RestConfig, UncertainOutcome


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_refused_connection_is_retried_and_never_uncertain():
    client = RestClient(RestConfig(f"http://127.0.0.1:{_closed_port()}", retries=2,
                                   backoff=0.01, timeout=2))
    with pytest.raises(ServerError, match=r"could not be reached after 3 attempt") as info:
        client.request("POST", "/ksql", json={}, idempotent=False)
    assert not isinstance(info.value, UncertainOutcome)


def test_a_connection_dropped_after_the_request_is_uncertain_and_not_sent_again():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    received: list[bytes] = []

    def drop_each_request() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            received.append(conn.recv(65536))
            conn.close()  # read the request, answer nothing

    threading.Thread(target=drop_each_request, daemon=True).start()
    try:
        client = RestClient(RestConfig(f"http://127.0.0.1:{server.getsockname()[1]}",
                                       retries=3, backoff=0.01, timeout=5))
        with pytest.raises(UncertainOutcome, match="may have reached it"):
            client.request("POST", "/ksql", json={"ksql": "CREATE ..."}, idempotent=False)
        assert len(received) == 1, "a request that may have run must not be sent twice"
    finally:
        server.close()
