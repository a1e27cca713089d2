"""Realistic synthetic card payments with the Kaggle schema, for tests and demos.

Built to be about as hard as the real data, from published facts about the Kaggle set (no copy
of it):

- V1..V28 are principal components: uncorrelated on normal payments, with variances falling
  from about 2 to 0.3. Normal payments come from a few heavy-tailed latent factors through a
  curved map (linear terms plus products of the factors), plus noise, then rotated onto their
  principal axes. So no linear subspace holds them: a covariance sees only an ellipsoid, a
  model of the curved manifold sees more.
- A few legitimate payments are unusual (far out in two components).
- Frauds come in several patterns (`patterns`), each shifting its own set of the components
  that separate fraud in the real data (V14, V12, V10, V17, V4, V11, ...) by several standard
  deviations, at a random strength per fraud; a share of them (`overlap`) is camouflaged,
  barely shifted, and overlaps the normal class as real frauds do.
- Amounts are heavy-tailed (log-normal); fraud amounts are mostly small (card testing). Time
  spans two days with a daytime peak; frauds happen more at night.

On 284,807 rows at the real fraud rate (0.17%), the Mahalanobis distance and IsolationForest
land in the same order and about the same range as on the real data (docs/BENCHMARKS.md,
"Model quality").
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from core.contract import DEMO_USERS, KAGGLE_COLUMNS, V_COLUMNS, raw_line

SECONDS_IN_DAY = 86_400
#: standard deviations of V1..V28 in the real data fall roughly from 2 to 0.3
V_STD = np.linspace(1.95, 0.33, 28)
#: components that separate fraud in the real data (by the size of their class-mean gap)
FRAUD_COMPONENTS = (14, 12, 10, 17, 4, 11, 3, 16, 7, 2, 9, 18)
COMPONENTS_PER_PATTERN = 8
SHIFT_RANGE = (4.0, 9.0)  # a pattern's shift per component, in units of its std
STRENGTH_RANGE = (0.5, 1.0)  # a fraud's share of its pattern's shift (camouflaged: < 0.1)
LATENT_TAIL_DF = 20.0  # latent factors: Student t (their products have heavy tails)
CURVATURE = 0.75  # weight of the products of factors beside the linear terms
LATENT_CAP = 6.0  # factors enter the products through cap * tanh(z / cap)
NOISE = 0.3  # off-manifold noise, before the rotation (Student t, 5 degrees of freedom)
UNUSUAL_NORMAL_SHARE = 0.002  # legitimate payments far out in two components
UNUSUAL_SIZE = 4.0  # how far, in units of each component's std
PCA_REFERENCE_SEED, PCA_REFERENCE_ROWS = 54321, 200_000  # the sample that fixes the rotation


def synthesize(rows: int, fraud_rate: float = 0.0017, seed: int = 0, latent_dim: int = 6,
               overlap: float = 0.15, patterns: int = 3) -> pd.DataFrame:
    """A DataFrame with the Kaggle columns (Time, V1..V28, Amount, Class), sorted by Time.

    `overlap`: share of frauds that are camouflaged (barely distinguishable from normal);
    `patterns`: how many distinct fraud patterns there are; `latent_dim`: the dimension of
    the normal payments' manifold."""
    if rows <= 0:
        raise ValueError("rows must be positive")
    if not 0.0 <= fraud_rate < 1.0:
        raise ValueError("fraud rate must be in [0, 1)")
    if not 0.0 <= overlap <= 1.0 or patterns < 1:
        raise ValueError("overlap must be in [0, 1] and patterns at least 1")
    # the "world" (manifold, fraud patterns) is identical for every seed
    shifts = _pattern_shifts(np.random.default_rng(12346), patterns)
    rng = np.random.default_rng(seed)

    n_fraud = round(rows * fraud_rate)
    if fraud_rate > 0 and n_fraud == 0:
        n_fraud = 1
    labels = np.zeros(rows, dtype=np.int64)
    labels[rng.choice(rows, size=n_fraud, replace=False)] = 1
    fraud = labels == 1

    v = _manifold(rng, rows, latent_dim)
    unusual = np.flatnonzero(~fraud & (rng.random(rows) < UNUSUAL_NORMAL_SHARE))
    columns = rng.integers(0, 28, size=(len(unusual), 2))
    for j in range(2):
        v[unusual, columns[:, j]] += (rng.choice([-1.0, 1.0], size=len(unusual))
                                      * UNUSUAL_SIZE * V_STD[columns[:, j]])
    if n_fraud:
        strength = rng.uniform(*STRENGTH_RANGE, size=n_fraud)
        camouflaged = rng.random(n_fraud) < overlap
        strength[camouflaged] = rng.uniform(0.0, 0.1, size=int(camouflaged.sum()))
        pattern = rng.integers(0, patterns, size=n_fraud)
        v[fraud] += strength[:, None] * shifts[pattern] * V_STD

    frame = pd.DataFrame(v, columns=list(V_COLUMNS))
    frame.insert(0, "Time", _times(rng, rows, fraud))
    frame["Amount"] = _amounts(rng, rows, fraud)
    frame["Class"] = labels
    return frame.sort_values("Time", kind="stable").reset_index(drop=True)


def _latent_points(rng: np.random.Generator, rows: int, mix: np.ndarray, bend: np.ndarray,
                   pairs: list[tuple[int, int]]) -> np.ndarray:
    """Points near a curved manifold: linear terms and products of heavy-tailed factors, plus
    noise."""
    z = rng.standard_t(LATENT_TAIL_DF, size=(rows, mix.shape[0]))
    bent = LATENT_CAP * np.tanh(z / LATENT_CAP)  # the curvature levels off far out
    products = np.stack([bent[:, i] * bent[:, j] for i, j in pairs], axis=1)
    return z @ mix + products @ bend + NOISE * rng.standard_t(df=5, size=(rows, 28))


@lru_cache(maxsize=4)
def _principal_axes(latent_dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, axes, scale) of the world's normal payments, from a fixed reference sample: the
    same rotation for every seed, so data sets of different seeds share their components."""
    mix, bend, pairs = _world(latent_dim)
    reference = _latent_points(np.random.default_rng(PCA_REFERENCE_SEED), PCA_REFERENCE_ROWS,
                               mix, bend, pairs)
    mean = reference.mean(axis=0)
    _, axes = np.linalg.eigh(np.cov(reference - mean, rowvar=False))
    axes = axes[:, ::-1]  # largest variance first, as V1 is
    return mean, axes, ((reference - mean) @ axes).std(axis=0)


def _world(latent_dim: int) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """The manifold's maps, identical for every seed."""
    structure = np.random.default_rng(12345)
    pairs = [(i, j) for i in range(latent_dim) for j in range(i, latent_dim)]
    mix = structure.normal(size=(latent_dim, 28)) / np.sqrt(latent_dim)
    bend = structure.normal(size=(len(pairs), 28)) * CURVATURE / np.sqrt(len(pairs))
    return mix, bend, pairs


def _manifold(rng: np.random.Generator, rows: int, latent_dim: int) -> np.ndarray:
    """Normal payments' components: points near the manifold rotated onto its principal axes
    and scaled to V_STD, so they are uncorrelated as after PCA."""
    mean, axes, scale = _principal_axes(latent_dim)
    points = _latent_points(rng, rows, *_world(latent_dim))
    return (points - mean) @ axes / scale * V_STD


def _pattern_shifts(structure: np.random.Generator, patterns: int) -> np.ndarray:
    """One shift vector per fraud pattern (in units of each component's std)."""
    candidates = np.asarray(FRAUD_COMPONENTS) - 1
    shifts = np.zeros((patterns, 28))
    for k in range(patterns):
        chosen = structure.choice(candidates, size=COMPONENTS_PER_PATTERN, replace=False)
        shifts[k, chosen] = (structure.choice([-1.0, 1.0], size=len(chosen))
                             * structure.uniform(*SHIFT_RANGE, size=len(chosen)))
    return shifts


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
    small_probe = rng.random(rows) < 0.6  # card testing: mostly small amounts
    fraud_amount = np.where(small_probe, rng.uniform(0.5, 10.0, size=rows),
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
    users = np.asarray(DEMO_USERS)[rng.integers(0, len(DEMO_USERS), size=len(frame))]
    values = frame[["Time", *V_COLUMNS, "Amount"]].to_numpy()
    labels = frame["Class"].to_numpy() if "Class" in frame else [None] * len(frame)
    lines = []
    for i, (row, stamp, user, label) in enumerate(zip(values, ts, users, labels, strict=True)):
        known = keep_labels and label is not None and label == label
        lines.append(raw_line(start_id + i, stamp, user, [_fmt(x) for x in row],
                              str(int(label)) if known else ""))
    return lines


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


def write_raw_csv(frame: pd.DataFrame, path: Path, seed: int = 0) -> None:
    path.write_text("\n".join(to_raw_lines(frame, seed=seed)) + "\n")
