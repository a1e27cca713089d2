"""`fraudctl demo`'s choices before anything starts: compose needs Docker, said clearly."""

import subprocess
import sys
from pathlib import Path

import pytest

from fraudctl.tasks.demo import docker_problem

REPO = Path(__file__).resolve().parents[2]


def test_demo_on_compose_without_docker_says_why_and_what_to_do():
    why = docker_problem()
    if why is None:
        pytest.skip("Docker answers here: the compose demo would really run")
    result = subprocess.run([sys.executable, "-m", "fraudctl.cli", "demo", "--env", "compose"],
                            cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert why in result.stderr and "local stack" in result.stderr
    assert "Traceback" not in result.stderr
