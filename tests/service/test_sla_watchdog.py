"""The sync SLA never stalls or stops the thread that feeds systemd's watchdog (B1): its
tick makes no Salesforce call (counted on the emulator), keeps WATCHDOG=1 arriving over a
real datagram ``$NOTIFY_SOCKET`` while Salesforce stalls, and an error in it is logged,
never raised out of the supervise loop."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

from svc_rig import Rig
from svc_waiting import wait_until

from benchmarks.rig import NotifySocket
from service.config import SlaConfig
from service.inbox_backend import readers_of
from service.lifecycle import Notifier
from service.wiring import _supervise
from subscriber.inbox import Inbox


def _queries(rig: Rig) -> int:
    return int(rig.emulator.org.counters.snapshot()["by_kind"].get("query", 0))


def test_sla_ticks_call_no_salesforce_and_the_watchdog_outlives_a_stall(rig: Rig) -> None:
    org = rig.emulator.org
    rig.daemon(WATCHDOG_USEC="400000", LIFECYCLE_SYNC_SLA_CHECK_INTERVAL_S="0.2",
               LIFECYCLE_SYNC_SLA_PARKED_ERRORS_MAX="5",
               LIFECYCLE_SYNC_SCHEDULER_ENABLED="false")  # no job: every query is the SLA's
    notify = rig.notifies[-1]
    wait_until(lambda: notify.count("WATCHDOG=1") >= 2, 60, what="watchdog pings")
    before = _queries(rig)
    pings = notify.count("WATCHDOG=1")
    wait_until(lambda: notify.count("WATCHDOG=1") >= pings + 10, 30,
               what="10 more pings (about 10 SLA ticks)")
    assert _queries(rig) == before  # the SLA ticks asked Salesforce nothing
    org.faults.arm_preset("stall", stall_s=60)  # any call now hangs for a minute
    try:
        pings = notify.count("WATCHDOG=1")
        wait_until(lambda: notify.count("WATCHDOG=1") >= pings + 10, 30,
                   what="pings going on while Salesforce stalls")
    finally:
        org.faults.clear()
    assert rig.daemons[-1].terminate(20) == 0


class _Failing:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> float | None:
        self.calls += 1
        raise RuntimeError("the inbox is gone")


def test_an_error_judging_the_sla_does_not_stop_supervising(tmp_path: Path) -> None:
    from service.sla import SlaMonitor

    inbox = Inbox(tmp_path / "inbox.db")
    notify = NotifySocket(tmp_path / "notify")
    notifier = Notifier(str(notify.path))
    notifier.watchdog_interval_s = 0.02
    failing = _Failing()
    sla = SlaMonitor(SlaConfig(check_interval_s=0.01), failing, None, inbox)
    parts = SimpleNamespace(
        health=SimpleNamespace(apply_stuck=lambda: "", problems=lambda stuck=None: []),
        hooks=SimpleNamespace(alive=lambda: True, totals=lambda: {}), sla=sla,
        readers=readers_of(inbox))
    stop = threading.Event()
    loop = threading.Thread(target=_supervise, args=(stop, notifier, parts, inbox))
    loop.start()
    try:
        wait_until(lambda: failing.calls >= 3, 30, what="three failed SLA checks")
        pings = notify.count("WATCHDOG=1")
        wait_until(lambda: notify.count("WATCHDOG=1") >= pings + 3, 30,
                   what="pings after the failures")
        assert loop.is_alive()
    finally:
        stop.set()
        loop.join(10)
        inbox.close()
        notify.close()
