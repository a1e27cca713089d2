"""The model artifact contract: an ONNX file, `features` float32 [N,30] in, `score` float32 [N] out.

`metadata_props` carry the model version (a content hash), the threshold, the feature names,
the training-data fingerprint and evaluation metrics. The version is the SHA-256 of the model
serialised without its own `model_version` entry, so a file that was changed after export no
longer matches its recorded version.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx

from core.contract import FEATURE_COUNT, FEATURE_NAMES
from core.errors import ArtifactError

INPUT_NAME = "features"
OUTPUT_NAME = "score"
META_VERSION = "model_version"
META_THRESHOLD = "threshold"
META_FEATURES = "feature_names"
META_DATA_FINGERPRINT = "training_data_fingerprint"
META_METRICS = "metrics"
REQUIRED_METADATA = (META_VERSION, META_THRESHOLD, META_FEATURES, META_DATA_FINGERPRINT,
                     META_METRICS)


def content_version(model: onnx.ModelProto) -> str:
    """The content hash of a model, ignoring its own `model_version` metadata entry."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    kept = [p for p in copy.metadata_props if p.key != META_VERSION]
    del copy.metadata_props[:]
    copy.metadata_props.extend(kept)
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()[:16]


def set_metadata(model: onnx.ModelProto, values: dict[str, str]) -> None:
    existing = {p.key: p for p in model.metadata_props}
    for key, value in values.items():
        if key in existing:
            existing[key].value = value
        else:
            model.metadata_props.add(key=key, value=value)


def stamp_version(model: onnx.ModelProto) -> str:
    """Compute and record the content hash; returns it."""
    version = content_version(model)
    set_metadata(model, {META_VERSION: version})
    return version


@dataclass(frozen=True)
class ModelInfo:
    """What the sidecar needs to know about a verified model file."""

    path: Path
    version: str
    threshold: float
    metadata: dict[str, str]
    model_bytes: bytes

    @property
    def metrics(self) -> dict[str, Any]:
        return json.loads(self.metadata.get(META_METRICS, "{}"))


def read_artifact(path: str | Path) -> ModelInfo:
    """Load a model file and check it against the contract; raise ArtifactError naming the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"cannot read model {path}: {exc.strerror}") from None
    try:
        model = onnx.load_from_string(data)
    except Exception as exc:
        raise ArtifactError(f"{path} is not a valid ONNX model: {exc}") from None
    metadata = {p.key: p.value for p in model.metadata_props}
    missing = [k for k in REQUIRED_METADATA if k not in metadata]
    if missing:
        raise ArtifactError(f"{path}: metadata_props lack {', '.join(missing)}")
    actual = content_version(model)
    if metadata[META_VERSION] != actual:
        raise ArtifactError(
            f"{path}: content hash {actual} does not match the recorded model_version "
            f"{metadata[META_VERSION]}; the file was changed after export or is corrupt")
    _check_signature(path, model)
    try:
        names = json.loads(metadata[META_FEATURES])
    except ValueError:
        raise ArtifactError(f"{path}: feature_names {metadata[META_FEATURES][:80]!r} is not "
                            "JSON (expected the list of the contract's 30 names)") from None
    if not isinstance(names, list) or tuple(names) != FEATURE_NAMES:
        raise ArtifactError(f"{path}: feature_names {names} differ from the contract order")
    try:
        threshold = float(metadata[META_THRESHOLD])
    except ValueError:
        threshold = math.nan
    if not math.isfinite(threshold):
        raise ArtifactError(f"{path}: threshold {metadata[META_THRESHOLD]!r} is not a finite "
                            "number")
    return ModelInfo(path, actual, threshold, metadata, data)


def _check_signature(path: Path, model: onnx.ModelProto) -> None:
    inputs = [i for i in model.graph.input
              if i.name not in {init.name for init in model.graph.initializer}]
    if len(inputs) != 1 or inputs[0].name != INPUT_NAME:
        raise ArtifactError(f"{path}: expected one input '{INPUT_NAME}', found "
                            f"{[i.name for i in inputs]}")
    tensor = inputs[0].type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
    if tensor.elem_type != onnx.TensorProto.FLOAT or len(dims) != 2 or dims[1] != FEATURE_COUNT:
        raise ArtifactError(f"{path}: input '{INPUT_NAME}' must be float32 [N,{FEATURE_COUNT}], "
                            f"found elem_type {tensor.elem_type} shape {dims}")
    outputs = [o.name for o in model.graph.output]
    if OUTPUT_NAME not in outputs:
        raise ArtifactError(f"{path}: expected an output '{OUTPUT_NAME}', found {outputs}")
