"""Dataset loading: both formats, and every bad input named by file, line and column."""

import numpy as np
import pytest

from core.contract import KAGGLE_COLUMNS
from core.errors import DataError
from training.data import load_dataset
from training.synth import synthesize, to_raw_lines, write_kaggle_csv, write_raw_csv

HEADER = ",".join(f'"{c}"' for c in KAGGLE_COLUMNS)


def _row(time=0, amount=10.5, cls='"0"', v=0.1):
    return ",".join([str(time), *[str(v)] * 28, str(amount), cls])


def _write(tmp_path, lines, name="data.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_kaggle_and_raw_formats_give_the_same_features(tmp_path):
    frame = synthesize(300, fraud_rate=0.05, seed=3)
    write_kaggle_csv(frame, tmp_path / "k.csv")
    write_raw_csv(frame, tmp_path / "r.csv")
    kaggle, raw = load_dataset(tmp_path / "k.csv"), load_dataset(tmp_path / "r.csv")
    assert kaggle.format == "kaggle" and raw.format == "raw"
    np.testing.assert_allclose(kaggle.features, raw.features)
    np.testing.assert_array_equal(kaggle.labels, frame["Class"].to_numpy())
    np.testing.assert_array_equal(raw.labels, kaggle.labels)
    assert list(raw.extra.columns) == ["ID", "TS", "USER_ID"]


def test_unquoted_header_and_unknown_raw_labels(tmp_path):
    plain = _write(tmp_path, [HEADER.replace('"', ""), _row(cls="0"), _row(cls="1")])
    assert load_dataset(plain).labels.tolist() == [0, 1]
    line = to_raw_lines(synthesize(3, 0.0, seed=1), keep_labels=False)
    raw = _write(tmp_path, line, "raw.csv")
    dataset = load_dataset(raw)
    assert dataset.labels.tolist() == [-1, -1, -1] and not dataset.has_labels


def test_missing_column_in_header(tmp_path):
    path = _write(tmp_path, [HEADER.replace('"V7",', ""), _row()])
    with pytest.raises(DataError, match=r"data.csv line 1 \(header\): missing column\(s\) V7"):
        load_dataset(path)


def test_extra_column_in_header(tmp_path):
    path = _write(tmp_path, [HEADER + ',"Merchant"', _row() + ",x"])
    with pytest.raises(DataError, match=r"unexpected column\(s\) Merchant"):
        load_dataset(path)


def test_extra_field_in_a_row_names_the_line(tmp_path):
    path = _write(tmp_path, [HEADER, _row(), _row(), _row() + ",7"])
    with pytest.raises(DataError, match=r"data.csv.*line 4"):
        load_dataset(path)


def test_short_row_names_the_line(tmp_path):
    path = _write(tmp_path, [HEADER, _row(), ",".join(_row().split(",")[:20])])
    with pytest.raises(DataError, match=r"data.csv line 3: 20 fields, expected 31"):
        load_dataset(path)


def test_non_numeric_value_names_line_and_column(tmp_path):
    bad = _row().split(",")
    bad[3] = "abc"  # V3
    path = _write(tmp_path, [HEADER, _row(), ",".join(bad)])
    with pytest.raises(DataError, match=r"data.csv line 3, column V3: 'abc' is not a number"):
        load_dataset(path)


def test_infinite_value_is_rejected(tmp_path):
    path = _write(tmp_path, [HEADER, _row(amount="inf")])
    with pytest.raises(DataError, match=r"line 2, column Amount: 'inf' is not a finite"):
        load_dataset(path)


def test_bad_label(tmp_path):
    path = _write(tmp_path, [HEADER, _row(cls='"2"')])
    with pytest.raises(DataError, match=r"line 2, column Class: .*not a label"):
        load_dataset(path)


def test_empty_file_and_header_only(tmp_path):
    with pytest.raises(DataError, match="empty"):
        load_dataset(_write(tmp_path, [""], "empty.csv"))
    with pytest.raises(DataError, match="no data rows"):
        load_dataset(_write(tmp_path, [HEADER], "header.csv"))


def test_unknown_layout(tmp_path):
    with pytest.raises(DataError, match="line 1: 3 columns; expected 31"):
        load_dataset(_write(tmp_path, ["1,2,3"]))


def test_missing_values_are_counted_and_reported_not_silently_dropped(tmp_path):
    rows = [_row(time=i) for i in range(6)]
    for i in (1, 4):
        cells = rows[i].split(",")
        cells[10] = ""
        rows[i] = ",".join(cells)
    dataset = load_dataset(_write(tmp_path, [HEADER, *rows]))
    assert len(dataset) == 4
    assert dataset.excluded_lines == [3, 6]
    assert "2 rows with missing values excluded (lines 3, 6)" in dataset.summary()


def test_single_class_is_an_error_where_labels_are_needed(tmp_path):
    path = _write(tmp_path, [HEADER, _row(), _row()])
    assert len(load_dataset(path)) == 2
    with pytest.raises(DataError, match=r"every labelled row is normal \(0\)"):
        load_dataset(path, require_labels=True)


def test_synthetic_data_looks_like_the_real_schema():
    frame = synthesize(20_000, fraud_rate=0.002, seed=0)
    assert list(frame.columns) == list(KAGGLE_COLUMNS)
    assert frame["Class"].sum() == 40
    assert frame["Time"].is_monotonic_increasing and frame["Time"].max() < 2 * 86_400
    amount = frame["Amount"]
    assert amount.min() >= 0 and amount.mean() > 2 * amount.median()  # heavy tail
    stds = frame[[f"V{i}" for i in range(1, 29)]].std().to_numpy()
    assert stds[0] > stds[-1] * 3  # PCA-like decreasing variance


@pytest.mark.parametrize("value", ["1e308", "-3.5e38"])
def test_values_beyond_float32_are_refused_with_line_and_column(tmp_path, value):
    path = _write(tmp_path, [HEADER, _row(), _row(amount=value)])
    with pytest.raises(DataError, match=rf"data.csv line 3, column Amount: '{value}' is beyond "
                                        r"the model's float32 range"):
        load_dataset(path)


def test_kaggle_columns_are_read_by_name_in_any_order(tmp_path):
    """A moved Amount column used to become V28: columns were assigned by position."""
    import pandas as pd

    frame = synthesize(50, 0.1, seed=3)
    straight = tmp_path / "straight.csv"
    write_kaggle_csv(frame, straight)
    shuffled_columns = ["Amount", "Class", *reversed(KAGGLE_COLUMNS[1:29]), "Time"]
    table = pd.read_csv(straight)
    shuffled = tmp_path / "shuffled.csv"
    table[shuffled_columns].to_csv(shuffled, index=False)
    a, b = load_dataset(straight), load_dataset(shuffled)
    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.labels, b.labels)


def test_replay_reads_kaggle_columns_by_name(tmp_path):
    import pandas as pd

    from fraudctl.tasks.replay import ReplayOptions, payments

    straight = tmp_path / "straight.csv"
    write_kaggle_csv(synthesize(20, 0.1, seed=3), straight)
    table = pd.read_csv(straight)
    shuffled = tmp_path / "shuffled.csv"
    table[["Class", "Amount", *KAGGLE_COLUMNS[1:29], "Time"]].to_csv(shuffled, index=False)
    options = ReplayOptions(rate=0, start_id=1)

    def numbers(path):
        return [([float(x) for x in p.line.split(",")[3:33]], p.label)
                for p in payments(path, options)]

    assert numbers(straight) == numbers(shuffled)
