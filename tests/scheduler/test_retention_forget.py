"""retention and ``forget`` against the emulator and a real inbox file."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import subprocess
from pathlib import Path

from helpers.children import run_cli
from sched_rig import OrgRig

from scheduler.erasure import email_hash, forget
from scheduler.retention import REDACTED, retention
from scheduler.runs import RunStore
from scheduler.settings import RetentionSettings
from service.config import inbox_path
from subscriber.events import DecodedEvent, EntryKind, EntryStatus, UndecodableEvent
from subscriber.inbox import Inbox

TOPIC = "/event/SelfServeTrialEvent__e"
ADDRESS = "Ann.Smith@Acme.co.uk"


def _event(n: int, email: str, workspace: str = "ws-1") -> DecodedEvent:
    payload = {"Event_Type__c": "Trial", "Workspace_ID__c": workspace, "Email__c": email,
               "Event_Data__c": json.dumps({"trial_expiration": "2026-12-31",
                                            "note": f"contact {email}"}),
               "Event_Timestamp__c": 1_790_000_000_000 + n}
    return DecodedEvent(TOPIC, n.to_bytes(4, "big"), f"uuid-{n}", "schema", EntryKind.EVENT,
                        payload)


def _inbox(path: Path, clock: float | None = None) -> Inbox:
    now = clock
    return Inbox(path, applied_retention_s=7 * 86400.0,
                 **({"clock": lambda: now} if now is not None else {}))


def _cache_row(org: OrgRig, uuid: str, status: str, data: str, notes: str = "") -> None:
    org.create("Event_Cache__c", Event_Uuid__c=uuid, Processing_Status__c=status,
               Event_Type__c="Conversion", Workspace_ID__c="ws-1", Event_Data__c=data,
               Processing_Notes__c=notes)


def test_retention_deletes_completed_redacts_errors_and_prunes_the_inbox(
        org: OrgRig, tmp_path: Path) -> None:
    for n, status in enumerate(("Completed", "Completed", "Error", "New")):
        _cache_row(org, f"row-{n}", status, '{"mrr": "10"}')
    path = tmp_path / "inbox.db"
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    with _inbox(path) as inbox:
        inbox.store_batch(TOPIC, [_event(1, "a@b.co.uk"), UndecodableEvent(
            TOPIC, b"\x02", "uuid-2", "schema", b"raw a@b.co.uk", "bad")], b"\x02")
        inbox.mark_applied([e.id for e in inbox.pending()])
    runs = RunStore(tmp_path / "jobs.db")
    settings = RetentionSettings(completed_days=30, error_redact_days=30)
    with _inbox(path, clock=later.timestamp()) as inbox:
        before = org.calls()
        summary = retention(later, org.sf, settings, inbox, runs)
        calls = org.calls() - before
    assert summary.startswith("2 Completed parked row(s) deleted, 1 Error payload(s) redacted, "
                              "1 applied inbox entries pruned, 1 poison payload(s) cleared")
    assert calls == 4  # two queries, one delete, one upsert
    rows = org.cache_rows()
    assert sorted(rows) == ["row-2", "row-3"]
    assert rows["row-2"]["Event_Data__c"] == REDACTED
    assert "payload redacted after 30 days" in rows["row-2"]["Processing_Notes__c"]
    assert rows["row-3"]["Event_Data__c"] == '{"mrr": "10"}'  # New: untouched
    with Inbox.open_readonly(path) as inbox:
        left = [e for s in EntryStatus for e in inbox.entries(s)]
    assert [(e.status, e.payload, e.raw) for e in left] == [(EntryStatus.POISON, None, None)]
    now = dt.datetime.now(dt.UTC)  # today: nothing is old enough
    with _inbox(path) as inbox:
        assert retention(now, org.sf, RetentionSettings(), inbox, runs).startswith(
            "0 Completed parked row(s) deleted, 0 Error")


def test_retention_keeps_completed_rows_flagged_for_review(org: OrgRig, tmp_path: Path) -> None:
    """A conflict review row is Completed with Needs_Review__c: retention must not delete it
    before someone has reviewed it; an unflagged Completed row of the same age goes."""
    org.create("Event_Cache__c", Event_Uuid__c="flagged", Processing_Status__c="Completed",
               Needs_Review__c=True, Event_Type__c="Conversion", Workspace_ID__c="ws-1",
               Event_Data__c='{"mrr": "-5"}')
    _cache_row(org, "plain", "Completed", '{"mrr": "10"}')
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    runs = RunStore(tmp_path / "jobs.db")
    with _inbox(tmp_path / "inbox.db", clock=later.timestamp()) as inbox:
        summary = retention(later, org.sf, RetentionSettings(completed_days=30), inbox, runs)
    runs.close()
    assert summary.startswith("1 Completed parked row(s) deleted")
    assert sorted(org.cache_rows()) == ["flagged"]


def _holders(org: OrgRig) -> None:
    lead = org.create("Lead", LastName="Smith", Company="Acme", Email=ADDRESS.lower())
    account = org.create("Account", Name="Acme")
    org.create("Contact", LastName="Smith", Email=ADDRESS, AccountId=account)
    org.create("Workspace__c", Name="ws-1", Workspace_ID__c="ws-1", Email__c=ADDRESS.lower(),
               Lead__c=lead)


def _files_mention(state: Path, needle: str) -> list[str]:
    found = []
    for root, _, files in os.walk(state):
        for name in files:
            data = (Path(root) / name).read_bytes().lower()
            if needle.lower().encode() in data:
                found.append(name)
    return found


def test_forget_end_to_end(org: OrgRig, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    with Inbox(inbox_path(state)) as inbox:
        inbox.store_batch(TOPIC, [_event(1, ADDRESS.lower()), _event(2, "other@acme.co.uk"),
                                  UndecodableEvent(TOPIC, b"\x03", "uuid-3", "schema",
                                                   f"raw {ADDRESS}".encode(), "bad")], b"\x03")
        inbox.mark_applied([1])
    _cache_row(org, "row-a", "New", json.dumps({"note": f"from {ADDRESS.upper()}"}),
               notes=f"parked for {ADDRESS}")
    _cache_row(org, "row-b", "Error", '{"mrr": "10"}')
    _holders(org)
    assert _files_mention(state, ADDRESS)
    argv = ["forget", "--email", ADDRESS, "--emulator-info", str(org.info_file),
            "--state", str(state)]
    refused = run_cli(*argv, timeout_s=120, stdin=subprocess.DEVNULL)
    assert refused.returncode == 1
    assert "--yes" in refused.stderr
    assert _files_mention(state, ADDRESS)  # nothing changed without confirmation
    done = run_cli(*argv, "--yes", timeout_s=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "erased from 2 inbox entries and 1 Event_Cache__c rows" in done.stdout
    assert "1 Lead, 1 Contact, 1 Workspace__c" in done.stdout
    assert ADDRESS.lower() not in (done.stdout + done.stderr).lower()
    assert _files_mention(state, ADDRESS) == []  # inbox, its WAL, jobs.db: no copy anywhere
    rows = org.cache_rows()
    assert all(ADDRESS.lower() not in json.dumps(r).lower() for r in rows.values())
    assert "[erased]" in rows["row-a"]["Event_Data__c"]
    with Inbox.open_readonly(inbox_path(state)) as inbox:
        other = inbox.recent(10)
    assert any((e.payload or {}).get("Email__c") == "other@acme.co.uk" for e in other)
    with sqlite3.connect(state / "jobs.db") as db:
        recorded = db.execute("SELECT email_sha256, summary FROM erasures").fetchall()
    key_file = state / "erasure.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert recorded[0][0] == email_hash(ADDRESS, key_file.read_bytes())
    assert recorded[0][0] != hashlib.sha256(ADDRESS.lower().encode()).hexdigest()  # keyed
    assert len(recorded) == 1


def _forget_in_process(org: OrgRig, state: Path, address: str) -> None:
    runs = RunStore(state / "jobs.db")
    try:
        forget(address, inbox_path(state), org.sf, runs, dt.datetime.now(dt.UTC))
    finally:
        runs.close()


def test_forget_erases_whole_addresses_only(org: OrgRig, tmp_path: Path) -> None:
    """ann@acme.co must not erase part of joann@acme.co.uk or ann@acme.co.uk."""
    state = tmp_path / "state"
    state.mkdir()
    others = ("joann@acme.co.uk", "ann@acme.co.uk", "jo.ann@acme.co")
    with Inbox(inbox_path(state)) as inbox:
        inbox.store_batch(TOPIC, [_event(n, email) for n, email in
                                  enumerate(("ann@acme.co", *others), start=1)], b"\x04")
    _cache_row(org, "row-a", "New", json.dumps({"note": "from ann@acme.co."}),
               notes="cc joann@acme.co.uk, ann@acme.co.uk and jo.ann@acme.co")
    _forget_in_process(org, state, "ann@acme.co")
    with Inbox.open_readonly(inbox_path(state)) as inbox:
        emails = sorted(str((e.payload or {}).get("Email__c")) for e in inbox.recent(10))
    assert emails == sorted(["[erased]", *others])
    row = org.cache_rows()["row-a"]
    assert row["Event_Data__c"] == json.dumps({"note": "from [erased]."})
    assert row["Processing_Notes__c"] == "cc joann@acme.co.uk, ann@acme.co.uk and jo.ann@acme.co"


def test_forget_an_international_address_in_every_spelling(org: OrgRig, tmp_path: Path
                                                            ) -> None:
    """Inbox payloads are JSON with ASCII escaping (b\\u00fccher); Salesforce holds the IDNA
    form: after ``forget ann@bücher.de`` none of the UTF-8, escaped or punycode forms is left
    in any state file nor in Event_Cache__c."""
    state = tmp_path / "state"
    state.mkdir()
    address, puny = "ann@bücher.de", "ann@xn--bcher-kva.de"
    with Inbox(inbox_path(state)) as inbox:
        inbox.store_batch(TOPIC, [_event(1, address), _event(2, "bob@bücher.de"),
                                  UndecodableEvent(TOPIC, b"\x03", "uuid-3", "schema",
                                                   f"raw {address}".encode(), "bad")], b"\x03")
    escaped = json.dumps(address)[1:-1]
    assert _files_mention(state, escaped)
    _cache_row(org, "row-a", "New", json.dumps({"note": f"from {address}"}),
               notes=f"parked for {puny}")
    _forget_in_process(org, state, "Ann@Bücher.de")
    for form in (address, escaped, puny):
        assert _files_mention(state, form) == [], form
    row = org.cache_rows()["row-a"]
    assert "[erased]" in row["Event_Data__c"]
    assert "[erased]" in row["Processing_Notes__c"]
    assert "bücher" not in json.dumps(row, ensure_ascii=False).replace("bob@", "")
    with Inbox.open_readonly(inbox_path(state)) as inbox:
        kept = [(e.payload or {}).get("Email__c") for e in inbox.recent(10)]
    assert "bob@bücher.de" in kept
