"""What the monitoring tables count, summed where the payments already pass in micro-batches.

Per batch and per model version (the champion's, and a challenger's in shadow mode) the
sidecar writes one `monitor.counts` row per second of payment time, in the same transaction
as the batch's scored records: events, alerts, score sums and extremes, latency sums,
extremes and buckets. ksqlDB's monitoring tables add these rows up (and the label rows its
join writes), so their figures stay exact while ksqlDB reads a few rows per batch instead of
one per payment. A row's timestamp is the earliest payment time it counts: every payment of a
row lies in the same second, so in the same window of any size that is a whole number of
seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import orjson

from core.contract import (
    C_ALERTS,
    C_ALERTS_SUPPRESSED,
    C_EVENTS,
    C_LATENCY_BUCKETS_MS,
    C_LATENCY_MS_MAX,
    C_LATENCY_MS_MIN,
    C_LATENCY_MS_SUM,
    C_PAYMENT_TIME,
    C_SCORE_MAX,
    C_SCORE_MIN,
    C_SCORE_SUM,
    C_SCORE_SUM_SQUARES,
    C_SHADOW_EVENTS,
    C_SHADOW_MODEL_VERSION,
    C_SHADOW_SCORE_SUM,
    latency_bucket_column,
)

_BUCKET_EDGES = np.asarray(C_LATENCY_BUCKETS_MS[1:], dtype=np.int64)
_BUCKET_COLUMNS = tuple(latency_bucket_column(low) for low in C_LATENCY_BUCKETS_MS)


@dataclass(frozen=True, slots=True)
class Verdicts:
    """One model's scores for a batch, its version, and which of them are alerts."""

    version: str
    scores: np.ndarray
    alerts: np.ndarray  # bool, scores > threshold
    #: this batch's alerts were kept off the alert path (an alert storm: udf_server/storm.py)
    suppressed: bool = False


@dataclass(frozen=True, slots=True)
class CountRow:
    """One monitor.counts record: key (the model version), value, timestamp (ms)."""

    key: bytes
    value: bytes
    timestamp: int


def count_rows(payment_ms: np.ndarray, scored_at: int, champion: Verdicts,
               shadow: Verdicts | None = None) -> list[CountRow]:
    """The batch's rows: for each second of payment time, one for the champion (with the
    challenger's score sums beside it, as the drift table shows them) and one for the
    challenger under its own version.

    `payment_ms` holds each payment's time (the raw record's timestamp, ms); a payment without
    one (0 or less) counts at `scored_at`.
    """
    times = np.where(payment_ms > 0, payment_ms, scored_at).astype(np.int64)
    seconds, group = np.unique(times // 1000, return_inverse=True)
    latency = np.maximum(scored_at - times, 0)
    first_ms = _reduce_at(np.minimum, times, group, len(seconds),
                          np.iinfo(np.int64).max).tolist()
    latencies = _latency_fields(latency, group, len(seconds))
    champion_sums = _sums(champion, group, len(seconds))
    shadow_sums = _sums(shadow, group, len(seconds)) if shadow is not None else None
    rows: list[CountRow] = []
    for g in range(len(seconds)):
        value = {**champion_sums[g], **latencies[g]}
        if shadow is not None:
            shadow_sums[g].update(latencies[g])
            value[C_SHADOW_EVENTS] = shadow_sums[g][C_EVENTS]
            value[C_SHADOW_SCORE_SUM] = shadow_sums[g][C_SCORE_SUM]
            value[C_SHADOW_MODEL_VERSION] = shadow.version
        rows.append(_row(champion.version, value, first_ms[g]))
        if shadow is not None:
            rows.append(_row(shadow.version, shadow_sums[g], first_ms[g]))
    return rows


def _row(version: str, value: dict, first_ms: int) -> CountRow:
    value[C_PAYMENT_TIME] = first_ms
    return CountRow(version.encode(), orjson.dumps(value), first_ms)


def _reduce_at(ufunc: np.ufunc, values: np.ndarray, group: np.ndarray, groups: int,
               initial) -> np.ndarray:
    """`ufunc` (np.minimum, np.maximum) of `values` per group, starting from `initial`."""
    out = np.full(groups, initial, dtype=values.dtype)
    ufunc.at(out, group, values)
    return out


def _latency_fields(latency: np.ndarray, group: np.ndarray, groups: int) -> list[dict]:
    """Per group: latency sum, extremes and bucket counts (the same for every model: one
    batch, one SCORED_AT)."""
    latency_sum = np.bincount(group, weights=latency, minlength=groups)
    latency_min = _reduce_at(np.minimum, latency, group, groups, np.iinfo(np.int64).max)
    latency_max = _reduce_at(np.maximum, latency, group, groups, 0)
    bucket = np.searchsorted(_BUCKET_EDGES, latency, side="right")
    buckets = np.zeros((groups, len(_BUCKET_COLUMNS)), dtype=np.int64)
    np.add.at(buckets, (group, bucket), 1)
    rows = []
    for g in range(groups):
        row = {C_LATENCY_MS_SUM: int(latency_sum[g]), C_LATENCY_MS_MIN: int(latency_min[g]),
               C_LATENCY_MS_MAX: int(latency_max[g])}
        row.update(zip(_BUCKET_COLUMNS, buckets[g].tolist(), strict=True))
        rows.append(row)
    return rows


def _sums(verdicts: Verdicts, group: np.ndarray, groups: int) -> list[dict]:
    """Per group: the counts and score sums of one model's verdicts, as monitor.counts
    fields."""
    scores = verdicts.scores.astype(np.float64)
    events = np.bincount(group, minlength=groups)
    alerts = np.bincount(group, weights=verdicts.alerts, minlength=groups)
    score_sum = np.bincount(group, weights=scores, minlength=groups)
    squares = np.bincount(group, weights=scores * scores, minlength=groups)
    score_min = _reduce_at(np.minimum, scores, group, groups, np.inf)
    score_max = _reduce_at(np.maximum, scores, group, groups, -np.inf)
    suppressed = alerts if verdicts.suppressed else np.zeros(groups)
    return [{C_EVENTS: int(events[g]), C_ALERTS: int(alerts[g]),
             C_ALERTS_SUPPRESSED: int(suppressed[g]),
             C_SCORE_SUM: float(score_sum[g]), C_SCORE_SUM_SQUARES: float(squares[g]),
             C_SCORE_MIN: float(score_min[g]), C_SCORE_MAX: float(score_max[g])}
            for g in range(groups)]
