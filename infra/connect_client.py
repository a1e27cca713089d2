"""Kafka Connect REST API client (connectors, status, config validation)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from core.errors import ServerError
from core.waiting import wait_until
from infra.rest import RestClient


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

    def restart(self, name: str) -> None:
        """Restart the connector and its FAILED tasks (Connect 3.0+ query parameters)."""
        self.request("POST", f"/connectors/{quote(name)}/restart?includeTasks=true"
                     "&onlyFailed=true", ok=(200, 202, 204))

    def delete(self, name: str) -> None:
        self.request("DELETE", f"/connectors/{quote(name)}", ok=(200, 204, 404))

    def validate(self, connector_class: str, config: dict[str, str]) -> dict[str, Any]:
        plugin = quote(connector_class.rsplit(".", 1)[-1])
        return self.request("PUT", f"/connector-plugins/{plugin}/config/validate",
                            json=config).json()

    def wait_running(self, name: str, timeout: float = 60.0,
                     settle: float = 8.0) -> dict[str, Any]:
        """Wait until the connector and its tasks are RUNNING.

        Right after a config change or a restart, Connect still reports the old FAILED state
        for a moment: a failure counts only once it has lasted `settle` seconds, and then
        raises with the first line of its trace."""
        status: dict[str, Any] = {}
        failing_since: float | None = None  # when the failure now reported was first seen

        def running() -> dict[str, Any] | None:
            nonlocal status, failing_since
            try:
                status = self.status(name)
            except ServerError as exc:
                if exc.status != 404:
                    raise
                return None
            failure = connector_failure(status)
            if not failure:
                failing_since = None
            else:
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since >= settle:
                    raise ServerError(f"connector {name}: {failure}", body=status)
            states = [status["connector"]["state"]] + [t["state"] for t in status.get("tasks", [])]
            ok = status.get("tasks") and all(s == "RUNNING" for s in states)
            return status if ok else None

        return wait_until(running, timeout, every=0.3, timed_out=lambda: ServerError(
            f"connector {name} not RUNNING after {timeout:.0f}s: "
            f"{connector_failure(status) or status}", body=status))


def connector_failure(status: dict) -> str | None:
    """'connector FAILED: first trace line' or 'task 0 FAILED: ...', None if nothing failed."""
    parts = [("connector", status.get("connector") or {})]
    parts += [(f"task {t.get('id')}", t) for t in status.get("tasks") or []]
    for what, item in parts:
        if item.get("state") == "FAILED":
            trace = (item.get("trace") or "").strip()
            return f"{what} FAILED: {trace.splitlines()[0] if trace else '(no trace)'}"
    return None
