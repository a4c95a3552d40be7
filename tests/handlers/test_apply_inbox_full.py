"""The apply loop when the disk refuses the inbox write that marks a cycle done (R13): the
loop holds its cycles back and goes on (it used to stop, and the daemon exited 1); the
cycle's Salesforce writes repeat as no-ops once there is room."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pytest
from entry_builders import TRIAL, lifecycle_entry
from fake_org import FakeOrg

from handlers.errors import GatewayError, RequestLimited, TransientError
from handlers.lookup import LookupRequest
from handlers.snapshot import Snapshot
from service.apply_loop import ApplyLoop, ApplySettings
from subscriber.errors import InboxFull
from subscriber.events import DecodedEvent, EntryKind, EntryStatus
from subscriber.inbox import Inbox

T0 = 1_790_000_000_000


def _inbox(tmp_path: Path, n: int) -> FullDisk:
    entries = [lifecycle_entry("Trial", f"full-{i}", TRIAL, T0, email=f"{i}@full.co.uk")
               for i in range(n)]
    inbox = FullDisk(tmp_path / "inbox.db")
    inbox.store_batch(entries[0].topic, [
        DecodedEvent(e.topic, e.replay_id, e.event_id, "s", EntryKind.EVENT, e.payload or {})
        for e in entries], b"\x01")
    return inbox


class FullDisk(Inbox):
    """An inbox on a disk with no room for marking cycles done: ``mark_done`` is refused as
    SQLite refuses it (InboxFull) until :attr:`room` is set. Which write the disk refuses
    does not matter here, only what the loop does about it; the real refusal (SQLITE_FULL,
    the kernel's file size limit) is tests/subscriber/test_inbox_full.py and R13's."""

    room = False
    meta_room = True
    meta_refusals = 0

    def set_meta(self, key: str, value: str) -> None:
        if not self.meta_room:
            self.meta_refusals += 1
            raise InboxFull(f"inbox write failed ({self.path}): database or disk is full")
        super().set_meta(key, value)

    def mark_done(self, applied: Iterable[int], parked: Mapping[int, str]) -> int:
        if not self.room:
            raise InboxFull(f"inbox write failed ({self.path}): database or disk is full")
        return super().mark_done(applied, parked)


def test_a_full_disk_holds_apply_back_and_it_resumes_with_nothing_doubled(tmp_path: Path
                                                                          ) -> None:
    inbox = _inbox(tmp_path, 20)
    org = FakeOrg()
    loop = ApplyLoop(inbox, [org], ApplySettings())
    assert loop.run_once() is False  # used to raise InboxFull (the daemon exited 1)
    assert loop.waiting_by_design(), "held back on purpose: not stuck, the watchdog is fed"
    assert "apply" in loop.full_inbox.problem()
    assert len(inbox.pending(500)) == 20
    written = (len(org.workspaces), len(org.leads))
    assert written == (20, 20), "Salesforce took the cycle; only marking it done failed"

    inbox.room = True
    while inbox.pending(500):
        assert loop.run_once() is True
    assert len(inbox.entries(EntryStatus.APPLIED, limit=100)) == 20
    assert loop.full_inbox.problem() == ""
    assert loop.full_inbox.episodes == 1
    assert (len(org.workspaces), len(org.leads)) == written, "the repeat wrote no second Lead"


class Unavailable(FakeOrg):
    """Salesforce failing as a whole (5xx), or answering REQUEST_LIMIT_EXCEEDED."""

    def __init__(self, error: GatewayError) -> None:
        super().__init__()
        self.error = error

    def lookup(self, request: LookupRequest) -> Snapshot:
        raise self.error


@pytest.mark.parametrize("error", [TransientError("HTTP 503"),
                                   RequestLimited("REQUEST_LIMIT_EXCEEDED")])
def test_a_salesforce_failure_on_a_full_disk_still_backs_off(tmp_path: Path,
                                                             error: GatewayError) -> None:
    """Reporting the failure writes the inbox too (the last error, the API-limit pause);
    refused, that write used to escape the worker's error handler and end the worker."""
    inbox = _inbox(tmp_path, 3)
    inbox.meta_room = False
    loop = ApplyLoop(inbox, [Unavailable(error)], ApplySettings())
    assert loop.run_once() is False  # used to raise InboxFull out of the worker
    assert loop.waiting_by_design()


def _wait(predicate: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_while_the_disk_refuses_apply_probes_with_an_inbox_write_and_claims_nothing(
        tmp_path: Path) -> None:
    """Each cycle claimed on a full disk queries and writes Salesforce, then its mark_done
    is refused again: API calls spent for nothing after every backoff. While "apply" is in
    the episode the dispatcher first makes one cheap inbox write (the probe) and claims no
    cycle until it goes through; then the cycle runs once and the episode ends."""
    inbox = _inbox(tmp_path, 5)
    org = FakeOrg()
    loop = ApplyLoop(inbox, [org], ApplySettings(backoff_initial_s=0.01, backoff_max_s=0.02,
                                                 stop_check_s=0.02))
    assert loop.run_once() is False  # the cycle Salesforce took; marking it done refused
    spent = org.calls
    inbox.meta_room = False  # the disk refuses every inbox write now
    stop = threading.Event()
    runner = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    runner.start()
    try:
        _wait(lambda: inbox.meta_refusals >= 5 or org.calls >= 4 * spent, "probes or cycles")
        assert org.calls == spent, "a cycle was claimed (and paid for) on a full disk"
        assert "apply" in loop.full_inbox.problem()
        inbox.meta_room = inbox.room = True
        _wait(lambda: not inbox.pending(500), "every entry applied once there is room")
    finally:
        stop.set()
        runner.join(10)
    assert not runner.is_alive()
    assert loop.full_inbox.problem() == ""
    assert loop.full_inbox.episodes == 1
    assert org.calls <= 2 * spent, "one repeat of the cycle, no more"
