"""The demo's summary check: every way the counts can fail to add up is named."""

from fraudctl.tasks.demo_check import RunRecords, Totals, _check


def _records(scores, threshold=1.0, alerts=None, dead=0, duplicates=0, labels=None):
    records = RunRecords(dead_letters=dead, duplicates=duplicates)
    for i, score in enumerate(scores):
        records.scored[i] = {"SCORE": score, "THRESHOLD": threshold,
                             "IS_ANOMALY": score > threshold, "MODEL_VERSION": "v1"}
    records.alerts = set(alerts if alerts is not None else
                         (i for i, s in enumerate(scores) if s > threshold))
    records.labels = dict(labels or {})
    records.labels_sent = len(records.labels)
    return records


def test_counts_that_add_up_pass():
    # payment 1 (alert) is fraud: TP; 3 (alert) genuine: FP; 0 (no alert) fraud: FN
    records = _records([0.5, 2.0, 0.1, 3.0], dead=1, labels={1: "1", 3: "0", 0: "1"})
    assert records.confusion() == (1, 1, 1, 0)
    totals = Totals(events=4, alerts=2, latency_events=4, accuracy_events=4, labelled=3,
                    tp=1, fp=1, fn=1)
    assert _check(5, 5, records, totals) == []


def test_each_mismatch_is_named():
    records = _records([0.5, 2.0, 3.0], alerts=[1], duplicates=2, labels={2: "1"})
    records.labels_sent = 2
    problems = _check(5, 6, records, Totals(events=2, alerts=3, accuracy_events=3, fp=1))
    assert problems == [
        "replayed 5 rows, not 6 (the data file is shorter?)",
        "5 rows replayed, but 3 scored and 0 dead-lettered",
        "2 row(s) scored more than once",
        "1 alerts, but 2 rows scored above the threshold",
        "the monitoring tables counted 2 events, not 3",
        "the monitoring tables counted 3 alerts, not 1",
        "2 labels sent, but 1 reached the labels stream",
        "the accuracy table matched 0 labels with their payments, not 2",
        "the accuracy table's TP/FP/FN/TN are (0, 1, 0, 0), but the scored records and labels "
        "give (1, 0, 0, 0)",
    ]
