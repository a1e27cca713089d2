"""Kafka Connect REST API client (connectors, status, config validation)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from infra.rest import RestClient, ServerError


class ConnectClient(RestClient):
    """The subset of the Connect REST API the topology engine and the tests use."""

    server_name = "Kafka Connect"

    def info(self) -> dict[str, Any]:
        return self.request("GET", "/").json()

    def plugins(self) -> list[dict[str, Any]]:
        return self.request("GET", "/connector-plugins").json()

    def connectors(self) -> dict[str, dict[str, Any]]:
        """Every connector with its config (`info`) and `status`, in one call."""
        return self.request("GET", "/connectors?expand=info&expand=status").json()

    def connector_config(self, name: str) -> dict[str, str] | None:
        try:
            return self.request("GET", f"/connectors/{quote(name)}/config").json()
        except ServerError as exc:
            if exc.status == 404:
                return None
            raise

    def status(self, name: str) -> dict[str, Any]:
        return self.request("GET", f"/connectors/{quote(name)}/status").json()

    def put_config(self, name: str, config: dict[str, str]) -> dict[str, Any]:
        """Create or update a connector (idempotent PUT)."""
        return self.request("PUT", f"/connectors/{quote(name)}/config", json=config).json()

    def delete(self, name: str) -> None:
        self.request("DELETE", f"/connectors/{quote(name)}", ok=(200, 204, 404))

    def validate(self, connector_class: str, config: dict[str, str]) -> dict[str, Any]:
        plugin = quote(connector_class.rsplit(".", 1)[-1])
        return self.request("PUT", f"/connector-plugins/{plugin}/config/validate",
                            json=config).json()

    def wait_running(self, name: str, timeout: float = 60.0) -> dict[str, Any]:
        """Wait until the connector and its tasks are RUNNING; raise with the trace if FAILED."""
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                status = self.status(name)
            except ServerError as exc:
                if exc.status != 404:
                    raise
                time.sleep(0.3)
                continue
            states = [status["connector"]["state"]] + [t["state"] for t in status.get("tasks", [])]
            failed = [t for t in status.get("tasks", []) if t["state"] == "FAILED"]
            if status["connector"]["state"] == "FAILED" or failed:
                trace = (failed[0] if failed else status["connector"]).get("trace", "")
                first_line = trace.splitlines()[0] if trace else "(no trace)"
                raise ServerError(f"connector {name} FAILED: {first_line}", body=status)
            if status.get("tasks") and all(s == "RUNNING" for s in states):
                return status
            time.sleep(0.3)
        raise ServerError(f"connector {name} not RUNNING after {timeout:.0f}s: {status}",
                          body=status)
