"""Build small template projects in a temporary directory for topology tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml


def make_project(root: Path, ksql: dict[str, str] | None = None,
                 connect: dict[str, str] | None = None, env: dict | None = None,
                 env_name: str = "test") -> Path:
    (root / "ksql").mkdir(parents=True, exist_ok=True)
    (root / "connect").mkdir(parents=True, exist_ok=True)
    (root / "infra" / "environments").mkdir(parents=True, exist_ok=True)
    for name, text in (ksql or {}).items():
        (root / "ksql" / f"{name}.sql").write_text(textwrap.dedent(text).lstrip())
    for name, text in (connect or {}).items():
        (root / "connect" / f"{name}.json").write_text(textwrap.dedent(text).lstrip())
    spec = env or {"prefix": "t_", "servers": {}, "vars": {"topic": "in", "partitions": 1}}
    (root / "infra" / "environments" / f"{env_name}.yaml").write_text(yaml.safe_dump(spec))
    return root


SOURCE = """
    CREATE STREAM {{ this }} (ID BIGINT KEY, V DOUBLE)
      WITH (KAFKA_TOPIC='{{ var("topic") }}', VALUE_FORMAT='JSON',
            PARTITIONS={{ var("partitions") }});
"""
FILTERED = """
    CREATE STREAM {{ this }} AS SELECT ID, V FROM {{ ref('source') }} WHERE V > 0 EMIT CHANGES;
"""
COUNTS = """
    CREATE TABLE {{ this }} AS SELECT ID, COUNT(*) AS N FROM {{ ref('filtered') }}
      WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY ID EMIT CHANGES;
"""


def copy_repo_project(root: Path, tag: str, servers: dict, files: dict | None = None,
                      base_env: str = "local", env_name: str = "it",
                      guarantee: str | None = None) -> dict:
    """The repository's ksql/ and connect/ templates in `root`, with an environment `env_name`
    whose prefix and topic names carry `tag` (so tests never meet each other's objects), and
    the `guarantee` (delivery_guarantee) where given. Returns the environment's mapping as
    written."""
    import shutil

    repo = Path(__file__).resolve().parent.parent
    (root / "infra" / "environments").mkdir(parents=True, exist_ok=True)
    shutil.copytree(repo / "ksql", root / "ksql")
    shutil.copytree(repo / "connect", root / "connect")
    spec = yaml.safe_load((repo / "infra" / "environments" / f"{base_env}.yaml").read_text())
    spec["prefix"] = f"it{tag}_"
    spec["servers"] = servers
    if "schema_registry" not in servers:  # the sidecar's topics in plain JSON without one
        spec["vars"]["value_format"] = "JSON"
    spec["vars"]["topics"] = {k: f"{v}.{tag}" for k, v in spec["vars"]["topics"].items()}
    if files:
        spec["vars"]["files"] = files
    if guarantee:
        spec["delivery_guarantee"] = guarantee
    (root / "infra" / "environments" / f"{env_name}.yaml").write_text(yaml.safe_dump(spec))
    return spec


def run_fraudctl(root: Path, *args: str, env_name: str = "it", timeout: float = 600):
    """`fraudctl ARGS --env ENV --project ROOT` as an operator runs it: no terminal, and no
    endpoint overrides leaking in from the test's own environment."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("KSQLDB_URL", "CONNECT_URL")}
    return subprocess.run([sys.executable, "-m", "fraudctl.cli", *args, "--env", env_name,
                           "--project", str(root)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env=env, timeout=timeout, check=False)
