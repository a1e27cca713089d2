"""`fraudctl monitor`: a live terminal view of alerts and the monitoring tables (pull queries)."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

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


def totals(rows: list[dict[str, Any]], *columns: str) -> dict[str, dict[str, float]]:
    """Per model version, the sum of the given columns over all windows."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        for column in columns:
            out[row.get("MODEL_VERSION", "?")][column] += row.get(column) or 0
    return {k: dict(v) for k, v in out.items()}


def render(snap: dict[str, list[dict[str, Any]]]) -> str:
    lines = [time.strftime("fraud monitor  %H:%M:%S  (Ctrl-C to quit)"), ""]
    lines.append(f"{'model':18} {'window':8} {'events':>8} {'alerts':>7} {'rate':>7} "
                 f"{'score mean':>10} {'max':>8} {'prec':>6} {'recall':>6} {'lat ms':>7}")
    drift = {(r.get("MODEL_VERSION"), r.get("WINDOWSTART")): r
             for r in snap["monitor_score_drift"]}
    accuracy = {(r.get("MODEL_VERSION"), r.get("WINDOWSTART")): r
                for r in snap["monitor_accuracy"]}
    latency = {(r.get("MODEL_VERSION"), r.get("WINDOWSTART")): r
               for r in snap["monitor_latency"]}
    for row in snap["monitor_alert_rate"][:15]:
        key = (row.get("MODEL_VERSION"), row.get("WINDOWSTART"))
        d, a, lat = drift.get(key, {}), accuracy.get(key, {}), latency.get(key, {})
        start = time.strftime("%H:%M", time.localtime((row.get("WINDOWSTART") or 0) / 1000))
        lines.append(
            f"{str(row.get('MODEL_VERSION'))[:18]:18} {start:8} {row.get('EVENTS', 0):>8} "
            f"{row.get('ALERTS', 0):>7} {row.get('ALERT_RATE') or 0:>7.4f} "
            f"{d.get('SCORE_MEAN') or 0:>10.4f} {d.get('SCORE_MAX') or 0:>8.3f} "
            f"{_pct(a.get('PRECISION'))} {_pct(a.get('RECALL'))} "
            f"{lat.get('LATENCY_MS_MEAN') or 0:>7.0f}")
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return f"{value:>6.3f}" if isinstance(value, (int, float)) else f"{'-':>6}"


def run(client: KsqlClient, env: Environment, interval: float, once: bool) -> None:
    while True:
        text = render(snapshot(client, env))
        print(text if once else "\x1b[2J\x1b[H" + text, flush=True)
        if once:
            return
        time.sleep(interval)
