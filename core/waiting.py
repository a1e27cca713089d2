"""One way to wait for something: poll a check until it gives an answer or a deadline passes.

`wait_until(check, timeout, every=..., timed_out=...)` calls `check()` every `every` seconds;
the first answer that is not None (or False) is returned. The check raises to give up at once
(a process that exited, a query in ERROR). At the deadline `timed_out()` makes the error to
raise, so each caller names what it waited for and what it last saw."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from core.errors import FraudError

T = TypeVar("T")


def wait_until(check: Callable[[], T | None], timeout: float, *, every: float = 0.5,
               timed_out: Callable[[], FraudError]) -> T:
    """The first answer of `check` that is neither None nor False; `timed_out()` is raised
    once `timeout` seconds have passed without one (the check runs at least once)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer is not None and answer is not False:
            return answer
        if time.monotonic() >= deadline:
            raise timed_out()
        time.sleep(every)
