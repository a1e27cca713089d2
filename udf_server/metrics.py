"""Counters, gauges and histograms rendered in the Prometheus text format (no dependency)."""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from typing import ClassVar

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SIZE_BUCKETS = (1, 10, 50, 100, 500, 1000, 2000, 5000, 10000, 20000)


class Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float, times: int = 1) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += times
        self.sum += value * times
        self.count += times


class Metrics:
    """Thread-safe registry; names get the `fraud_sidecar_` prefix when rendered."""

    PREFIX = "fraud_sidecar_"
    HELP: ClassVar[dict[str, str]] = {
        "consumed_total": "records read from the input topic",
        "scored_total": "records scored and written to the output topic",
        "dead_lettered_total": "records sent to the dead-letter topic, by reason",
        "dead_letter_failures_total": "records whose dead letter the brokers refused (skipped)",
        "batches_total": "micro-batches processed",
        "model_swaps_total": "model versions loaded while running",
        "model_rejected_total": "new model files refused by the load checks",
        "commit_failures_total": "offset commits or transactions that had to be retried",
        "batch_size": "records per micro-batch",
        "inference_seconds": "onnxruntime time per micro-batch",
        "end_to_end_lag_seconds": "time from the input record's timestamp to its scored write",
        "model_info": "the model serving now (value 1), by version and role",
        "assigned_partitions": "input partitions assigned to this process",
        "alerts_suppressed_total": "the champion's alerts an alert storm kept off the alert "
                                   "path (still marked IS_ANOMALY in the scored records)",
        "alert_storm": "1 while an alert storm holds the champion's alerts back, else 0",
    }

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: dict[tuple[str, tuple], float] = defaultdict(float)
        self.gauges: dict[tuple[str, tuple], float] = {}
        self.histograms = {"batch_size": Histogram(SIZE_BUCKETS),
                           "inference_seconds": Histogram(LATENCY_BUCKETS),
                           "end_to_end_lag_seconds": Histogram(LATENCY_BUCKETS)}

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        with self._lock:
            self.counters[(name, tuple(sorted(labels.items())))] += value

    def set(self, name: str, value: float, **labels: str) -> None:
        with self._lock:
            self.gauges[(name, tuple(sorted(labels.items())))] = value

    def set_only(self, name: str, value: float, scope: str, **labels: str) -> None:
        """Set a gauge and drop its siblings that share the `scope` label (one version per role)."""
        with self._lock:
            for key in [k for k in self.gauges if k[0] == name
                        and dict(k[1]).get(scope) == labels[scope]]:
                del self.gauges[key]
            self.gauges[(name, tuple(sorted(labels.items())))] = value

    def observe(self, name: str, value: float, times: int = 1) -> None:
        with self._lock:
            self.histograms[name].observe(value, times)

    def value(self, name: str, **labels: str) -> float:
        with self._lock:
            key = (name, tuple(sorted(labels.items())))
            if labels:
                return self.counters.get(key, self.gauges.get(key, 0.0))
            return sum(v for (n, _), v in self.counters.items() if n == name)

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            for kind, store in (("counter", self.counters), ("gauge", self.gauges)):
                for name in sorted({n for n, _ in store}):
                    full = self.PREFIX + name
                    lines += [f"# HELP {full} {self.HELP.get(name, name)}", f"# TYPE {full} {kind}"]
                    for (n, labels), value in sorted(store.items()):
                        if n == name:
                            lines.append(f"{full}{_labels(labels)} {value:g}")
            for name, hist in self.histograms.items():
                full = self.PREFIX + name
                lines += [f"# HELP {full} {self.HELP[name]}", f"# TYPE {full} histogram"]
                running = 0
                for bound, count in zip((*hist.buckets, "+Inf"), hist.counts, strict=True):
                    running += count
                    lines.append(f'{full}_bucket{{le="{bound}"}} {running}')
                lines += [f"{full}_sum {hist.sum:g}", f"{full}_count {hist.count}"]
        return "\n".join(lines) + "\n"


def _labels(labels: tuple) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{str(v).replace(chr(34), chr(39))}"' for k, v in labels)
    return "{" + inner + "}"
