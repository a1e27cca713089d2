"""Replay's line handling: Kaggle rows become raw lines, raw lines pass, loops, bad lines."""

import io

import pytest

from infra.errors import FraudctlError
from infra.replay import ReplayOptions, raw_lines, replay
from training.synth import synthesize, write_kaggle_csv, write_raw_csv
from udf_server.contract import RAW_COLUMNS


def test_kaggle_rows_get_id_timestamp_user_and_quoted_label(tmp_path):
    data = tmp_path / "k.csv"
    write_kaggle_csv(synthesize(5, 0.2, seed=1), data)
    lines = list(raw_lines(data, ReplayOptions(rate=0, start_id=100)))
    assert len(lines) == 5
    fields = [line.split(",") for line in lines]
    assert [int(f[0]) for f in fields] == [100, 101, 102, 103, 104]
    assert all(len(f) == len(RAW_COLUMNS) for f in fields)
    assert all(f[1].startswith('"20') and f[1].endswith('Z"') for f in fields)
    assert all(f[-1] in ('"0"', '"1"') for f in fields)


def test_raw_lines_pass_through_and_labels_can_be_dropped(tmp_path):
    data = tmp_path / "r.csv"
    write_raw_csv(synthesize(3, 0.0, seed=2), data)
    original = data.read_text().splitlines()
    assert list(raw_lines(data, ReplayOptions(rate=0))) == original
    unlabelled = list(raw_lines(data, ReplayOptions(rate=0, keep_labels=False)))
    assert all(line.endswith(",") for line in unlabelled)


def test_loop_and_limit(tmp_path):
    data = tmp_path / "k.csv"
    write_kaggle_csv(synthesize(4, 0.0, seed=3), data)
    options = ReplayOptions(rate=0, limit=10, loop=True, start_id=1)
    sent = []
    count = replay(raw_lines(data, options), sent.append, options, flush=lambda: None,
                   progress=io.StringIO())
    assert count == 10
    assert [int(line.split(",")[0]) for line in sent] == list(range(1, 11))


def test_a_short_line_is_named(tmp_path):
    data = tmp_path / "bad.csv"
    write_kaggle_csv(synthesize(3, 0.0, seed=4), data)
    lines = data.read_text().splitlines()
    lines[2] = ",".join(lines[2].split(",")[:10])
    data.write_text("\n".join(lines) + "\n")
    with pytest.raises(FraudctlError, match=r"bad.csv line 3: 10 fields, expected 31"):
        list(raw_lines(data, ReplayOptions(rate=0)))


@pytest.mark.parametrize(("column", "value"), [(5, "abc"), (29, "inf"), (0, "nan")])
def test_a_non_numeric_value_is_named_by_line_and_column(tmp_path, column, value):
    from udf_server.contract import KAGGLE_COLUMNS

    data = tmp_path / "bad.csv"
    write_kaggle_csv(synthesize(3, 0.0, seed=4), data)
    lines = data.read_text().splitlines()
    fields = lines[3].split(",")
    fields[column] = value
    lines[3] = ",".join(fields)
    data.write_text("\n".join(lines) + "\n")
    with pytest.raises(FraudctlError, match=rf"bad.csv line 4, column {KAGGLE_COLUMNS[column]}: "
                                            rf"'{value}' is not a finite number"):
        list(raw_lines(data, ReplayOptions(rate=0)))
