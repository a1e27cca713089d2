"""The REST client base: retries on 409/5xx, readable errors, no raw stack trace."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from infra.rest import RestClient, RestConfig, ServerError


def _server(responses):
    """Answers each request with the next (status, body) pair; records the paths."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append(self.path)
            status, body = responses.pop(0)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, seen


def test_retries_rebalance_conflict_and_server_errors_then_succeeds():
    httpd, seen = _server([(409, {"error_code": 409, "message": "rebalance in progress"}),
                           (503, {"message": "starting"}), (200, {"ok": True})])
    try:
        client = RestClient(RestConfig(f"http://127.0.0.1:{httpd.server_address[1]}",
                                       retries=3, backoff=0.01))
        assert client.request("GET", "/connectors").json() == {"ok": True}
        assert seen == ["/connectors"] * 3
    finally:
        httpd.shutdown()


def test_client_error_names_url_status_and_server_message():
    httpd, _ = _server([(400, {"error_code": 400, "message": "Connector config is invalid"})])
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        with pytest.raises(ServerError) as info:
            RestClient(RestConfig(url, retries=3, backoff=0.01)).request("GET", "/x")
    finally:
        httpd.shutdown()
    assert str(info.value) == f"server rejected GET {url}/x: HTTP 400: Connector config is invalid"
    assert info.value.status == 400


def test_unreachable_server_is_a_clear_error():
    with pytest.raises(ServerError, match=r"could not be reached after 2 attempt\(s\)"):
        RestClient(RestConfig("http://127.0.0.1:9", retries=1, backoff=0.01,
                              timeout=2)).request("GET", "/")
