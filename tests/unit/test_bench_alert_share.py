"""The end-to-end bench's storm model: the same network, a threshold that flags a chosen share."""

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from model_factory import make_model

from core.artifact import read_artifact
from core.contract import KAGGLE_COLUMNS
from fraudctl.tasks.bench_e2e import with_alert_share
from training.synth import synthesize, write_kaggle_csv


@pytest.mark.parametrize("share", [0.67, 0.05])
def test_the_moved_threshold_flags_the_share_asked_for(tmp_path, share):
    model, data = tmp_path / "model.onnx", tmp_path / "data.csv"
    make_model(model, seed=2)
    write_kaggle_csv(synthesize(3000, 0.01, seed=4), data)
    moved = read_artifact(with_alert_share(model, data, share, tmp_path))
    assert moved.threshold != read_artifact(model).threshold
    features = pd.read_csv(data)[list(KAGGLE_COLUMNS[:-1])].to_numpy(np.float32)
    scores = ort.InferenceSession(str(moved.path)).run(None, {"features": features})[0]
    assert (scores > moved.threshold).mean() == pytest.approx(share, abs=0.01)
