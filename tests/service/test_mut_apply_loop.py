"""A record Salesforce refuses transiently (UNABLE_TO_LOCK_ROW) is retried with backoff, the
entry staying pending and out of cycles until its retry time, and given up as poison after
``max_attempts`` with the reason (real inbox file; the in-memory org of tests/handlers as the
gateway). Mutation testing found the retry schedule unpinned at unit level."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "handlers"))
from entry_builders import TRIAL, lifecycle_entry
from fake_org import FakeOrg

from handlers.errors import TransientError
from handlers.gateway_api import RecordError
from service.apply_loop import ApplyLoop, ApplySettings
from service.apply_reports import LAST_ERROR_KEY
from subscriber.events import DecodedEvent, EntryKind, EntryStatus
from subscriber.inbox import Inbox

T0 = 1_790_000_000_000


def test_a_transient_refusal_is_retried_after_backoff_then_given_up(tmp_path: Path) -> None:
    entry = lifecycle_entry("Trial", "ws-locked", TRIAL, T0, email="l@lock.example")
    org = FakeOrg()
    org.refuse_workspaces["ws-locked"] = RecordError("UNABLE_TO_LOCK_ROW", "row locked")
    now = [100.0]
    with Inbox(tmp_path / "inbox.db") as inbox:
        inbox.store_batch(entry.topic, [DecodedEvent(entry.topic, entry.replay_id,
                                                     entry.event_id, "s", EntryKind.EVENT,
                                                     entry.payload or {})], b"\x01")
        loop = ApplyLoop(inbox, [org], ApplySettings(backoff_initial_s=10.0,
                                                     backoff_max_s=10.0, max_attempts=3),
                         clock=lambda: now[0])
        assert loop.run_once() is True
        [pending] = inbox.pending()
        assert loop.waiting_by_design()  # a retry is due later: not stuck
        assert loop.run_once() is False  # within its backoff: not claimed again
        now[0] += 10.0
        assert loop.run_once() is True  # second attempt
        now[0] += 20.0
        assert loop.run_once() is True  # third: out of attempts
        assert inbox.pending() == []
        [poison] = inbox.entries(EntryStatus.POISON)
    assert poison.id == pending.id
    assert poison.error == "not applied after 3 attempts: UNABLE_TO_LOCK_ROW: row locked"
    assert not loop.waiting_by_design()


class Unavailable(FakeOrg):
    def lookup(self, request):  # type: ignore[no-untyped-def]
        raise TransientError("HTTP 503 from Salesforce")


def test_a_failed_cycle_backs_off_and_keeps_its_error_class_for_status(tmp_path: Path) -> None:
    entry = lifecycle_entry("Trial", "ws-down", TRIAL, T0, email="d@down.example")
    now = [100.0]
    with Inbox(tmp_path / "inbox.db") as inbox:
        inbox.store_batch(entry.topic, [DecodedEvent(entry.topic, entry.replay_id,
                                                     entry.event_id, "s", EntryKind.EVENT,
                                                     entry.payload or {})], b"\x01")
        loop = ApplyLoop(inbox, [Unavailable()], ApplySettings(backoff_initial_s=5.0),
                         clock=lambda: now[0])
        assert loop.run_once() is False
        last = json.loads(inbox.meta(LAST_ERROR_KEY) or "null")
        assert len(inbox.pending()) == 1  # nothing lost: applied after the backoff
        assert loop.waiting_by_design()
    assert last["class"] == "salesforce unavailable"
    assert last["message"] == ("apply cycle failed: HTTP 503 from Salesforce; retrying with "
                               "backoff")
