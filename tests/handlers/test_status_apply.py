"""``lifecycle-sync status`` shows the apply side: applied, parked, waiting, last error class."""

from __future__ import annotations

import json

from entry_builders import TRIAL, lifecycle_entry
from helpers.children import run_cli

from service.apply_loop import PAUSED_KEY
from service.apply_reports import LAST_ERROR_KEY
from service.config import inbox_path
from subscriber.events import DecodedEvent, EntryKind
from subscriber.inbox import Inbox


def test_status_reports_applied_parked_waiting_and_last_error(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    entries = [lifecycle_entry("Trial", f"st-{i}", TRIAL, 1_790_000_000_000) for i in range(4)]
    with Inbox(inbox_path(state)) as inbox:
        inbox.store_batch(entries[0].topic, [
            DecodedEvent(e.topic, e.replay_id, e.event_id, "s", EntryKind.EVENT, e.payload or {})
            for e in entries], b"\x09")
        first, second, *_ = inbox.pending()
        inbox.mark_done([first.id], {second.id: "parked: waiting for the Trial"})
        inbox.set_meta(LAST_ERROR_KEY, json.dumps({"class": "UNABLE_TO_LOCK_ROW", "at": 1.0}))
        inbox.set_meta(PAUSED_KEY, "1")
    done = run_cli("status", "--state", str(state), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["apply"] == {"applied": 1, "parked": 1, "waiting": 2, "paused": True,
                               "last_error_class": "UNABLE_TO_LOCK_ROW", "last_error_at": 1.0}
    assert report["topics"][entries[0].topic]["parked"] == 1
    shown = run_cli("status", "--state", str(state))
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert ("apply: applied 1, parked 1, waiting 2, PAUSED (API limit), last error class: "
            "UNABLE_TO_LOCK_ROW") in text
