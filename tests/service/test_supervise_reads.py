"""The main loop reads the whole inbox once per tick (the STATUS= line's counts), not three
times: readiness and the stuck check ask for the oldest pending entry, one indexed row. An
idle daemon with a large inbox spent ~3 % CPU on the extra counts."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from types import SimpleNamespace

from svc_waiting import wait_until

from benchmarks.rig import NotifySocket
from service.health import Health
from service.lifecycle import Notifier
from service.wiring import _supervise
from subscriber.events import TopicCounts
from subscriber.inbox import Inbox

TOPIC = "/event/SelfServeTrialEvent__e"


class CountingInbox(Inbox):
    """A real SQLite inbox that counts whole-inbox counts."""

    counts = 0

    def counts_by_topic(self) -> dict[str, TopicCounts]:
        self.counts += 1
        return super().counts_by_topic()


class Ticks:
    """The SLA monitor's place in the loop: counts the loop's turns."""

    interval_s = 0.02

    def __init__(self) -> None:
        self.n = 0

    def tick(self) -> None:
        self.n += 1


def test_one_whole_inbox_count_per_tick_even_when_apply_looks_stuck(tmp_path: Path) -> None:
    inbox = CountingInbox(tmp_path / "inbox.db")
    readers = lambda: contextlib.nullcontext(inbox)  # noqa: E731 - the PostgreSQL form
    # stuck_after_s=0 and no cycle ever: every tick asks how old the oldest pending entry is.
    health = Health([TOPIC], readers, SimpleNamespace(cycles=0, waiting_by_design=lambda: False),
                    lambda: True, stuck_after_s=0.0)
    notify = NotifySocket(tmp_path / "notify")
    notifier = Notifier(str(notify.path))
    notifier.watchdog_interval_s = 0.02
    ticks = Ticks()
    parts = SimpleNamespace(health=health, sla=ticks, readers=readers,
                            hooks=SimpleNamespace(alive=lambda: True, totals=lambda: {}))
    stop = threading.Event()
    loop = threading.Thread(target=_supervise, args=(stop, notifier, parts, inbox))
    loop.start()
    try:
        wait_until(lambda: ticks.n >= 5, 30, what="five ticks")
    finally:
        stop.set()
        loop.join(10)
        notify.close()
        inbox.close()
    assert not loop.is_alive()
    assert inbox.counts == ticks.n  # was: 3 per tick
