"""`fraudctl ARGS` in a subprocess, as a user runs it (TensorFlow's own log lines off)."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "fraudctl.cli", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, check=False)
