"""Export the score function to ONNX with tf2onnx, check parity with Keras, stamp metadata."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.artifact import (
    INPUT_NAME,
    META_DATA_FINGERPRINT,
    META_FEATURES,
    META_METRICS,
    META_THRESHOLD,
    OUTPUT_NAME,
    read_artifact,
    set_metadata,
    stamp_version,
)
from core.contract import FEATURE_NAMES
from core.errors import ArtifactError
from training.canonical import canonicalize

PARITY_TOLERANCE = 1e-4
PARITY_MIN_ROWS = 10_000
OPSET = 17


class ExportError(ArtifactError):
    """The exported model does not reproduce the Keras model."""


def parity_rows(features: np.ndarray, rows: int = PARITY_MIN_ROWS, seed: int = 0) -> np.ndarray:
    """At least `rows` rows for the parity check: the data, topped up with jittered copies."""
    rng = np.random.default_rng(seed)
    if len(features) >= rows:
        return features[rng.choice(len(features), rows, replace=False)].astype(np.float32)
    extra = features[rng.integers(0, len(features), rows - len(features))]
    jitter = rng.normal(scale=0.1, size=extra.shape) * features.std(axis=0)
    return np.vstack([features, extra + jitter]).astype(np.float32)


def export_onnx(score_function, out: Path, check_rows: np.ndarray, metadata: dict[str, str],
                threshold: float, fingerprint: str, metrics: dict,
                description: str = "Card-fraud score of raw features") -> dict[str, float | str]:
    """Write `out` (ONNX), verify it against `score_function`, return the parity figures."""
    import onnxruntime as ort
    import tf2onnx

    model_proto, _ = tf2onnx.convert.from_function(
        score_function, input_signature=score_function.input_signature, opset=OPSET)
    canonicalize(model_proto)
    model_proto.doc_string = description
    set_metadata(model_proto, {
        META_THRESHOLD: repr(float(threshold)),
        META_FEATURES: json.dumps(list(FEATURE_NAMES)),
        META_DATA_FINGERPRINT: fingerprint,
        META_METRICS: json.dumps(metrics, sort_keys=True),
        **metadata,
    })
    version = stamp_version(model_proto)

    try:
        session = ort.InferenceSession(model_proto.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ExportError(f"the converted model does not load in onnxruntime: {exc}") from None
    onnx_scores = session.run([OUTPUT_NAME], {INPUT_NAME: check_rows})[0]
    keras_scores = score_function(check_rows)[OUTPUT_NAME].numpy()
    diff = float(np.max(np.abs(onnx_scores - keras_scores)))
    # float32 arithmetic: the tolerance is absolute for scores up to 1, relative above
    relative = float(np.max(np.abs(onnx_scores - keras_scores)
                            / np.maximum(1.0, np.abs(keras_scores))))
    if not relative <= PARITY_TOLERANCE:
        raise ExportError(f"ONNX scores differ from Keras by up to {diff:.3g} ({relative:.3g} "
                          f"relative) on {len(check_rows)} rows (tolerance {PARITY_TOLERANCE:g}"
                          ", relative above 1); not exported")
    out.write_bytes(model_proto.SerializeToString(deterministic=True))
    read_artifact(out)  # the file on disk meets the contract the sidecar checks
    return {"model_version": version, "parity_rows": len(check_rows),
            "parity_max_abs_diff": diff, "parity_max_relative_diff": relative}
