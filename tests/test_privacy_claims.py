"""Claims of docs/privacy.md that no other test covers: job run records are kept 90 days
(erasure records, a keyed hash only, are kept), and ``status`` never shows an email address,
even when the inbox's payloads, parked notes and poison errors hold one."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from scheduler.erasure import email_hash
from scheduler.runs import RunStore, jobs_path
from scheduler.settings import RetentionSettings
from service.config import inbox_path
from service.status_cmd import collect_status, recent_entries, render_recent, render_text
from subscriber.events import DecodedEvent, EntryKind, UndecodableEvent
from subscriber.inbox import Inbox

TRIAL = "/event/SelfServeTrialEvent__e"
EMAIL = "jane.doe@acme.example"
NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def test_job_run_records_are_kept_90_days_and_erasure_records_only_as_a_hash(
        tmp_path: Path) -> None:
    days = RetentionSettings().job_runs_days
    assert days == 90  # "90 days (fixed)": not a config key
    runs = RunStore(jobs_path(tmp_path))
    try:
        for age_days in (days + 1, days - 1):
            at = NOW - dt.timedelta(days=age_days)
            runs.finished(runs.started("retention", at), "retention", at, True, "ok")
        runs.record_erasure(NOW - dt.timedelta(days=400), email_hash(EMAIL, b"k" * 32), "done")
        assert runs.prune_runs(NOW - dt.timedelta(days=days)) == 1  # what retention calls
        assert runs.prune_runs(NOW - dt.timedelta(days=days)) == 0
        [(_, hashed, _)] = runs.erasures()
    finally:
        runs.close()
    assert EMAIL not in hashed
    assert EMAIL.encode() not in jobs_path(tmp_path).read_bytes()


def test_status_never_shows_an_email_address(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    with Inbox(inbox_path(state)) as inbox:
        events = [DecodedEvent(TRIAL, bytes([n]), f"e-{n}", "s", EntryKind.EVENT,
                               {"Email__c": EMAIL, "Workspace_ID__c": f"ws-{n}"})
                  for n in range(1, 4)]
        inbox.store_batch(TRIAL, events, b"\x03")
        bad = UndecodableEvent(TRIAL, b"\x04", "bad", "s", f"raw {EMAIL}".encode(),
                               f"cannot decode the event of {EMAIL}")
        inbox.store_batch(TRIAL, [bad], b"\x04")
        first, second, _ = inbox.pending()
        inbox.mark_done([first.id], {second.id: f"parked: no Lead for {EMAIL}"})
    report = collect_status(state)
    text = render_text(report)
    assert "pending 1, applied 2, poison 1" in text  # the entries were read
    assert "@" not in json.dumps(report, default=str)
    assert "@" not in text
    with Inbox.open_readonly(inbox_path(state)) as inbox:
        recent = recent_entries(inbox, 10)  # `status --recent 10`
    assert len(recent) == 4
    assert "@" not in json.dumps(recent, default=str) + render_recent(recent)
