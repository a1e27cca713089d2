"""ksqlDB REST client: run statements in order (commandSequenceNumber), read sources and queries.

Error bodies from /ksql (`@type: statement_error`, `error_code`, `message`, `statementText`,
`entities`) become `KsqlStatementError`, which keeps the statement and what did succeed.
"""

from __future__ import annotations

import time
from typing import Any

from infra.rest import RestClient, RestConfig, ServerError

KSQL_CONTENT_TYPE = "application/vnd.ksql.v1+json"


class KsqlStatementError(ServerError):
    """ksqlDB refused a statement; `statement` is its text, `entities` what ran before it."""

    def __init__(self, message: str, *, status: int | None, body: dict, url: str) -> None:
        super().__init__(message, status=status, body=body, url=url)
        self.error_code = body.get("error_code")
        self.server_message = body.get("message", "")
        self.statement = body.get("statementText", "")
        self.entities = body.get("entities") or []


class KsqlClient(RestClient):
    server_name = "ksqlDB"

    def __init__(self, config: RestConfig) -> None:
        super().__init__(config)
        self.session.headers["Accept"] = KSQL_CONTENT_TYPE
        self.session.headers["Content-Type"] = KSQL_CONTENT_TYPE
        self.last_sequence: int | None = None

    def info(self) -> dict[str, Any]:
        return self.request("GET", "/info").json()

    def execute(self, statement: str, properties: dict[str, str] | None = None) -> list[dict]:
        """Run one statement after every earlier one of ours (chained commandSequenceNumber)."""
        body: dict[str, Any] = {"ksql": statement, "streamsProperties": properties or {}}
        if self.last_sequence is not None:
            body["commandSequenceNumber"] = self.last_sequence
        try:
            response = self.request("POST", "/ksql", json=body)
        except ServerError as exc:
            if (isinstance(exc.body, dict) and exc.body.get("@type") in (
                    "statement_error", "generic_error")) or (
                    isinstance(exc.body, dict) and "error_code" in exc.body):
                raise KsqlStatementError(
                    f"ksqlDB refused the statement (error {exc.body.get('error_code')}): "
                    f"{exc.body.get('message', '')}", status=exc.status, body=exc.body,
                    url=exc.url) from None
            raise
        entities = response.json()
        for entity in entities:
            seq = entity.get("commandSequenceNumber")
            if isinstance(seq, int) and seq >= 0:
                self.last_sequence = max(seq, self.last_sequence or seq)
            status = (entity.get("commandStatus") or {}).get("status")
            if status == "ERROR":
                raise KsqlStatementError(
                    f"ksqlDB command failed: {entity['commandStatus'].get('message', '')}",
                    status=200, body={"message": entity["commandStatus"].get("message", ""),
                                      "statementText": entity.get("statementText", "")},
                    url=self.base_url + "/ksql")
        return entities

    def _single(self, statement: str, key: str) -> list[dict]:
        entities = self.execute(statement)
        return entities[0].get(key, []) if entities else []

    def sources(self) -> list[dict]:
        """Every stream and table with its description (LIST ... EXTENDED)."""
        return (self._single("LIST STREAMS EXTENDED;", "sourceDescriptions")
                + self._single("LIST TABLES EXTENDED;", "sourceDescriptions"))

    def queries(self) -> list[dict]:
        return self._single("LIST QUERIES;", "queries")

    def wait_query_running(self, sink: str, timeout: float = 60.0) -> dict:
        """Wait until the persistent query writing `sink` reports RUNNING."""
        deadline = time.monotonic() + timeout
        seen: dict = {}
        while time.monotonic() < deadline:
            for query in self.queries():
                if sink in query.get("sinks", []):
                    seen = query
                    if query.get("state") == "RUNNING":
                        return query
                    if query.get("state") == "ERROR":
                        raise ServerError(f"query {query.get('id')} writing {sink} is in ERROR")
            time.sleep(0.5)
        raise ServerError(f"no RUNNING query writes {sink} after {timeout:.0f}s (last seen: "
                          f"{seen.get('id')} {seen.get('state')})")


def _column_names(schema: str) -> list[str]:
    """Names from a /query header schema such as "`ID` BIGINT KEY, `N` BIGINT"."""
    import re

    return re.findall(r"`([^`]+)`", schema)


def pull_rows(client: KsqlClient, sql: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Run a pull query on /query and return its rows as dicts (column name -> value)."""
    response = client.request("POST", "/query", json={"ksql": sql, "streamsProperties": {}},
                              timeout=timeout)
    rows, names = [], []
    for item in response.json():
        if "header" in item:
            names = _column_names(item["header"].get("schema", ""))
        elif "row" in item:
            rows.append(dict(zip(names, item["row"]["columns"], strict=False)))
        elif "errorMessage" in item:
            raise ServerError(f"ksqlDB pull query failed: {item['errorMessage'].get('message')}")
    return rows
