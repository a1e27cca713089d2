"""What the commands share: the options every project command takes (declared once), finding
the project, confirmation, and argument types. A bad value is a one-line usage error (argparse
adds the option's name and exits 2), never a traceback later on."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from core.errors import Refused, UsageError
from infra.topology.environment import Environment, load_environment


def project_options(env_default: str | None = "local",
                    env_help: str = "infra/environments/<env>.yaml") -> argparse.ArgumentParser:
    """A parent parser with `--env` and `--project`, for every command that works on a project."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--env", default=env_default, help=env_help)
    parent.add_argument("--project", help="the project's root (default: the nearest folder, "
                                          "from the working directory up, with ksql/ and "
                                          "infra/environments/)")
    return parent


def project_dir(args: argparse.Namespace) -> Path:
    """`--project`, else the project the working directory is in (as dbt and Terraform do)."""
    return Path(args.project).resolve() if getattr(args, "project", None) else find_project()


def find_project(start: Path | None = None) -> Path:
    """The nearest directory, from `start` (the working directory) up, that holds `ksql/` and
    `infra/environments/`; a usage error naming where it looked when there is none."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "ksql").is_dir() and (folder / "infra" / "environments").is_dir():
            return folder
    raise UsageError(f"no project here: neither {here} nor a folder above it holds ksql/ and "
                     "infra/environments/. cd into a checkout of the repository, or pass "
                     "--project PATH.")


def project_environment(args: argparse.Namespace) -> tuple[Path, Environment]:
    """The project of `--project` (or the working directory) and its environment `--env`."""
    project = project_dir(args)
    return project, load_environment(project, args.env)


def confirm(question: str, auto_approve: bool, what: str, flag: str = "--auto-approve") -> None:
    """Ask on a terminal; without one, refuse unless `flag` was given."""
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise Refused(f"refusing to {what} without confirmation: standard input is not a "
                      f"terminal. Pass {flag} to run it from scripts and CI.")
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise Refused(f"{what} cancelled; nothing was changed")


def _number(kind: type, text: str, what: str):
    try:
        return kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def whole(minimum: int = 1, maximum: int | None = None) -> Callable[[str], int]:
    """A whole number in [minimum, maximum]."""
    what = f"a whole number ≥ {minimum}" + (f" and ≤ {maximum}" if maximum is not None else "")

    def parse(text: str) -> int:
        value = _number(int, text, what)
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    return parse


def fraction(text: str) -> float:
    """A number strictly between 0 and 1 (a rate or a share)."""
    value = _number(float, text, "a number between 0 and 1")
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value


def share(text: str) -> float:
    """A number from 0 to 1, both included."""
    value = _number(float, text, "a number from 0 to 1")
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def non_negative(text: str) -> float:
    """A number ≥ 0 (0 has a meaning of its own, e.g. 'as fast as possible')."""
    value = _number(float, text, "a number ≥ 0")
    if not value >= 0.0:
        raise argparse.ArgumentTypeError(f"expected a number ≥ 0, got {text!r}")
    return value


def sizes(text: str) -> tuple[int, ...]:
    """Comma-separated layer sizes, e.g. 20,8,20."""
    parts = [p.strip() for p in text.split(",")]
    if not parts or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated whole numbers ≥ 1 such as 20,8,20, got {text!r}")
    return tuple(int(p) for p in parts)


def key_value(text: str) -> tuple[str, str]:
    """KEY=VALUE, e.g. a server property."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def setting(value: str | None, flag: str, variable: str, parse: Callable[[str], object]):
    """A value that came from a flag or its environment variable, checked with `parse`; the
    error names both, since the user may have set either."""
    if value is None:
        return None
    try:
        return parse(value)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"{flag} (or {variable}): {exc}") from None
