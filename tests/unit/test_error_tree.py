"""The error tree (core/errors.py): one root, a branch per kind of failure; every other error
class of the project hangs under a branch, so `except ServerError` means what it says."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core import errors

REPO = Path(__file__).resolve().parents[2]
BRANCHES = {"UsageError", "ConfigError", "Refused", "TemplateError", "ServerError", "StackError",
            "ContractError", "DataError", "ArtifactError", "CheckFailed"}


def test_every_branch_is_a_fraud_error_and_documented():
    for name in BRANCHES:
        branch = getattr(errors, name)
        assert branch.__bases__ == (errors.FraudError,), name
        assert name in errors.__doc__, f"{name} is missing from the tree in the docstring"


def test_no_error_class_outside_core_hangs_on_the_root():
    offenders = []
    for path in REPO.glob("*/**/*.py"):
        if path.parts[len(REPO.parts)] in (".venv", "tests") or path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                    getattr(base, "id", None) in ("FraudError", "Exception")
                    for base in node.bases):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}")
    # private control-flow exceptions of one module are not errors an operator sees
    offenders = [o for o in offenders if " _" not in o]
    assert not offenders, "subclass a branch of core.errors instead:\n" + "\n".join(offenders)


def test_template_errors_name_file_and_line():
    error = errors.TemplateError(Path("ksql/x.sql"), 3, "names no template")
    assert str(error) == "ksql/x.sql:3: names no template"
    assert (error.file, error.line) == (Path("ksql/x.sql"), 3)
    with pytest.raises(errors.FraudError):
        raise error


def test_usage_errors_exit_2_and_the_others_1():
    assert errors.UsageError.exit_code == 2
    assert {getattr(errors, b).exit_code for b in BRANCHES - {"UsageError"}} == {1}
