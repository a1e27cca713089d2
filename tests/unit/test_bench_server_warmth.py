"""The bench's line about how warm the measured servers are, read from real processes' /proc."""

import os
import subprocess
import sys
import time

import pytest

from fraudctl.tasks import bench_e2e
from fraudctl.tasks.bench_e2e import process_age_seconds, server_warmth


@pytest.fixture
def child():
    """A process started now that burns a little CPU, then waits."""
    proc = subprocess.Popen([sys.executable, "-c",
                             "import time\nt = time.process_time()\n"
                             "while time.process_time() - t < 0.3: pass\ntime.sleep(60)"])
    time.sleep(1.0)
    yield proc
    proc.kill()
    proc.wait()


def test_age_is_read_from_proc(child):
    age = process_age_seconds(child.pid)
    assert age is not None and 0.5 < age < 30
    assert process_age_seconds(None) is None


def test_a_young_ksqldb_is_called_cold(child):
    line = server_warmth({"kafka": os.getpid(), "ksqldb": child.pid})
    assert line is not None and line.startswith("servers: kafka up ")
    assert "ksqldb up 0.0 min, 0 CPU s so far" in line
    assert "still warming up" in line


def test_a_ksqldb_past_the_threshold_is_not(child, monkeypatch):
    monkeypatch.setattr(bench_e2e, "COLD_KSQLDB_CPU_SECONDS", 0.1)
    line = server_warmth({"ksqldb": child.pid})
    assert line is not None and "ksqldb up" in line and "warming" not in line


def test_no_line_without_a_known_server():
    assert server_warmth({"kafka": None, "ksqldb": None}) is None
