"""Realistic synthetic card payments with the Kaggle schema, for tests and demos.

Normal payments lie near a curved low-dimensional manifold (a few latent factors mixed into the
28 PCA-like components, with a decreasing variance profile as after PCA, plus heavy-tailed noise);
frauds sit off it: shifted in the components that separate fraud in the real data (V14, V12, V10,
V17, V4, V11, ...), with a random strength so that some are hard to tell apart. Amount is
log-normal (heavy-tailed); Time spans two days with a daytime peak, frauds happen more at night.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from udf_server.contract import KAGGLE_COLUMNS, V_COLUMNS

SECONDS_IN_DAY = 86_400
#: standard deviations of V1..V28 in the real data fall roughly from 2 to 0.3
V_STD = np.linspace(1.95, 0.33, 28)
#: fraud shifts in units of each component's std (sign as in the real data's class means)
FRAUD_SHIFT = {"V14": -4.5, "V12": -4.0, "V10": -3.5, "V17": -4.0, "V4": 3.0, "V11": 3.0,
               "V3": -3.0, "V16": -3.0, "V7": -2.5, "V2": 2.0, "V9": -2.0, "V18": -2.0}
USERS = ("Kai", "Hans", "Flo", "Dirk", "Ana", "Mia", "Lea", "Tom", "Ida", "Max", "Eva", "Jan")


def synthesize(rows: int, fraud_rate: float = 0.0017, seed: int = 0,
               latent_dim: int = 6) -> pd.DataFrame:
    """A DataFrame with the Kaggle columns (Time, V1..V28, Amount, Class), sorted by Time."""
    if rows <= 0:
        raise ValueError("rows must be positive")
    if not 0.0 <= fraud_rate < 1.0:
        raise ValueError("fraud rate must be in [0, 1)")
    structure = np.random.default_rng(12345)  # the "world": identical for every seed
    mix = structure.normal(size=(latent_dim, 28)) / np.sqrt(latent_dim)
    bend = structure.normal(size=(latent_dim, 28)) * 0.35 / np.sqrt(latent_dim)
    rng = np.random.default_rng(seed)

    n_fraud = round(rows * fraud_rate)
    if fraud_rate > 0 and n_fraud == 0:
        n_fraud = 1
    labels = np.zeros(rows, dtype=np.int64)
    labels[rng.choice(rows, size=n_fraud, replace=False)] = 1
    fraud = labels == 1

    z = rng.normal(size=(rows, latent_dim))
    v = z @ mix + np.tanh(z) ** 2 @ bend
    v += 0.15 * rng.standard_t(df=4, size=(rows, 28))  # heavy-tailed noise off the manifold
    v = (v - v.mean(axis=0)) / v.std(axis=0) * V_STD

    if n_fraud:
        strength = rng.uniform(0.05, 0.9, size=n_fraud)[:, None]
        shift = np.zeros(28)
        for name, amount in FRAUD_SHIFT.items():
            shift[int(name[1:]) - 1] = amount
        v[fraud] += strength * shift * V_STD + rng.normal(scale=0.3, size=(n_fraud, 28)) * V_STD

    time = _times(rng, rows, fraud)
    amount = _amounts(rng, rows, fraud)
    frame = pd.DataFrame(v, columns=list(V_COLUMNS))
    frame.insert(0, "Time", time)
    frame["Amount"] = amount
    frame["Class"] = labels
    return frame.sort_values("Time", kind="stable").reset_index(drop=True)


def _times(rng: np.random.Generator, rows: int, fraud: np.ndarray) -> np.ndarray:
    day = rng.integers(0, 2, size=rows)
    # daytime peak around 14:00 for normal payments; frauds are spread, more at night
    hour = np.where(fraud, rng.uniform(0, 24, size=rows),
                    np.clip(rng.normal(14, 4.5, size=rows), 0, 23.999))
    night = fraud & (rng.random(rows) < 0.5)
    hour = np.where(night, rng.uniform(0, 6, size=rows), hour)
    return np.floor(day * SECONDS_IN_DAY + hour * 3600).astype(np.float64)


def _amounts(rng: np.random.Generator, rows: int, fraud: np.ndarray) -> np.ndarray:
    normal = rng.lognormal(mean=3.0, sigma=1.3, size=rows)
    small_probe = rng.random(rows) < 0.4  # card testing: many tiny amounts
    fraud_amount = np.where(small_probe, rng.uniform(0.5, 2.0, size=rows),
                            rng.lognormal(mean=4.5, sigma=1.2, size=rows))
    return np.round(np.minimum(np.where(fraud, fraud_amount, normal), 25_000.0), 2)


def write_kaggle_csv(frame: pd.DataFrame, path: Path) -> None:
    """The Kaggle layout: quoted header, plain numbers, quoted Class label."""
    values = frame[list(KAGGLE_COLUMNS[:-1])].to_numpy()
    with path.open("w") as fh:
        fh.write(",".join(f'"{c}"' for c in KAGGLE_COLUMNS) + "\n")
        for row, label in zip(values, frame["Class"].to_numpy(), strict=True):
            fh.write(",".join(_fmt(x) for x in row) + f',"{int(label)}"\n')


def to_raw_lines(frame: pd.DataFrame, start_id: int = 1,
                 start_ts: str = "2018-12-18T12:00:00Z", seed: int = 0,
                 keep_labels: bool = True) -> list[str]:
    """Raw extended lines (ID,"TS","USER_ID",TIME,V1..V28,AMOUNT,"CLASS") as in the seed sample."""
    rng = np.random.default_rng(seed)
    base = pd.Timestamp(start_ts)
    ts = (base + pd.to_timedelta(frame["Time"].to_numpy(), unit="s")).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    users = np.asarray(USERS)[rng.integers(0, len(USERS), size=len(frame))]
    values = frame[["Time", *V_COLUMNS, "Amount"]].to_numpy()
    labels = frame["Class"].to_numpy() if "Class" in frame else [None] * len(frame)
    lines = []
    for i, (row, stamp, user, label) in enumerate(zip(values, ts, users, labels, strict=True)):
        numbers = ",".join(_fmt(x) for x in row)
        cls = f'"{int(label)}"' if keep_labels and label is not None and label == label else ""
        lines.append(f'{start_id + i},"{stamp}","{user}",{numbers},{cls}')
    return lines


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


def write_raw_csv(frame: pd.DataFrame, path: Path, seed: int = 0) -> None:
    path.write_text("\n".join(to_raw_lines(frame, seed=seed)) + "\n")
