"""`fraudctl` works on the project the working directory is in, like dbt and Terraform: a copy
of the repository is validated as that copy, not as the installed checkout."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _fraudctl(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FRAUD_USER_KEY_SALT": "salt-for-tests"}
    return subprocess.run([sys.executable, "-m", "fraudctl.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)


def test_validate_in_a_copy_validates_that_copy(tmp_path):
    copy = tmp_path / "copy"
    for folder in ("ksql", "connect", "infra/environments"):
        shutil.copytree(REPO / folder, copy / folder)
    (copy / "ksql" / "broken.sql").write_text("CREATE STREAM {{ this }} AS SELECT * FROM "
                                              "{{ ref('nowhere') }};\n")
    inside = copy / "ksql"  # from a subfolder too: the project is found upwards
    result = _fraudctl(inside, "validate", "--env", "compose")
    assert result.returncode != 0
    assert "ksql/broken.sql:1: ref('nowhere') names no template" in result.stderr


def test_outside_any_project_the_error_says_where_it_looked(tmp_path):
    result = _fraudctl(tmp_path, "validate", "--env", "compose")
    assert result.returncode == 2
    assert f"neither {tmp_path.resolve()} nor a folder above it holds ksql/" in result.stderr
