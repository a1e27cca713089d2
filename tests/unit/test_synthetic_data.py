"""The synthetic generator's knobs do what they say, measured with the baselines themselves."""

import numpy as np
import pytest

from core.contract import KAGGLE_COLUMNS
from training import metrics as m
from training.baselines import Mahalanobis
from training.synth import synthesize

ROWS = 40_000


def _mahalanobis_auc(**knobs) -> float:
    frame = synthesize(ROWS, 0.02, seed=5, **knobs)
    x = frame[list(KAGGLE_COLUMNS[:-1])].to_numpy()
    y = frame["Class"].to_numpy()
    fit = np.random.default_rng(0).random(len(x)) < 0.5
    scores = Mahalanobis.fit(x[fit & (y == 0)]).score(x[~fit])
    return m.roc_auc(y[~fit], scores)


def test_more_overlap_makes_frauds_harder_to_tell_apart():
    clear, default, camouflaged = (_mahalanobis_auc(overlap=o) for o in (0.0, 0.2, 0.8))
    assert clear > default > camouflaged
    assert camouflaged < 0.9 < clear


def test_schema_rates_and_small_fraud_amounts():
    frame = synthesize(ROWS, 0.02, seed=1, patterns=4)
    assert list(frame.columns) == list(KAGGLE_COLUMNS)
    assert frame["Class"].sum() == round(ROWS * 0.02)
    fraud, normal = frame[frame["Class"] == 1], frame[frame["Class"] == 0]
    assert fraud["Amount"].median() < normal["Amount"].median()
    assert normal["Amount"].max() > 20 * normal["Amount"].median()  # heavy-tailed


@pytest.mark.parametrize("knobs", [{"overlap": 1.5}, {"patterns": 0}])
def test_knobs_out_of_range_are_refused(knobs):
    with pytest.raises(ValueError):
        synthesize(100, 0.01, **knobs)
