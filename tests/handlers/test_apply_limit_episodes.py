"""REQUEST_LIMIT_EXCEEDED pauses, counted at the ApplyLoop: one Sentry alert and one WARNING
per episode, whatever the probes, a full disk or a cycle that was already in flight do; a
restart during a pause alerts once more (one alert per episode per process start, and says
the pause was recorded before it). See :mod:`service.api_limit_pause`."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from entry_builders import TRIAL, lifecycle_entry
from fake_org import FakeOrg

from handlers.errors import RequestLimited
from service.apply_loop import PAUSED_KEY, ApplyLoop, ApplySettings
from subscriber.errors import InboxFull
from subscriber.events import DecodedEvent, EntryKind
from subscriber.inbox import Inbox

T0 = 1_790_000_000_000
LIMIT = "REQUEST_LIMIT_EXCEEDED"
WAIT_S = 30.0


class LimitedOrg(FakeOrg):
    """Refuses every call while ``limited``; a ``slow-`` Workspace's lookup waits for
    ``release`` (a cycle in flight while another hits the limit)."""

    def __init__(self, limited: threading.Event, release: threading.Event) -> None:
        super().__init__()
        self.limited, self.release = limited, release
        self.entered = threading.Event()

    def lookup(self, request: Any) -> Any:
        if any(w.startswith("slow-") for w in request.workspace_ids):
            self.entered.set()
            assert self.release.wait(WAIT_S), "the test never released the slow cycle"
        elif self.limited.is_set():
            raise RequestLimited("REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.")
        return super().lookup(request)


class FullMetaInbox(Inbox):
    """The disk refuses the pause's status write (and only that one)."""

    def set_meta(self, key: str, value: str) -> None:
        if key == PAUSED_KEY:
            raise InboxFull("database or disk is full")
        super().set_meta(key, value)


def add(inbox: Inbox, *workspaces: str) -> None:
    entries = [lifecycle_entry("Trial", w, TRIAL, T0, email=f"o@{w}.co.uk") for w in workspaces]
    inbox.store_batch(entries[0].topic, [
        DecodedEvent(e.topic, e.replay_id, e.event_id, "s", EntryKind.EVENT, e.payload or {})
        for e in entries], entries[-1].replay_id)


class Rig:
    """An ApplyLoop on ``inbox`` over LimitedOrg gateways, counting its Sentry alerts."""

    def __init__(self, inbox: Inbox, gateways: int = 1, clock: Any = time.monotonic,
                 **settings: Any) -> None:
        self.limited, self.release = threading.Event(), threading.Event()
        self.orgs = [LimitedOrg(self.limited, self.release) for _ in range(gateways)]
        self.told: list[tuple[str, str]] = []
        self.loop = ApplyLoop(inbox, self.orgs, ApplySettings(**settings), clock=clock,
                              on_report=lambda cls, msg, tags: self.told.append((cls, msg)))

    def alerts(self) -> list[str]:
        return [msg for cls, msg in self.told if cls == LIMIT]


def warnings(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(text in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


def episode(rig: Rig, probes: int) -> None:
    """The limit is hit, ``probes`` more cycles are refused, then a cycle goes through."""
    rig.limited.set()
    for _ in range(1 + probes):
        assert rig.loop.run_once() is False
    rig.limited.clear()
    assert rig.loop.run_once() is True


def test_two_episodes_give_two_alerts_whatever_the_probes(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with Inbox(tmp_path / "inbox.db") as inbox, caplog.at_level(logging.WARNING):
        rig = Rig(inbox)
        add(inbox, "ep1")
        episode(rig, probes=3)
        assert inbox.meta(PAUSED_KEY) == "0"
        add(inbox, "ep2")
        episode(rig, probes=2)
    assert len(rig.alerts()) == 2, rig.told
    assert warnings(caplog, "applying paused") == 2
    assert warnings(caplog, "applying resumed") == 2


def test_a_full_disk_does_not_turn_each_probe_into_an_alert(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with FullMetaInbox(tmp_path / "inbox.db") as inbox, caplog.at_level(logging.WARNING):
        rig = Rig(inbox)
        add(inbox, "full1")
        episode(rig, probes=4)
    assert len(rig.alerts()) == 1, rig.told
    assert warnings(caplog, "applying paused") == 1
    assert warnings(caplog, "applying resumed") == 1


def test_a_cycle_in_flight_when_the_limit_hit_does_not_end_the_pause(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Two workers: the slow cycle is claimed first and still in Salesforce when the other
    hits the limit; it settling afterwards proves nothing about the limit."""
    now = [0.0]
    with Inbox(tmp_path / "inbox.db") as inbox, caplog.at_level(logging.WARNING):
        add(inbox, "slow-1", "limit-1")
        rig = Rig(inbox, gateways=2, clock=lambda: now[0], batch_size=1, limit_pause_s=30.0)
        rig.limited.set()
        stop = threading.Event()
        runner = threading.Thread(target=rig.loop.run, args=(stop,), daemon=True)
        runner.start()
        try:
            wait(lambda: rig.alerts() and any(o.entered.is_set() for o in rig.orgs), "both")
            rig.release.set()
            wait(lambda: rig.loop.cycles == 1, "the slow cycle to settle")
            assert inbox.meta(PAUSED_KEY) == "1", "the in-flight cycle ended the pause"
            assert warnings(caplog, "applying resumed") == 0
            rig.limited.clear()
            now[0] = 31.0  # the pause is over: the next claim is the probe
            rig.loop.wake()
            wait(lambda: rig.loop.cycles == 2, "the probe to go through")
        finally:
            stop.set()
            rig.release.set()
            rig.loop.wake()
            runner.join(WAIT_S)
        assert inbox.meta(PAUSED_KEY) == "0"
    assert len(rig.alerts()) == 1, rig.told
    assert warnings(caplog, "applying resumed") == 1


def test_a_restart_during_a_pause_alerts_once_and_says_the_pause_was_already_on(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with Inbox(tmp_path / "inbox.db") as inbox, caplog.at_level(logging.WARNING):
        add(inbox, "r1")
        first = Rig(inbox)
        first.limited.set()
        assert first.loop.run_once() is False
        assert inbox.meta(PAUSED_KEY) == "1"
        second = Rig(inbox)  # the restarted process, same inbox, the limit still spent
        episode(second, probes=2)
        assert inbox.meta(PAUSED_KEY) == "0"
    assert len(first.alerts()) == 1
    assert len(second.alerts()) == 1, second.told
    assert "already paused before this process started" in second.alerts()[0]
    assert warnings(caplog, "applying paused") == 2


def test_a_restart_after_the_limit_passed_clears_the_recorded_pause(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with Inbox(tmp_path / "inbox.db") as inbox, caplog.at_level(logging.WARNING):
        inbox.set_meta(PAUSED_KEY, "1")  # the last process stopped during a pause
        add(inbox, "after")
        rig = Rig(inbox)
        assert rig.loop.run_once() is True
        assert inbox.meta(PAUSED_KEY) == "0"
    assert rig.alerts() == []
    assert warnings(caplog, "applying resumed") == 1


def wait(predicate: Any, what: str) -> None:
    """Poll a condition with a deadline (no sleep as synchronisation)."""
    done = threading.Event()
    for _ in range(int(WAIT_S / 0.02)):
        if predicate():
            return
        done.wait(0.02)
    raise AssertionError(f"timed out waiting for {what}")
