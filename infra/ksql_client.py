"""ksqlDB REST client: run statements in order (commandSequenceNumber), read sources and queries.

Error bodies from /ksql (`@type: statement_error`, `error_code`, `message`, `statementText`,
`entities`) become `KsqlStatementError`, which keeps the statement and what did succeed.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from core.errors import ServerError
from core.waiting import wait_until
from infra.rest import RestClient, RestConfig, UncertainOutcome

KSQL_CONTENT_TYPE = "application/vnd.ksql.v1+json"
#: statements that change nothing and so may be sent again after a timeout
READ_ONLY = re.compile(r"^\s*(LIST|SHOW|DESCRIBE|EXPLAIN|PRINT)\b", re.I)
PENDING = ("QUEUED", "PARSING", "EXECUTING")


def query_problem(query: dict) -> str | None:
    """None if a persistent query runs on every host, else its per-host states.

    ksqlDB's aggregate `state` says RUNNING unless a host reports ERROR; `statusCount` has the
    count per state over all hosts, so a query still starting or stopped on one host shows."""
    counts = {k: v for k, v in (query.get("statusCount") or {}).items() if v}
    if not counts:
        counts = {query.get("state") or "UNKNOWN": 1}
    if set(counts) == {"RUNNING"}:
        return None
    return ", ".join(f"{state} on {n} host(s)" for state, n in sorted(counts.items()))


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

    def execute(self, statement: str, properties: dict[str, str] | None = None,
                timeout: float = 120.0) -> list[dict]:
        """Run one statement after every earlier one of ours (chained commandSequenceNumber)
        and wait until the server has executed it (following up QUEUED or EXECUTING commands).

        A statement that changes something is not sent twice: if the server does not answer,
        `UncertainOutcome` says so, and a fresh plan shows what it did."""
        body: dict[str, Any] = {"ksql": statement, "streamsProperties": properties or {}}
        if self.last_sequence is not None:
            body["commandSequenceNumber"] = self.last_sequence
        try:
            response = self.request("POST", "/ksql", json=body,
                                    idempotent=bool(READ_ONLY.match(statement)))
        except UncertainOutcome as exc:
            raise UncertainOutcome(
                f"{exc} Statement: {statement.strip()[:200]} Run `fraudctl plan` to see what "
                "the server has now, then apply again.", url=exc.url) from None
        except ServerError as exc:
            if exc.status == 401:  # the credentials, not the statement: RestClient's message
                raise
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
            command = entity.get("commandStatus") or {}
            if command.get("status") in PENDING and entity.get("commandId"):
                command = self.wait_command(entity["commandId"], timeout)
            if command.get("status") in ("ERROR", "TERMINATED"):
                raise KsqlStatementError(
                    f"ksqlDB command {command['status']}: {command.get('message', '')}",
                    status=200, body={"message": command.get("message", ""),
                                      "statementText": entity.get("statementText", "")},
                    url=self.base_url + "/ksql")
        return entities

    def wait_command(self, command_id: str, timeout: float = 120.0) -> dict:
        """Poll GET /status/{commandId} until the command is no longer queued or executing."""
        last: dict = {}

        def done() -> dict | None:
            last.update(self.request("GET", f"/status/{quote(command_id, safe='/')}").json())
            return dict(last) if last.get("status") not in PENDING else None

        return wait_until(done, timeout, every=0.3, timed_out=lambda: ServerError(
            f"ksqlDB command {command_id} still {last.get('status')} after {timeout:.0f}s: "
            f"{last.get('message', '')}"))

    def query_properties(self, query_id: str) -> dict[str, str]:
        """The settings a persistent query was created with (EXPLAIN's overriddenProperties),
        as strings; {} where the query is gone."""
        try:
            entities = self.execute(f"EXPLAIN {query_id};")
        except ServerError:
            return {}
        described = (entities[0].get("queryDescription") or {}) if entities else {}
        return {k: str(v) for k, v in (described.get("overriddenProperties") or {}).items()}

    def _single(self, statement: str, key: str) -> list[dict]:
        entities = self.execute(statement)
        return entities[0].get(key, []) if entities else []

    def sources(self) -> list[dict]:
        """Every stream and table with its description (LIST ... EXTENDED)."""
        return (self._single("LIST STREAMS EXTENDED;", "sourceDescriptions")
                + self._single("LIST TABLES EXTENDED;", "sourceDescriptions"))

    def queries(self) -> list[dict]:
        return self._single("LIST QUERIES;", "queries")

    def topics(self) -> dict[str, tuple[int, int]]:
        """Every Kafka topic the server sees: name -> (partitions, replicas)."""
        return {t["name"]: (len(t.get("replicaInfo") or []), max(t.get("replicaInfo") or [0]))
                for t in self._single("SHOW TOPICS;", "topics")}

    def describe(self, source: str, extended: bool = False) -> dict:
        """The server's description of a stream or table (DESCRIBE [EXTENDED])."""
        entities = self.execute(f"DESCRIBE {source}{' EXTENDED' if extended else ''};")
        return (entities[0].get("sourceDescription") or {}) if entities else {}

    def explain(self, statement: str) -> dict:
        """ksqlDB's description of what a CREATE ... AS SELECT would run, without running it:
        its output fields and execution plan (EXPLAIN's queryDescription)."""
        entities = self.execute("EXPLAIN " + statement.strip())
        return (entities[0].get("queryDescription") or {}) if entities else {}

    def statement_of(self, source: str) -> str:
        """The statement the server stores for a stream or table."""
        return self.describe(source).get("statement", "")

    def lag(self, source: str) -> int:
        """Records the queries writing `source` have yet to consume (committed offsets)."""
        description = self.describe(source, extended=True)
        return sum(max(0, o.get("logEndOffset", 0) - o.get("consumerOffset", 0))
                   for summary in description.get("queryOffsetSummaries") or []
                   for topic in summary.get("topicSummaries") or []
                   for o in topic.get("offsets") or [])

    def wait_query_running(self, sink: str, timeout: float = 60.0) -> dict:
        """Wait until the persistent query writing `sink` runs on every host (per-host
        status counts, not the aggregate state); raise at once if a host reports ERROR."""
        seen: dict = {}

        def running() -> dict | None:
            for query in self.queries():
                if sink in query.get("sinks", []):
                    seen.update(query)
                    problem = query_problem(query)
                    if problem is None:
                        return query
                    if (query.get("statusCount") or {}).get("ERROR") or \
                            query.get("state") == "ERROR":
                        raise ServerError(f"query {query.get('id')} writing {sink} is not "
                                          f"running: {problem}")
            return None

        return wait_until(running, timeout, timed_out=lambda: ServerError(
            f"no query runs {sink} on every host after {timeout:.0f}s (last seen: "
            f"{seen.get('id')} {query_problem(seen) if seen else 'none'})"))


def _column_names(schema: str) -> list[str]:
    """Names from a /query header schema such as "`ID` BIGINT KEY, `N` BIGINT"."""
    import re

    return re.findall(r"`([^`]+)`", schema)


class TableRestoring(KsqlStatementError):
    """A pull query refused because the table's state is still being restored (after a
    restart or a failover): asked again, it is answered once restoration ends."""


#: ksqlDB 7.9's refusal while a table restores its state. It arrives as HTTP 400 with
#: error_code 40001, exactly like a bad statement, while SHOW QUERIES already says RUNNING
#: (measured on the local stack after a kill -9); its words are the only mark it has, so this
#: is read once, here, and callers catch TableRestoring.
RESTORING = "Cannot determine which host contains the required partitions"


def _pull_refusal(exc: ServerError) -> ServerError:
    """A pull query's refusal as a typed error."""
    body = exc.body if isinstance(exc.body, dict) else {}
    if exc.status == 400 and RESTORING in str(body.get("message", "")):
        return TableRestoring(str(exc), status=exc.status, body=body, url=exc.url)
    return exc


def pull_rows(client: KsqlClient, sql: str, timeout: float = 30.0,
              restoring_wait: float = 120.0) -> list[dict[str, Any]]:
    """Run a pull query on /query and return its rows as dicts (column name -> value).

    Right after a server restart a table is refused (TableRestoring) until its query has
    restored its state; that is waited out for up to `restoring_wait` s."""
    refused: ServerError | None = None

    def answer():
        nonlocal refused
        try:
            return client.request("POST", "/query", json={"ksql": sql, "streamsProperties": {}},
                                  timeout=timeout)
        except ServerError as exc:
            error = _pull_refusal(exc)
            if not isinstance(error, TableRestoring):
                raise error from None
            refused = error
            return None

    response = wait_until(answer, restoring_wait, every=1.0, timed_out=lambda: refused)
    rows, names = [], []
    for item in response.json():
        if "header" in item:
            names = _column_names(item["header"].get("schema", ""))
        elif "row" in item:
            rows.append(dict(zip(names, item["row"]["columns"], strict=False)))
        elif "errorMessage" in item:
            raise ServerError(f"ksqlDB pull query failed: {item['errorMessage'].get('message')}")
    return rows


def push_rows(client: KsqlClient, sql: str, limit: int, timeout: float = 60.0,
              from_beginning: bool = True,
              properties: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Run a push query (`... EMIT CHANGES`, without LIMIT) on /query-stream and return its first
    `limit` rows as dicts; reads the topic from its start unless `from_beginning` is False;
    `properties` are the query's own settings.
    A ServerError names how many rows came if fewer than `limit` arrive within `timeout` s."""
    import json

    import requests

    text = sql.strip().rstrip(";")
    body = {"sql": f"{text} LIMIT {int(limit)};",
            "properties": {"auto.offset.reset": "earliest" if from_beginning else "latest",
                           **(properties or {})}}
    url = client.base_url + "/query-stream"
    rows: list[dict[str, Any]] = []
    try:
        with client.session.post(url, json=body, stream=True, timeout=timeout,
                                 verify=client.verify, headers={
                "Accept": "application/vnd.ksqlapi.delimited.v1"}) as response:
            if response.status_code != 200:
                raise client._error("POST", url, response)
            lines = response.iter_lines()
            header = json.loads(next(lines, b"{}") or b"{}")
            names = header.get("columnNames", [])
            for line in lines:
                if not line:
                    continue
                item = json.loads(line)
                if isinstance(item, dict):  # an error or the closing message
                    if item.get("message"):
                        raise ServerError(f"ksqlDB push query failed: {item['message']}")
                    continue
                rows.append(dict(zip(names, item, strict=False)))
                if len(rows) >= limit:
                    break
    except requests.RequestException as exc:
        raise ServerError(f"ksqlDB push query gave {len(rows)} of {limit} row(s) within "
                          f"{timeout:.0f}s ({type(exc).__name__}): {sql}") from None
    return rows
