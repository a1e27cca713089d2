"""Labels the pipeline collected (`labels.raw` lines: `ID,LABEL,LABELLED_AT,SOURCE`), joined
to the payments of a raw-format file by payment ID, for `train --kind supervised --labels`.

A later line for the same payment replaces an earlier one (a corrected label). Payments without
a label stay unlabelled (-1): training leaves them out. A label whose payment is not in the
file is counted and reported, never silently dropped."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np

from core.contract import LABEL_COLUMNS
from core.errors import DataError
from training.data import Dataset


@dataclasses.dataclass(frozen=True)
class Labels:
    """Payment ID -> 1 (fraud) or 0 (genuine), from one labels file."""

    path: Path
    by_id: dict[int, int]


def load_labels(path: str | Path) -> Labels:
    """Read a labels file (with or without the contract's header); DataError names the line
    and column of anything that is not a label."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    by_id: dict[int, int] = {}
    with path.open(newline="") as fh:
        for number, row in enumerate(csv.reader(fh), start=1):
            if not row or (number == 1 and row[0].strip().upper() == LABEL_COLUMNS[0]):
                continue
            if len(row) != len(LABEL_COLUMNS):
                raise DataError(f"{path} line {number}: {len(row)} fields, expected "
                                f"{len(LABEL_COLUMNS)} ({','.join(LABEL_COLUMNS)})")
            try:
                payment = int(row[0])
            except ValueError:
                raise DataError(f"{path} line {number}, column ID: {row[0]!r} is not a "
                                "payment ID") from None
            if row[1].strip() not in ("0", "1"):
                raise DataError(f"{path} line {number}, column LABEL: {row[1]!r} is not a "
                                "label (\"0\" or \"1\")")
            by_id[payment] = int(row[1])
    if not by_id:
        raise DataError(f"{path}: no labels")
    return Labels(path, by_id)


def with_labels(dataset: Dataset, labels: Labels) -> tuple[Dataset, str]:
    """The dataset with its labels taken from `labels` by payment ID (a raw-format file: its
    rows carry IDs), and a line saying what was joined."""
    if dataset.format != "raw" or dataset.extra is None:
        raise DataError(f"{dataset.path}: --labels joins labels to payments by ID, so the data "
                        "must be in the raw format (ID,TS,USER_ID,TIME,V1..V28,AMOUNT,CLASS); "
                        "a Kaggle-format file has its labels in Class")
    ids = dataset.extra["ID"].astype(np.int64).to_numpy()
    joined = np.array([labels.by_id.get(int(i), -1) for i in ids], dtype=np.int64)
    matched = int((joined >= 0).sum())
    unmatched = len(labels.by_id) - len(set(labels.by_id) & set(ids.tolist()))
    note = (f"{labels.path}: {len(labels.by_id)} labels, {matched} matched payments of "
            f"{dataset.path.name} ({int((joined == 1).sum())} frauds), {unmatched} name "
            "payments not in it")
    return dataclasses.replace(dataset, labels=joined), note
