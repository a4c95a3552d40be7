"""Each Subscribe attempt runs its own watchdog thread: it is named for stack dumps (the
systemd watchdog's SIGABRT and pytest's timeout print every thread by name) and it ends with
the attempt, so a daemon that reconnects all day does not pile up threads."""

from __future__ import annotations

import threading

from subscriber.flow import Watchdog


def _watchdog_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "intake-watchdog"]


def test_the_watchdog_thread_is_named_and_ends_with_its_attempt() -> None:
    before = set(_watchdog_threads())
    expired: list[bool] = []
    with Watchdog(600.0, lambda: expired.append(True)):
        started = [t for t in _watchdog_threads() if t not in before]
        assert len(started) == 1
        assert started[0].daemon
    started[0].join(10.0)
    assert not started[0].is_alive()
    assert expired == []
