"""Load, check and hot-swap ONNX models between micro-batches.

`--model` is a file, or a directory holding either a `current` pointer (a symlink, or a text file
naming a file relative to the directory) or a single `model.onnx`. A new file is loaded and
checked (contract signature, metadata, content hash, a test inference) before it replaces the
serving one; a model that fails any check is refused and the old one keeps serving.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.artifact import (
    INPUT_NAME,
    OUTPUT_NAME,
    ArtifactError,
    ModelInfo,
    read_artifact,
)
from core.contract import FEATURE_COUNT

log = logging.getLogger("udf_server.model")
POINTER = "current"


def resolve_model_path(location: str | Path) -> Path:
    """The model file a location points at now (follows the `current` pointer)."""
    location = Path(location)
    if not location.is_dir():
        return location
    pointer = location / POINTER
    if pointer.is_symlink():
        target = pointer.resolve()
    elif pointer.is_file():
        target = (location / pointer.read_text().strip()).resolve()
    elif (location / "model.onnx").exists():
        return location / "model.onnx"
    else:
        raise ArtifactError(
            f"{location}: no '{POINTER}' pointer and no model.onnx yet; the sidecar waits for "
            f"one: run `fraudctl model promote --model path/to/model.onnx --dir {location}` "
            "(it notices within a second)")
    return target / "model.onnx" if target.is_dir() else target


@dataclass(frozen=True)
class LoadedModel:
    """A checked model with its onnxruntime session."""

    info: ModelInfo
    session: object
    stamp: tuple

    @property
    def version(self) -> str:
        return self.info.version

    @property
    def threshold(self) -> float:
        return self.info.threshold

    def score(self, features: np.ndarray) -> np.ndarray:
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: features})[0]


def _stamp(path: Path) -> tuple:
    st = path.stat()
    return (str(path), st.st_ino, st.st_size, st.st_mtime_ns)


def load_model(location: str | Path, threads: int = 1) -> LoadedModel:
    """Load and check the model at `location`; raise ArtifactError saying what is wrong."""
    import onnxruntime as ort

    path = resolve_model_path(location)
    try:
        stamp = _stamp(path)
    except FileNotFoundError:
        raise ArtifactError(f"model file {path} does not exist") from None
    info = read_artifact(path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(info.model_bytes, options,
                                       providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ArtifactError(f"{path}: onnxruntime cannot load it: {exc}") from None
    probe = np.random.default_rng(0).normal(size=(8, FEATURE_COUNT)).astype(np.float32)
    probe[:, 0] = np.abs(probe[:, 0]) * 3600
    try:
        out = session.run([OUTPUT_NAME], {INPUT_NAME: probe})[0]
    except Exception as exc:
        raise ArtifactError(f"{path}: test inference failed: {exc}") from None
    if out.shape != (8,) or not np.all(np.isfinite(out)):
        raise ArtifactError(f"{path}: test inference gave shape {out.shape} or non-finite "
                            "scores; expected 8 finite scores")
    return LoadedModel(info, session, stamp)


class ModelSlot:
    """One serving role (champion or shadow): the current model and its reload policy."""

    def __init__(self, location: str | Path, role: str, check_interval: float = 1.0,
                 threads: int = 1, on_event=None) -> None:
        self.location = Path(location)
        self.role = role
        self.check_interval = check_interval
        self.threads = threads
        self.on_event = on_event or (lambda *a, **k: None)
        self.current: LoadedModel | None = None
        self._next_check = 0.0
        self._rejected_stamp: tuple | None = None  # the file last refused by maybe_reload
        self._startup_error: str | None = None  # the last start-up failure already logged

    def load_initial(self) -> LoadedModel:
        self.current = load_model(self.location, self.threads)
        self.on_event("loaded", self.role, self.current.version, None)
        return self.current

    def try_initial(self) -> bool:
        """For start-up without a model yet: True once a model is loaded."""
        try:
            self.load_initial()
        except ArtifactError as exc:
            if self._startup_error != str(exc):
                log.warning("no usable %s model yet: %s", self.role, exc)
                self._startup_error = str(exc)
            return False
        return True

    def maybe_reload(self, now: float | None = None) -> bool:
        """Between batches: swap in a changed model if it passes the checks. True if swapped."""
        now = time.monotonic() if now is None else now
        if now < self._next_check or self.current is None:
            return False
        self._next_check = now + self.check_interval
        try:
            path = resolve_model_path(self.location)
            stamp = _stamp(path)
        except (OSError, ArtifactError):
            return False  # pointer being swapped or file missing: keep serving, look again
        if stamp == self.current.stamp or stamp == self._rejected_stamp:
            return False
        try:
            candidate = load_model(self.location, self.threads)
        except ArtifactError as exc:
            self._rejected_stamp = stamp
            log.error("refused new %s model %s, still serving %s: %s", self.role, path,
                      self.current.version, exc)
            self.on_event("rejected", self.role, self.current.version, str(exc))
            return False
        old = self.current.version
        self.current = candidate
        log.info("%s model swapped %s -> %s", self.role, old, candidate.version)
        self.on_event("swapped", self.role, candidate.version, old)
        return True


def promote(model_file: str | Path, model_dir: str | Path) -> str:
    """Copy a checked model into `model_dir/versions/` and atomically point `current` at it."""
    info = read_artifact(model_file)
    model_dir = Path(model_dir)
    versions = model_dir / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    target = versions / f"{info.version}.onnx"
    if not target.exists():
        tmp = target.with_suffix(".onnx.tmp")
        shutil.copyfile(model_file, tmp)
        os.replace(tmp, target)
    card = Path(model_file).with_name("model_card.json")
    if card.exists():
        shutil.copyfile(card, versions / f"{info.version}.card.json")
    link = model_dir / f".{POINTER}.tmp"
    link.unlink(missing_ok=True)
    link.symlink_to(Path("versions") / target.name)
    os.replace(link, model_dir / POINTER)
    return info.version
