"""`fraudctl monitor`: a live terminal view of the monitoring tables (pull queries) and, with the
sidecar's metrics URL, events per second in and out and dead letters."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from core.contract import S_MODEL_VERSION, S_SHADOW_MODEL_VERSION
from core.records import json_value
from infra.ksql_client import KsqlClient, pull_rows
from infra.topology.environment import Environment

TABLES = ("monitor_alert_rate", "monitor_score_drift", "monitor_accuracy", "monitor_latency")


def snapshot(client: KsqlClient, env: Environment) -> dict[str, list[dict[str, Any]]]:
    """Every monitoring table's rows, newest window first."""
    result = {}
    for logical in TABLES:
        rows = pull_rows(client, f"SELECT * FROM {env.ksql_name(logical)};")
        result[logical] = sorted(rows, key=lambda r: r.get("WINDOWSTART", 0), reverse=True)
    return result


def merged_buckets(rows: list[dict[str, Any]]) -> dict[str, int]:
    """LATENCY_MS_BUCKETS of several windows (and model versions) added up."""
    merged: dict[str, int] = defaultdict(int)
    for row in rows:
        for bucket, count in (row.get("LATENCY_MS_BUCKETS") or {}).items():
            merged[bucket] += count
    return dict(merged)


def latency_percentile(buckets: dict[str, int], q: float) -> float | None:
    """The q-quantile (0..1) of latencies from bucket counts (a bucket's lower bound in ms)."""
    total = sum(buckets.values())
    if total <= 0:
        return None
    seen = 0
    for bound, count in sorted(((float(k), v) for k, v in buckets.items())):
        seen += count
        if seen >= q * total:
            return bound
    return None


def sidecar_counters(url: str) -> dict[str, float]:
    """consumed, scored and dead-lettered totals from the sidecar's /metrics ({} if down)."""
    import requests

    try:
        text = requests.get(url.rstrip("/") + "/metrics", timeout=2).text
    except requests.RequestException:
        return {}
    counters: dict[str, float] = defaultdict(float)
    for line in text.splitlines():
        for name in ("consumed_total", "scored_total", "dead_lettered_total"):
            if line.startswith(f"fraud_sidecar_{name}"):
                counters[name] += float(line.rsplit(" ", 1)[1])
    return dict(counters)


def totals(rows: list[dict[str, Any]], *columns: str) -> dict[str, dict[str, float]]:
    """Per model version, the sum of the given columns over all windows."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        for column in columns:
            out[row.get(S_MODEL_VERSION, "?")][column] += row.get(column) or 0
    return {k: dict(v) for k, v in out.items()}


def render(snap: dict[str, list[dict[str, Any]]], flow: str = "") -> str:
    lines = [time.strftime("fraud monitor  %H:%M:%S  (Ctrl-C to quit)"), flow, ""]
    lines.append(f"{'model':18} {'window':8} {'events':>8} {'alerts':>7} {'rate':>7} "
                 f"{'score mean':>10} {'max':>8} {'lab%':>6} {'prec':>6} {'recall':>6} "
                 f"{'lat p50':>7} {'p99':>6}")
    drift = {(r.get(S_MODEL_VERSION), r.get("WINDOWSTART")): r
             for r in snap["monitor_score_drift"]}
    accuracy = {(r.get(S_MODEL_VERSION), r.get("WINDOWSTART")): r
                for r in snap["monitor_accuracy"]}
    latency = {(r.get(S_MODEL_VERSION), r.get("WINDOWSTART")): r
               for r in snap["monitor_latency"]}
    challengers = {r[S_SHADOW_MODEL_VERSION] for r in snap["monitor_score_drift"]
                   if r.get(S_SHADOW_MODEL_VERSION)}
    storms = False
    for row in snap["monitor_alert_rate"][:15]:
        key = (row.get(S_MODEL_VERSION), row.get("WINDOWSTART"))
        d, a, lat = drift.get(key, {}), accuracy.get(key, {}), latency.get(key, {})
        start = time.strftime("%H:%M", time.localtime((row.get("WINDOWSTART") or 0) / 1000))
        version = str(row.get(S_MODEL_VERSION))
        shown = version[:16] + " ~" if version in challengers else version[:18]
        held = row.get("ALERTS_SUPPRESSED") or 0
        storms = storms or held > 0
        lines.append(
            f"{shown:18} {start:8} {row.get('EVENTS', 0):>8} "
            f"{row.get('ALERTS', 0):>7} {row.get('ALERT_RATE') or 0:>7.4f} "
            f"{d.get('SCORE_MEAN') or 0:>10.4f} {d.get('SCORE_MAX') or 0:>8.3f} "
            f"{_pct(a.get('LABELLED_SHARE'))} {_pct(a.get('PRECISION'))} "
            f"{_pct(a.get('RECALL'))} "
            f"{_ms(lat, 0.50):>7} {_ms(lat, 0.99):>6}" + (f"  STORM: {held} held" if held
                                                           else ""))
    if challengers:
        lines.append("~ a challenger in shadow mode: its own verdicts, counted against the same "
                     "labels; it raises no alerts")
    if storms:
        lines.append("STORM: an alert storm (the model flags a large share of payments): its "
                     "alerts are held back, not sent (docs/OPERATIONS.md, \"Alert storms\")")
    return "\n".join(lines)


def _ms(latency_row: dict[str, Any], q: float) -> str:
    value = latency_percentile(latency_row.get("LATENCY_MS_BUCKETS") or {}, q)
    return "-" if value is None else f"{value:.0f}"


class Flow:
    """Events per second into and out of the sidecar, from two readings of its counters."""

    def __init__(self, url: str | None) -> None:
        self.url, self.last, self.at = url, {}, time.monotonic()

    def line(self) -> str:
        if not self.url:
            return ""
        now, counters = time.monotonic(), sidecar_counters(self.url)
        if not counters:
            return f"sidecar at {self.url} does not answer"
        elapsed = max(now - self.at, 1e-6)
        rate = {k: (v - self.last.get(k, v)) / elapsed for k, v in counters.items()}
        self.last, self.at = counters, now
        return (f"sidecar: in {rate.get('consumed_total', 0):,.0f}/s, scored "
                f"{rate.get('scored_total', 0):,.0f}/s, dead letters "
                f"{counters.get('dead_lettered_total', 0):,.0f} in total")


def _pct(value: float | None) -> str:
    return f"{value:>6.3f}" if isinstance(value, (int, float)) else f"{'-':>6}"


class RecentAlerts:
    """The newest alerts from the alerts topic, as they arrive (none before the view started)."""

    def __init__(self, env: Environment, keep: int = 5) -> None:
        from collections import deque

        self.tail = None
        self.latest: deque[str] = deque(maxlen=keep)
        topic = (env.variables.get("topics") or {}).get("alerts")
        if env.bootstrap_servers and topic:
            from core.kafka import TopicTail

            self.tail = TopicTail(env.kafka("monitor"), topic)

    def lines(self) -> list[str]:
        if self.tail is None:
            return []
        import orjson

        for msg in self.tail.read(timeout=2.0):
            try:
                alert = json_value(msg.value())
            except orjson.JSONDecodeError:
                continue
            key = int.from_bytes(msg.key() or b"", "big", signed=True)
            self.latest.append(
                f"  payment {key} user {alert.get('USER_MASKED')} amount "
                f"{alert.get('AMOUNT')} score {alert.get('SCORE', 0):.3f} > "
                f"{alert.get('THRESHOLD', 0):.3f} (model {alert.get('MODEL_VERSION')})")
        return ["", "latest alerts:", *reversed(self.latest)] if self.latest else []


def run(client: KsqlClient, env: Environment, interval: float, once: bool,
        sidecar_url: str | None = None) -> None:
    """Refresh the view every `interval` s (once: print it and return). While a server does not
    answer, the view says which, and keeps trying."""
    from core.errors import ServerError
    from fraudctl.tasks.stages import unanswered

    flow = Flow(sidecar_url)
    alerts = RecentAlerts(env) if not once else None
    while True:
        try:
            text = render(snapshot(client, env), flow.line())
        except ServerError as exc:
            if once:
                raise
            down = unanswered(env, sidecar_url) or [f"ksqlDB: {exc}"]
            text = time.strftime("fraud monitor  %H:%M:%S  (Ctrl-C to quit)\n\n") + \
                "the monitoring tables cannot be read; waiting on:\n  " + "\n  ".join(down)
        if alerts is not None:
            text += "\n" + "\n".join(alerts.lines())
        print(text if once else "\x1b[2J\x1b[H" + text, flush=True)
        if once:
            return
        time.sleep(interval)
