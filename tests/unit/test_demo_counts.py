"""The demo's summary check: every way the counts can fail to add up is named."""

from infra.demo_check import RunRecords, Totals, _check


def _records(scores, threshold=1.0, alerts=None, dead=0, duplicates=0):
    records = RunRecords(dead_letters=dead, duplicates=duplicates)
    for i, score in enumerate(scores):
        records.scored[i] = {"SCORE": score, "THRESHOLD": threshold,
                             "IS_ANOMALY": score > threshold, "MODEL_VERSION": "v1"}
    records.alerts = set(alerts if alerts is not None else
                         (i for i, s in enumerate(scores) if s > threshold))
    return records


def test_counts_that_add_up_pass():
    records = _records([0.5, 2.0, 0.1, 3.0], dead=1)
    assert _check(5, 5, records, Totals(events=4, alerts=2, latency_events=4)) == []


def test_each_mismatch_is_named():
    records = _records([0.5, 2.0, 3.0], alerts=[1], duplicates=2)
    problems = _check(5, 6, records, Totals(events=2, alerts=3))
    assert problems == [
        "replayed 5 rows, not 6 (the data file is shorter?)",
        "5 rows replayed, but 3 scored and 0 dead-lettered",
        "2 row(s) scored more than once",
        "1 alerts, but 2 rows scored above the threshold",
        "the monitoring tables counted 2 events, not 3",
        "the monitoring tables counted 3 alerts, not 1",
    ]
