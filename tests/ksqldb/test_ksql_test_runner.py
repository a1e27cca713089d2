"""The features and alerts statements in ksqlDB's own test runner (`ksql-test-runner`).

The runner ships in the ksqlDB server image; this test renders our templates, writes the
runner's input/output JSON, and runs it in Docker. Skipped where no Docker engine answers.
Expected values follow the contract and ksqlDB's documented functions (MASK_KEEP_RIGHT: upper
-> X, lower -> x, digit -> n, other -> -; the last N characters kept).
"""

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from stack_fixture import docker_available

from infra.topology.environment import load_environment
from infra.topology.render import render_project

REPO = Path(__file__).resolve().parents[2]
IMAGE = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["ksqldb"]["image"]
RAW = [
    '1,"2018-12-18T12:00:00Z","Kai",0,' + ",".join(f"{0.1 * i:.1f}" for i in range(1, 29))
    + ',149.62,"0"',
    '4,"2018-12-18T12:03:00Z","Hans",1,' + ",".join(f"{-0.2 * i:.1f}" for i in range(1, 29))
    + ",378.66,",
    '5,"2018-12-18T12:04:00Z","Flo",2,' + "0.5," * 27 + ',10.0,"1"',  # V28 missing
]


def mask_keep_right(text: str, keep: int) -> str:
    def mask(c: str) -> str:
        return "X" if c.isupper() else "x" if c.islower() else "n" if c.isdigit() else "-"
    return "".join(mask(c) for c in text[:-keep]) + text[-keep:]


def _expected_features(line: str) -> dict:
    fields = next(iter(__import__("csv").reader([line])))
    label = fields[-1] or None
    return {"topic": "transactions.features", "key": int(fields[0]), "value": {
        "USER_MASKED": mask_keep_right(fields[2], 2), "TS": fields[1],
        "AMOUNT": float(fields[32]), "CLASS": label,
        "FEATURES": [float(x) for x in fields[3:33]]}, "timestamp": 0}


@pytest.mark.docker
def test_features_stream_in_ksql_test_runner(tmp_path):
    why = docker_available()
    if why:
        pytest.skip(f"ksql-test-runner runs in the {IMAGE} image: {why}")
    env = load_environment(REPO, "compose", environ={}, discover_local=False)
    env.prefix = ""  # the runner's names: plain TRANSACTIONS_RAW etc.
    specs, errors = render_project(REPO, env, only="ksql")
    assert not errors
    by = {s.logical: s for s in specs}
    statements = "\n".join(by[n].text for n in ("transactions_raw", "transactions_features"))
    (tmp_path / "statements.sql").write_text(statements)
    (tmp_path / "input.json").write_text(json.dumps({"inputs": [
        {"topic": "transactions.raw", "key": None, "value": line, "timestamp": 0}
        for line in RAW]}))
    (tmp_path / "output.json").write_text(json.dumps({"outputs": [
        _expected_features(RAW[0]), _expected_features(RAW[1])]}))
    result = subprocess.run(
        ["docker", "run", "--rm", "-v", f"{tmp_path}:/tests", IMAGE, "ksql-test-runner",
         "-s", "/tests/statements.sql", "-i", "/tests/input.json", "-o", "/tests/output.json"],
        capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0 and "Test passed!" in result.stdout, (
        result.stdout[-3000:] + result.stderr[-3000:])
