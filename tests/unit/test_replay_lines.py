"""Replay's line handling: Kaggle rows become raw lines without their label, raw lines pass,
labels follow later by the policy, loops, bad lines."""

import io

import pytest

from core.contract import LABEL_COLUMNS, RAW_COLUMNS
from core.errors import FraudError
from fraudctl.tasks.replay import LabelPolicy, ReplayOptions, payments, replay
from training.synth import synthesize, write_kaggle_csv, write_raw_csv


class Recorder:
    """A replay target that keeps what it was sent, in order, with the time it was sent."""

    def __init__(self) -> None:
        import time

        self.clock = time.monotonic
        self.sent: list[tuple[str, str, float]] = []
        self.flushed = False

    def payment(self, line: str) -> None:
        self.sent.append(("payment", line, self.clock()))

    def label(self, line: str) -> None:
        self.sent.append(("label", line, self.clock()))

    def flush(self) -> None:
        self.flushed = True

    def lines(self, kind: str) -> list[str]:
        return [line for k, line, _ in self.sent if k == kind]


def test_kaggle_rows_get_id_timestamp_user_and_no_label(tmp_path):
    data = tmp_path / "k.csv"
    write_kaggle_csv(synthesize(5, 0.2, seed=1), data)
    rows = list(payments(data, ReplayOptions(rate=0, start_id=100)))
    assert [p.payment_id for p in rows] == [100, 101, 102, 103, 104]
    fields = [p.line.split(",") for p in rows]
    assert all(len(f) == len(RAW_COLUMNS) for f in fields)
    assert all(f[1].startswith('"20') and f[1].endswith('Z"') for f in fields)
    assert all(f[-1] == "" for f in fields), "a payment never carries its label"
    assert {p.label for p in rows} <= {"0", "1"}


def test_raw_lines_pass_through_without_their_label(tmp_path):
    data = tmp_path / "r.csv"
    write_raw_csv(synthesize(3, 0.0, seed=2), data)
    original = data.read_text().splitlines()
    rows = list(payments(data, ReplayOptions(rate=0)))
    assert [p.line for p in rows] == [line.rsplit(",", 1)[0] + "," for line in original]
    assert [p.label for p in rows] == [line.rsplit(",", 1)[1].strip('"') for line in original]


def test_labels_follow_after_the_delay_for_all_frauds_and_a_share_of_the_rest(tmp_path):
    data = tmp_path / "k.csv"
    frame = synthesize(400, 0.1, seed=5)
    write_kaggle_csv(frame, data)
    policy = LabelPolicy(delay=0.3, fraud_share=1.0, normal_share=0.25, seed=3)
    options = ReplayOptions(rate=0, start_id=1, labels=policy)
    target = Recorder()
    result = replay(payments(data, options), target, options, progress=io.StringIO())
    assert target.flushed and result.payments == 400 and result.labels_unsent == 0
    truth = {p.payment_id: p.label for p in payments(data, ReplayOptions(rate=0, start_id=1))}
    labels = [line.split(",") for line in target.lines("label")]
    assert all(len(f) == len(LABEL_COLUMNS) for f in labels)
    sent = {int(f[0]): f[1].strip('"') for f in labels}
    assert all(truth[i] == label for i, label in sent.items()), "each label is its payment's"
    frauds = {i for i, label in truth.items() if label == "1"}
    assert frauds and frauds <= set(sent), "every fraud is labelled"
    genuine = len(sent) - len(frauds)
    assert 0.15 * (400 - len(frauds)) < genuine < 0.35 * (400 - len(frauds))
    assert result.labels == len(sent) and result.frauds_labelled == len(frauds)
    assert {f[3] for f in labels} == {'"replay"'}
    paid_at = {int(line.split(",")[0]): at for kind, line, at in target.sent
               if kind == "payment"}
    for kind, line, at in target.sent:
        if kind == "label":
            assert at - paid_at[int(line.split(",")[0])] >= 0.3


def test_no_labels_without_a_policy(tmp_path):
    data = tmp_path / "k.csv"
    write_kaggle_csv(synthesize(50, 0.2, seed=6), data)
    options = ReplayOptions(rate=0, start_id=1)
    target = Recorder()
    result = replay(payments(data, options), target, options, progress=io.StringIO())
    assert result.payments == 50 and target.lines("label") == []


def test_loop_and_limit(tmp_path):
    data = tmp_path / "k.csv"
    write_kaggle_csv(synthesize(4, 0.0, seed=3), data)
    options = ReplayOptions(rate=0, limit=10, loop=True, start_id=1)
    target = Recorder()
    result = replay(payments(data, options), target, options, progress=io.StringIO())
    assert result.payments == 10
    assert [int(line.split(",")[0]) for line in target.lines("payment")] == list(range(1, 11))


def test_a_short_line_is_named(tmp_path):
    data = tmp_path / "bad.csv"
    write_kaggle_csv(synthesize(3, 0.0, seed=4), data)
    lines = data.read_text().splitlines()
    lines[2] = ",".join(lines[2].split(",")[:10])
    data.write_text("\n".join(lines) + "\n")
    with pytest.raises(FraudError, match=r"bad.csv line 3: 10 fields, expected 31"):
        list(payments(data, ReplayOptions(rate=0)))


@pytest.mark.parametrize(("column", "value"), [(5, "abc"), (29, "inf"), (0, "nan")])
def test_a_non_numeric_value_is_named_by_line_and_column(tmp_path, column, value):
    from core.contract import KAGGLE_COLUMNS

    data = tmp_path / "bad.csv"
    write_kaggle_csv(synthesize(3, 0.0, seed=4), data)
    lines = data.read_text().splitlines()
    fields = lines[3].split(",")
    fields[column] = value
    lines[3] = ",".join(fields)
    data.write_text("\n".join(lines) + "\n")
    with pytest.raises(FraudError, match=rf"bad.csv line 4, column {KAGGLE_COLUMNS[column]}: "
                                            rf"'{value}' is not a finite number"):
        list(payments(data, ReplayOptions(rate=0)))
