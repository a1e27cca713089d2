"""The sidecar's HTTP endpoints: /healthz, /readyz, /metrics, POST /score."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import orjson

from core.contract import FEATURE_COUNT
from udf_server.service import Scorer

MAX_SCORE_ROWS = 1000
MAX_BODY_BYTES = 1 << 20


def _handler(scorer: Scorer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "fraud-sidecar"

        def log_message(self, fmt, *args):  # access logs would drown the service log
            pass

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, obj: object) -> None:
            self._send(status, orjson.dumps(obj))

        def do_GET(self):
            if self.path == "/healthz":
                health = scorer.health()
                self._json(200 if health["status"] == "ok" else 503, health)
            elif self.path == "/readyz":
                model = scorer.champion.current
                body = {"ready": scorer.ready, "model_loaded": model is not None,
                        "model_version": model.version if model else None,
                        "assigned_partitions": len(scorer.assigned)}
                self._json(200 if scorer.ready else 503, body)
            elif self.path == "/metrics":
                self._send(200, scorer.metrics.render().encode(),
                           "text/plain; version=0.0.4; charset=utf-8")
            else:
                self._json(404, {"error": f"no route {self.path}"})

        def do_POST(self):
            if self.path != "/score":
                return self._json(404, {"error": f"no route {self.path}"})
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                return self._json(413, {"error": f"body over {MAX_BODY_BYTES} bytes"})
            try:
                rows = _parse_rows(self.rfile.read(length))
            except ValueError as exc:
                return self._json(400, {"error": str(exc)})
            model = scorer.champion.current
            if model is None:
                return self._json(503, {"error": "no model loaded yet"})
            scores = model.score(rows)
            self._json(200, {"model_version": model.version, "threshold": model.threshold,
                             "scores": scores.tolist(),
                             "is_anomaly": (scores > model.threshold).tolist()})

    return Handler


def _parse_rows(body: bytes) -> np.ndarray:
    """`{"features": [[30 numbers], ...]}` -> float32 matrix, or ValueError saying what is wrong."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"malformed JSON: {exc}") from None
    rows = obj.get("features") if isinstance(obj, dict) else None
    if not isinstance(rows, list) or not rows:
        raise ValueError('expected {"features": [[30 numbers], ...]} with at least one row')
    if len(rows) > MAX_SCORE_ROWS:
        raise ValueError(f"{len(rows)} rows; at most {MAX_SCORE_ROWS} per request")
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != FEATURE_COUNT:
            raise ValueError(f"row {i}: expected a list of {FEATURE_COUNT} numbers")
    try:
        matrix = np.asarray(rows, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError("every feature must be a number") from None
    if not np.all(np.isfinite(matrix)):
        raise ValueError("features must be finite numbers")
    return matrix


def start_http(scorer: Scorer, host: str, port: int) -> ThreadingHTTPServer:
    """Serve in a daemon thread; returns the server (its real port is server_address[1])."""
    server = ThreadingHTTPServer((host, port), _handler(scorer))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
