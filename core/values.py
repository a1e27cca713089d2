"""Parsers for values that arrive as text (command-line flags, environment variables): each
names what is allowed, so a bad value is a one-line error, never a traceback later on. They
raise `argparse.ArgumentTypeError`, which argparse reports with the option's name (exit 2)."""

from __future__ import annotations

import argparse
from collections.abc import Callable


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
