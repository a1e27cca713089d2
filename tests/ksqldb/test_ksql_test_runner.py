"""The features statement in ksqlDB's own test runner (`ksql-test-runner`).

This test renders our templates, writes the runner's input/output JSON, and runs the runner
from the jars the local stack resolves (io.confluent.ksql:ksqldb-functional-tests), or in the
ksqlDB image where a Docker engine answers. Skipped, with the reason, where neither exists.
Expected values follow the contract and ksqlDB's documented functions (MASK_KEEP_RIGHT: upper
-> X, lower -> x, digit -> n, other -> -; the last N characters kept).
"""

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from stack_fixture import docker_available

from infra.local.jars import KsqlDbUnavailable, fetch_ksqldb
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


SALT = "runner-salt-1"


def _expected_features(line: str) -> dict:
    """What the contract says the features stream writes for one raw line: the user's key is
    the MD5 of salt and user ID (hex), the label is not carried."""
    fields = next(iter(__import__("csv").reader([line])))
    return {"topic": "transactions.features", "key": int(fields[0]), "value": {
        "USER_KEY": hashlib.md5((SALT + fields[2]).encode()).hexdigest(),
        "USER_MASKED": mask_keep_right(fields[2], 2), "TS": fields[1],
        "AMOUNT": float(fields[32]),
        "FEATURES": [float(x) for x in fields[3:33]]}, "timestamp": 0}


def _runner_command(folder: Path) -> list[str]:
    """The test runner from the resolved jars, else from the ksqlDB image; skip if neither."""
    args = ["-s", "statements.sql", "-i", "input.json", "-o", "output.json"]
    try:
        dist = fetch_ksqldb(quiet=True)
    except KsqlDbUnavailable as exc:
        why = docker_available()
        if why:
            pytest.skip(f"no ksql-test-runner: {exc} Docker: {why}")
        return ["docker", "run", "--rm", "-v", f"{folder}:/tests", "-w", "/tests", IMAGE,
                "ksql-test-runner", *args]
    return ["java", "-Xmx768m", "-cp", dist.classpath,
            "io.confluent.ksql.test.tools.KsqlTestingTool", *args]


@pytest.mark.ksqldb
def test_features_stream_in_ksql_test_runner(tmp_path):
    command = _runner_command(tmp_path)
    env = load_environment(REPO, "compose", environ={"FRAUD_USER_KEY_SALT": SALT},
                           discover_local=False)
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
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                            check=False)
    assert result.returncode == 0 and "Test passed!" in result.stdout, (
        result.stdout[-3000:] + result.stderr[-3000:])
