"""What the commands share: the options every project command takes (declared once), finding
the project, and confirmation. The argument types are `core.values`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.errors import Refused, UsageError
from infra.topology.environment import Environment, Secrets, load_environment


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


#: the secrets of every environment this process loaded: `mask_loaded` hides them in any text
_LOADED: list[Secrets] = []


def project_environment(args: argparse.Namespace) -> tuple[Path, Environment]:
    """The project of `--project` (or the working directory) and its environment `--env`."""
    project = project_dir(args)
    env = load_environment(project, args.env)
    _LOADED.append(env.secrets)
    return project, env


def mask_loaded(text: str) -> str:
    """`text` with every secret of the environments loaded so far hidden (errors the CLI
    prints: no server's message may carry a password out)."""
    for secrets in _LOADED:
        text = secrets.mask(text)
    return text


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
