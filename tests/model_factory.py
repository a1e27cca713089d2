"""Small contract-conforming ONNX models built with onnx.helper, for sidecar tests.

score = mean(((x - mean) * scale)^2) over the 30 features: a real ONNX graph that onnxruntime
runs, with the metadata and content hash the sidecar checks. Different seeds give different
models (and versions).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from core.artifact import stamp_version
from core.contract import FEATURE_NAMES


def make_model(path: Path, seed: int = 0, threshold: float = 2.0) -> str:
    """Write a model file; returns its version."""
    rng = np.random.default_rng(seed)
    mean = rng.normal(scale=0.1, size=30).astype(np.float32)
    mean[0] = 80_000.0  # TIME
    mean[29] = 80.0  # AMOUNT
    scale = np.abs(rng.normal(loc=1.0, scale=0.1, size=30)).astype(np.float32)
    scale[0] = 1 / 50_000.0
    scale[29] = 1 / 250.0
    graph = helper.make_graph(
        [helper.make_node("Sub", ["features", "mean"], ["centered"]),
         helper.make_node("Mul", ["centered", "scale"], ["scaled"]),
         helper.make_node("Mul", ["scaled", "scaled"], ["squared"]),
         helper.make_node("ReduceMean", ["squared", "axes"], ["score"], keepdims=0)],
        "test_scorer",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 30])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N"])],
        [numpy_helper.from_array(mean, "mean"), numpy_helper.from_array(scale, "scale"),
         numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    for key, value in {"threshold": repr(threshold),
                       "feature_names": json.dumps(list(FEATURE_NAMES)),
                       "training_data_fingerprint": f"test-seed-{seed}",
                       "metrics": json.dumps({"test": {"roc_auc": 0.0}})}.items():
        model.metadata_props.add(key=key, value=value)
    version = stamp_version(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString(deterministic=True))
    return version
