"""Detection metrics against independent definitions."""

import numpy as np

from training import metrics as m


def _data(seed=0, n=3000):
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.1).astype(int)
    scores = np.round(rng.normal(size=n) + labels * 1.2, 2)  # rounding makes ties
    return labels, scores


def test_roc_auc_equals_mann_whitney_probability():
    labels, scores = _data()
    pos, neg = scores[labels == 1], scores[labels == 0]
    greater = (pos[:, None] > neg[None, :]).mean()
    ties = (pos[:, None] == neg[None, :]).mean()
    assert abs(m.roc_auc(labels, scores) - (greater + 0.5 * ties)) < 1e-9


def test_average_precision_equals_mean_precision_at_each_positive():
    labels, scores = _data(1)
    scores = scores + np.arange(len(scores)) * 1e-9  # no ties: the textbook definition applies
    order = np.argsort(-scores)
    hits = labels[order]
    precision_at_k = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    expected = precision_at_k[hits == 1].mean()
    assert abs(m.average_precision(labels, scores) - expected) < 1e-9


def test_threshold_for_fpr_meets_the_target():
    rng = np.random.default_rng(2)
    normal = rng.lognormal(size=20_000)
    threshold = m.threshold_for_fpr(normal, 0.01)
    assert 0.009 <= (normal > threshold).mean() <= 0.01


def test_at_threshold_confusion_matrix():
    labels = np.array([0, 0, 1, 1, 0])
    scores = np.array([0.1, 0.9, 0.8, 0.2, 0.3])
    r = m.at_threshold(labels, scores, 0.5)
    assert (r["tp"], r["fp"], r["fn"], r["tn"]) == (1, 1, 1, 2)
    assert r["precision"] == 0.5 and r["recall"] == 0.5
