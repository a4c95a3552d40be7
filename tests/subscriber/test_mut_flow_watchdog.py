"""Each Subscribe attempt runs its own watchdog thread, which ends with the attempt, so a
daemon that reconnects all day does not pile up threads. Its name ("intake-watchdog", for
stack dumps and JSON logs' thread field) is not pinned: no test pins a thread's name, and
each thread-name mutant is an accepted survivor in mutation-exclusions.txt."""

from __future__ import annotations

import threading

from subscriber.flow import Watchdog


def test_the_watchdog_thread_ends_with_its_attempt() -> None:
    before = set(threading.enumerate())
    expired: list[bool] = []
    with Watchdog(600.0, lambda: expired.append(True)) as watchdog:
        # The watchdog's own thread: among the threads started since, the one whose target is
        # bound to this watchdog (another test's leftover thread may start in the same window).
        started = [t for t in threading.enumerate() if t not in before
                   and getattr(getattr(t, "_target", None), "__self__", None) is watchdog]
        assert len(started) == 1
        assert started[0].daemon
    started[0].join(10.0)
    assert not started[0].is_alive()
    assert expired == []
