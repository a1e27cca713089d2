"""Errors an operator is meant to read: the CLI prints them without a stack trace."""


class FraudctlError(Exception):
    """An expected failure with a message that says what went wrong and what to do."""

    exit_code = 1


class UsageError(FraudctlError):
    """A command-line option or setting with a value it does not allow (exit code 2)."""

    exit_code = 2
