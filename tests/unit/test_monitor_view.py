"""The live view marks a challenger's rows (a version that runs in shadow mode) and alert storms."""

from fraudctl.tasks.monitor import render


def test_a_challengers_rows_are_marked_and_explained():
    window = 1_700_000_000_000
    rate = [{"MODEL_VERSION": "champion-v1", "WINDOWSTART": window, "EVENTS": 10, "ALERTS": 1,
             "ALERT_RATE": 0.1},
            {"MODEL_VERSION": "challenger-v2", "WINDOWSTART": window, "EVENTS": 10,
             "ALERTS": 2, "ALERT_RATE": 0.2}]
    drift = [{"MODEL_VERSION": "champion-v1", "WINDOWSTART": window, "SCORE_MEAN": 0.5,
              "SHADOW_MODEL_VERSION": "challenger-v2"}]
    accuracy = [{"MODEL_VERSION": "challenger-v2", "WINDOWSTART": window, "PRECISION": 0.5,
                 "RECALL": 1.0, "LABELLED_SHARE": 0.2}]
    text = render({"monitor_alert_rate": rate, "monitor_score_drift": drift,
                   "monitor_accuracy": accuracy, "monitor_latency": []})
    lines = text.splitlines()
    challenger = next(line for line in lines if line.startswith("challenger-v2"))
    assert challenger.startswith("challenger-v2 ~") and "0.500  1.000" in challenger
    assert next(line for line in lines if line.startswith("champion-v1")).startswith(
        "champion-v1      ")
    assert lines[-1].startswith("~ a challenger in shadow mode")


def test_a_window_with_alerts_held_back_by_a_storm_says_so():
    rate = [{"MODEL_VERSION": "bad-v3", "WINDOWSTART": 1_700_000_000_000, "EVENTS": 100,
             "ALERTS": 67, "ALERT_RATE": 0.67, "ALERTS_SUPPRESSED": 60}]
    text = render({"monitor_alert_rate": rate, "monitor_score_drift": [],
                   "monitor_accuracy": [], "monitor_latency": []})
    row = next(line for line in text.splitlines() if line.startswith("bad-v3"))
    assert row.endswith("STORM: 60 held")
    assert text.splitlines()[-1].startswith("STORM: an alert storm")
