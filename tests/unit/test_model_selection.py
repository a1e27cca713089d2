"""The choice among candidates weighs AP, ROC AUC and recall at the operating point together;
nothing below the original network's ROC AUC ships."""

from training.selection import ORIGINAL, Trial, ValidationFigures, choose, reason


def _trial(name, ap, auc, recall, seconds=1.0):
    trial = Trial(name, score_function=None, seconds=seconds, val_loss=0.1, epochs_run=3)
    trial.figures = ValidationFigures(ap, auc, recall, fpr=0.01, prevalence=0.002)
    return trial


def test_the_choice_gives_up_no_figure_for_another():
    # the issue's own validation figures (recall invented around them): picking by AP alone
    # took the first; the balanced choice takes the one close to the best on all three
    trials = [_trial(ORIGINAL, 0.256, 0.952, 0.70),
              _trial("32-16-8-16-32 elu", 0.620, 0.960, 0.78),
              _trial("32-16-8-16-32 elu + Mahalanobis", 0.600, 0.967, 0.86),
              _trial("24-12-6-12-24 elu", 0.601, 0.948, 0.80)]
    chosen = choose(trials)
    assert chosen.name == "32-16-8-16-32 elu + Mahalanobis"
    assert not trials[3].shippable, "below the original network's ROC AUC"
    assert all(t.shippable for t in trials[:3])
    assert chosen.shortfall < trials[1].shortfall
    text = reason(chosen, trials)
    assert "3 shippable of 4 judged (1 below the original" in text and "0.9670" in text


def test_a_best_in_one_figure_that_is_far_behind_in_another_loses():
    trials = [_trial(ORIGINAL, 0.30, 0.950, 0.60),
              _trial("high AP, poor recall", 0.70, 0.955, 0.62),
              _trial("good at all three", 0.62, 0.965, 0.85)]
    assert choose(trials).name == "good at all three"
    assert trials[2].row(True)["worst_shortfall"] == trials[2].shortfall


def test_without_labels_the_lowest_validation_loss_wins():
    plain = Trial("a", None, 1.0, 0.05, 3)
    other = Trial("b", None, 1.0, 0.09, 3)
    assert choose([other, plain]) is plain
    assert "no frauds and normals" in reason(plain, [other, plain])
