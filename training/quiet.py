"""TensorFlow without its native start-up noise."""

from __future__ import annotations

import os


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and tf2onnx with the process's stderr muted: their native start-up
    lines (oneDNN, absl) bypass every log level. A failed import still raises as usual."""
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401
            import tf2onnx  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
