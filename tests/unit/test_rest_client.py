"""The REST client base: retries on 409/5xx, readable errors, no raw stack trace."""

import pytest
from http_stub import StubServer

from core.errors import ServerError
from infra.rest import RestClient, RestConfig


def _server(responses):
    """Answers each request with the next (status, body) pair."""
    return StubServer(lambda method, path, body: responses.pop(0))


def test_retries_rebalance_conflict_and_server_errors_then_succeeds():
    stub = _server([(409, {"error_code": 409, "message": "rebalance in progress"}),
                    (503, {"message": "starting"}), (200, {"ok": True})])
    try:
        client = RestClient(RestConfig(stub.url, retries=3, backoff=0.01))
        assert client.request("GET", "/connectors").json() == {"ok": True}
        assert [r["path"] for r in stub.requests] == ["/connectors"] * 3
    finally:
        stub.close()


def test_client_error_names_url_status_and_server_message():
    stub = _server([(400, {"error_code": 400, "message": "Connector config is invalid"})])
    url = stub.url
    try:
        with pytest.raises(ServerError) as info:
            RestClient(RestConfig(url, retries=3, backoff=0.01)).request("GET", "/x")
    finally:
        stub.close()
    assert str(info.value) == f"server rejected GET {url}/x: HTTP 400: Connector config is invalid"
    assert info.value.status == 400


def test_unreachable_server_is_a_clear_error():
    with pytest.raises(ServerError, match=r"could not be reached after 2 attempt\(s\)"):
        RestClient(RestConfig("http://127.0.0.1:9", retries=1, backoff=0.01,
                              timeout=2)).request("GET", "/")


def test_connector_config_waits_out_a_connect_rebalance():
    """Seen in CI: right after a config update Connect answers 500 "a rebalance is expected"."""
    from infra.connect_client import ConnectClient

    stub = _server([(500, {"error_code": 500, "message": "Request cannot be completed because "
                                                         "a rebalance is expected"}),
                    (200, {"tasks.max": "2"}),
                    (404, {"error_code": 404, "message": "Connector x not found"})])
    try:
        client = ConnectClient(RestConfig(stub.url, retries=3, backoff=0.01))
        assert client.connector_config("lines") == {"tasks.max": "2"}
        assert client.connector_config("x") is None  # absent: None, and not retried
        assert len(stub.requests) == 3
    finally:
        stub.close()
