"""Load the Kaggle `creditcard.csv` format or the raw extended format, with errors that name lines.

Kaggle: `Time,V1..V28,Amount,Class` with a (quoted or plain) header. Raw extended (the
`transactions.raw` contract): `ID,TS,USER_ID,TIME,V1..V28,AMOUNT,CLASS` without a header, CLASS
`"0"`/`"1"` or empty when unknown. Rows with missing values are excluded, counted and reported
by line number; anything malformed is an error naming the file, line and column.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.contract import FEATURE_NAMES, KAGGLE_COLUMNS, RAW_COLUMNS
from core.errors import DataError

#: Kaggle column -> contract feature name
_KAGGLE_TO_FEATURE = {"Time": "TIME", "Amount": "AMOUNT", "Class": "CLASS"}


FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass
class Dataset:
    """Features in contract order, labels (1 fraud, 0 normal, -1 unknown), and what was excluded."""

    path: Path
    format: str
    features: np.ndarray
    labels: np.ndarray
    fingerprint: str
    excluded_lines: list[int] = field(default_factory=list)
    extra: pd.DataFrame | None = None  # ID, TS, USER_ID for the raw format

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def has_labels(self) -> bool:
        return bool((self.labels >= 0).any())

    def summary(self) -> str:
        known = self.labels >= 0
        frauds = int((self.labels == 1).sum())
        text = (f"{self.path}: {len(self)} rows ({self.format} format), {frauds} frauds among "
                f"{int(known.sum())} labelled")
        if self.excluded_lines:
            shown = ", ".join(map(str, self.excluded_lines[:10]))
            more = f" and {len(self.excluded_lines) - 10} more" if len(
                self.excluded_lines) > 10 else ""
            text += (f"; {len(self.excluded_lines)} rows with missing values excluded "
                     f"(lines {shown}{more})")
        return text


def _fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def _sniff(path: Path) -> tuple[str, bool, list[str]]:
    """(format, has_header, column names) from the first line."""
    with path.open("r", errors="replace") as fh:
        first = fh.readline()
    if not first.strip():
        raise DataError(f"{path}: the file is empty")
    cells = [c.strip().strip('"').strip() for c in first.rstrip("\r\n").split(",")]
    lowered = [c.lower() for c in cells]
    if "time" in lowered and "id" not in lowered:
        expected = list(KAGGLE_COLUMNS)
        missing = [c for c in expected if c.lower() not in lowered]
        extra = [c for c in cells if c.lower() not in {e.lower() for e in expected}]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing column(s) {', '.join(missing)}")
            if extra:
                parts.append(f"unexpected column(s) {', '.join(extra)}")
            raise DataError(f"{path} line 1 (header): {'; '.join(parts)}; expected "
                            f"{','.join(expected)}")
        canonical = {c.lower(): c for c in expected}
        return "kaggle", True, [canonical[c] for c in lowered]  # the file's order, by name
    if "id" in lowered:
        canonical = {c.lower(): c for c in RAW_COLUMNS}
        unknown = [c for c in cells if c.lower() not in canonical]
        missing = [c for c in RAW_COLUMNS if c.lower() not in lowered]
        if unknown or missing:
            raise DataError(f"{path} line 1 (header): expected the raw columns "
                            f"{','.join(RAW_COLUMNS)}; missing {missing or 'none'}, unexpected "
                            f"{unknown or 'none'}")
        return "raw", True, [canonical[c] for c in lowered]
    if len(cells) == len(RAW_COLUMNS):
        return "raw", False, list(RAW_COLUMNS)
    if len(cells) == len(KAGGLE_COLUMNS):
        return "kaggle", False, list(KAGGLE_COLUMNS)
    raise DataError(
        f"{path} line 1: {len(cells)} columns; expected {len(KAGGLE_COLUMNS)} (Kaggle format "
        f"{','.join(KAGGLE_COLUMNS[:2])},...,Class) or {len(RAW_COLUMNS)} (raw format "
        f"{','.join(RAW_COLUMNS[:4])},...,CLASS)")


def load_dataset(path: str | Path, require_labels: bool = False) -> Dataset:
    """Read and validate a dataset file; see the module docstring for the formats."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    fmt, has_header, columns = _sniff(path)
    _check_field_counts(path, len(columns), skip=1 if has_header else 0)
    try:
        raw = pd.read_csv(path, header=0 if has_header else None, names=columns, dtype=str,
                          keep_default_na=False, skipinitialspace=True, engine="c")
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: {exc}") from None
    if raw.empty:
        raise DataError(f"{path}: no data rows")
    first_line = 2 if has_header else 1
    line_of = np.arange(len(raw)) + first_line

    renamed = raw.rename(columns=_KAGGLE_TO_FEATURE)
    numeric = np.empty((len(raw), len(FEATURE_NAMES)), dtype=np.float64)
    missing = np.zeros(len(raw), dtype=bool)
    for j, name in enumerate(FEATURE_NAMES):
        text = renamed[name].str.strip()
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        empty = (text == "").to_numpy() | text.str.lower().isin(["nan", "null"]).to_numpy()
        bad = np.isnan(values) & ~empty
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{path} line {line_of[i]}, column {_label(fmt, name)}: "
                            f"{text.iloc[i]!r} is not a number")
        infinite = np.isinf(values)
        if infinite.any():
            i = int(np.argmax(infinite))
            raise DataError(f"{path} line {line_of[i]}, column {_label(fmt, name)}: "
                            f"{text.iloc[i]!r} is not a finite number")
        beyond = np.abs(np.nan_to_num(values)) > FLOAT32_MAX
        if beyond.any():  # the model computes in float32, as the sidecar does
            i = int(np.argmax(beyond))
            raise DataError(f"{path} line {line_of[i]}, column {_label(fmt, name)}: "
                            f"{text.iloc[i]!r} is beyond the model's float32 range "
                            f"(±{FLOAT32_MAX:.4g})")
        missing |= empty
        numeric[:, j] = values

    labels = _labels(path, fmt, renamed["CLASS"], line_of)
    keep = ~missing
    dataset = Dataset(path=path, format=fmt, features=numeric[keep], labels=labels[keep],
                      fingerprint=_fingerprint(path),
                      excluded_lines=[int(x) for x in line_of[missing]],
                      extra=raw.loc[keep, ["ID", "TS", "USER_ID"]].reset_index(drop=True)
                      if fmt == "raw" else None)
    if dataset.features.shape[0] == 0:
        raise DataError(f"{path}: every row has missing values")
    if require_labels:
        check_labels(dataset)
    return dataset


def _check_field_counts(path: Path, expected: int, skip: int) -> None:
    """The parser pads short rows silently: count the fields of every line ourselves."""
    with path.open("r", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            if number <= skip or not line.strip():
                continue
            fields = line.count(",") + 1
            if fields != expected:
                raise DataError(f"{path} line {number}: {fields} fields, expected {expected}")


def _label(fmt: str, name: str) -> str:
    if fmt == "kaggle":
        return {v: k for k, v in _KAGGLE_TO_FEATURE.items()}.get(name, name)
    return name


def _labels(path: Path, fmt: str, column: pd.Series, line_of: np.ndarray) -> np.ndarray:
    text = column.str.strip().str.strip('"')
    labels = np.full(len(text), -1, dtype=np.int64)
    labels[(text == "0").to_numpy()] = 0
    labels[(text == "1").to_numpy()] = 1
    invalid = ~text.isin(["0", "1", ""]).to_numpy()
    if invalid.any():
        i = int(np.argmax(invalid))
        raise DataError(f"{path} line {line_of[i]}, column {_label(fmt, 'CLASS')}: "
                        f"{column.iloc[i]!r} is not a label (\"0\", \"1\" or empty)")
    return labels


def check_labels(dataset: Dataset) -> None:
    """DataError unless the dataset has labelled normal and fraud rows."""
    known = dataset.labels[dataset.labels >= 0]
    if known.size == 0:
        raise DataError(f"{dataset.path}: no row has a label (Class); training and evaluation "
                        "need labelled normal and fraud rows")
    classes = set(np.unique(known).tolist())
    if classes != {0, 1}:
        only = "normal (0)" if classes == {0} else "fraud (1)"
        raise DataError(f"{dataset.path}: every labelled row is {only}; the threshold and the "
                        "evaluation need both classes")
