"""The sidecar's per-batch monitoring counts and its alert-storm guard."""

import numpy as np
import orjson
import pytest

from core.contract import latency_bucket_column
from udf_server.monitor_counts import Verdicts, count_rows
from udf_server.storm import StormGuard


def _values(rows):
    return [(r.key.decode(), orjson.loads(r.value), r.timestamp) for r in rows]


def test_a_batch_is_counted_per_second_of_payment_time_and_per_version():
    payment_ms = np.array([10_900, 10_100, 11_000, 11_999, 0])
    champion = Verdicts("v1", np.array([0.5, 2.0, 1.0, 3.0, 0.1]),
                        np.array([False, True, False, True, False]))
    shadow = Verdicts("v2", np.array([0.4, 0.6, 0.9, 0.2, 0.3]),
                      np.array([False, False, True, False, False]))
    rows = _values(count_rows(payment_ms, 12_050, champion, shadow))
    # seconds 10 and 11, and the payment without a time counted at SCORED_AT (second 12)
    assert [(k, t) for k, _, t in rows] == [("v1", 10_100), ("v2", 10_100), ("v1", 11_000),
                                           ("v2", 11_000), ("v1", 12_050), ("v2", 12_050)]
    first, _, second, second_shadow = (v for _, v, _ in rows[:4])
    assert (first["EVENTS"], first["ALERTS"]) == (2, 1)
    assert first["SCORE_SUM"] == pytest.approx(2.5)
    assert first["SCORE_SUM_SQUARES"] == pytest.approx(4.25)
    assert (first["SCORE_MIN"], first["SCORE_MAX"]) == (0.5, 2.0)
    assert (first["LATENCY_MS_MIN"], first["LATENCY_MS_MAX"]) == (1_150, 1_950)
    assert first["LATENCY_MS_SUM"] == 1_150 + 1_950
    assert first[latency_bucket_column(1000)] == 2
    assert first["SHADOW_MODEL_VERSION"] == "v2" and first["SHADOW_EVENTS"] == 2
    assert first["SHADOW_SCORE_SUM"] == pytest.approx(1.0)
    assert (second["ALERTS"], second_shadow["ALERTS"]) == (1, 1)
    assert "SHADOW_EVENTS" not in second_shadow
    assert sum(v["EVENTS"] for k, v, _ in rows if k == "v1") == 5
    assert all(v["PAYMENT_TIME"] == t for _, v, t in rows)
    assert all(v["ALERTS_SUPPRESSED"] == 0 for _, v, _ in rows)


def test_suppressed_alerts_are_counted_in_their_own_windows():
    rows = _values(count_rows(np.array([1_000, 2_000, 2_500]), 3_000,
                              Verdicts("v1", np.array([5.0, 5.0, 0.0]),
                                       np.array([True, True, False]), suppressed=True)))
    assert [(v["ALERTS"], v["ALERTS_SUPPRESSED"]) for _, v, _ in rows] == [(1, 1), (1, 1)]


def test_a_storm_begins_above_the_share_and_ends_below_half_of_it():
    guard = StormGuard(share=0.2, window=1000)
    assert guard.suppress(500, 400, "v1") is False, "too few payments seen to judge"
    assert guard.suppress(600, 300, "v1") is True and guard.active
    assert guard.suppress(1000, 150, "v1") is True, "15% of the last 1,000: still a storm"
    assert guard.suppress(1000, 50, "v1") is False, "5%: below half the share, over"
    assert guard.suppress(10, 1, "v1") is False


def test_a_share_of_one_turns_the_guard_off():
    guard = StormGuard(share=1.0, window=10)
    assert guard.suppress(5000, 5000, "v1") is False
