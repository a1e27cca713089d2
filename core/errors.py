"""The project's errors: one root, one branch per kind of failure.

Every error here is expected and meant for an operator: the CLI prints its message without a
stack trace and exits with its `exit_code`. Each branch names what failed in its attributes as
well as in its message, so callers and tests need not parse text::

    FraudError                 root; exit code 1
    ├── UsageError             a command-line option or setting it does not allow (exit code 2)
    ├── ConfigError            an environment file or a secret it names (file)
    ├── Refused                a destructive change that was not allowed or not confirmed
    ├── TemplateError          a topology template: rendering, ref(), validation (file, line)
    ├── ServerError            Kafka, Connect, ksqlDB or Maven refused or did not answer (url)
    ├── StackError             a process of the local stack (port taken, exited, not ready)
    ├── ContractError          a message that breaks the message contract (reason, field)
    ├── DataError              an input data file (path, line, column)
    ├── ArtifactError          a model file (path)
    └── CheckFailed            a run finished, but its results are not what was expected

Modules subclass a branch to add detail (`rest.UncertainOutcome` is a `ServerError`).
"""

from __future__ import annotations

from pathlib import Path


class FraudError(Exception):
    """An expected failure with a message that says what went wrong and what to do."""

    exit_code = 1


class UsageError(FraudError):
    """A command-line option, or the setting that stands in for it, with a value it does not
    allow."""

    exit_code = 2


class ConfigError(FraudError):
    """A broken environment file, or a secret it names that is missing or too short."""


class Refused(FraudError):
    """A destructive change that was not allowed (`--allow-...`) or not confirmed: nothing was
    changed."""


class TemplateError(FraudError):
    """A problem located in a topology template (`file`, and `line` when known)."""

    def __init__(self, file: Path | str | None, line: int | None, message: str) -> None:
        self.file = Path(file) if file is not None else None
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.file is None:
            return self.message
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.message}"


class ServerError(FraudError):
    """A server answered with an error (`status`, `body`), or could not be reached (`url`)."""

    def __init__(self, message: str, *, status: int | None = None, body: object = None,
                 url: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.url = url


class StackError(FraudError):
    """A process of the local stack could not be started, or stopped being ready."""


class ContractError(FraudError):
    """A message that breaks the message contract: `reason` is a short code, `detail` the field
    or value at fault (dead letters carry both)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class DataError(FraudError):
    """An input data file that cannot be used; the message names file, line and column."""


class ArtifactError(FraudError):
    """A model file that does not meet the model-artifact contract."""


class CheckFailed(FraudError):
    """A run did not reach the result it checks for: the demo's counts, a benchmark's backlog."""
