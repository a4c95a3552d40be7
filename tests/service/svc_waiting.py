"""Poll a condition against a deadline: the only way tests here wait for anything."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T], timeout_s: float, interval_s: float = 0.02, what: str = ""
) -> T:
    """Return the first truthy value of ``predicate()``; fail the test after ``timeout_s``.

    The poll interval is not synchronisation: correctness never depends on it, only how
    quickly a satisfied condition is noticed.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what or predicate}")
        time.sleep(interval_s)
