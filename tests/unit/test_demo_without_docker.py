"""`make demo`'s entry point where no Docker engine answers: a clear word, exit 2."""

import subprocess
import sys
from pathlib import Path

import pytest

from infra.demo import docker_problem

REPO = Path(__file__).resolve().parents[2]


def test_demo_says_what_is_missing_and_what_to_do():
    why = docker_problem()
    if why is None:
        pytest.skip("Docker answers here: the demo would really run")
    result = subprocess.run([sys.executable, "-m", "infra.cli", "demo"], cwd=REPO,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert why in result.stderr
    assert "ksqlDB is" in result.stderr and "--env" in result.stderr
    assert "fraudctl local up" in result.stderr
