"""Behaviours of the jobs that surviving mutants showed no test held (issue 15, ``make mutate``):
what a retry keeps in a parked row's notes and counts, what an alert Task tells the rep and how
a refused Workspace mark is reported, what ``forget`` keeps of an error text, and the time an
erasure is recorded at. Each runs against the emulator through the jobs' real Salesforce door."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sched_rig import T0_MS, OrgRig, entry

from emulator.org.faults import FaultRule
from scheduler.erasure import forget
from scheduler.retry_parked import retry_parked
from scheduler.runs import RunStore
from scheduler.settings import AlertSettings, RetrySettings
from scheduler.trial_alerts import AlertsRefused, trial_alerts
from service.config import inbox_path
from subscriber.events import DecodedEvent, EntryKind, UndecodableEvent
from subscriber.inbox import Inbox

RETRY = RetrySettings(max_attempts=3, backoff_initial_min=5, backoff_max_min=60)
PARIS = AlertSettings(at=dt.time(9, 0), timezone="Europe/Paris", thresholds_days=(7, 1))
NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)  # 09:00 in Paris, "today" 2026-12-01
TOPIC = "/event/SelfServeTrialEvent__e"


def _retry(org: OrgRig, emails: dict[str, str] | None = None) -> str:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
    return retry_parked(now, org.sf, org.gateway, RETRY,
                        lambda ids: {i: e for i, e in (emails or {}).items() if i in set(ids)},
                        "lifecycle-sync")


def test_a_retry_appends_to_the_notes_and_counts_what_it_completed(org: OrgRig) -> None:
    org.apply(entry("Trial", "ws-n", {"trial_expiration": "2026-12-31"}, T0_MS, uuid="t-n"))
    org.org.faults.arm(FaultRule(effect="record_error", kind="*", object="Workspace__c",
                                 error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                 message="a validation rule said no", times=1))
    org.apply(entry("Churn", "ws-n", {"churn_date": "2027-02-01", "churn_reason": "budget"},
                    T0_MS + 1000, uuid="churn-n"))
    parked_notes = org.cache_rows()["churn-n"]["Processing_Notes__c"]
    assert parked_notes  # the park said why
    assert _retry(org).startswith("1 completed, 0 still waiting, 0 flagged for review")
    notes = org.cache_rows()["churn-n"]["Processing_Notes__c"]
    assert notes.startswith(parked_notes)  # the history is kept, the retry's line appended
    assert "retry 1: applied (event churn-n" in notes


def test_a_trial_without_its_email_is_set_aside_saying_why(org: OrgRig) -> None:
    org.org.faults.arm(FaultRule(effect="record_error", kind="*", object="Workspace__c",
                                 error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                 message="a validation rule said no", times=1))
    org.apply(entry("Trial", "ws-e", {"trial_expiration": "2026-12-31"}, T0_MS, uuid="t-e"))
    _retry(org)  # the local inbox no longer has its email
    notes = org.cache_rows()["t-e"]["Processing_Notes__c"]
    assert ("not retried automatically: a Trial cannot be re-applied without its email, which "
            "the row does not keep and the local inbox no longer holds") in notes


def _workspace(org: OrgRig, ws_id: str, days_left: int, **fields: Any) -> str:
    expires = (NOW.date() + dt.timedelta(days=days_left)).isoformat()
    return org.create("Workspace__c", Workspace_ID__c=ws_id, Name=f"Workspace {ws_id}",
                      Self_Serve_Status__c="Trial", Trial_Expiration_Date__c=expires, **fields)


def _alerts(org: OrgRig) -> str:
    return trial_alerts(NOW, org.sf, PARIS)


def test_the_alert_task_names_the_lead_and_the_account(org: OrgRig) -> None:
    lead = org.create("Lead", LastName="Owner", Company="Acme", Email="ann@acme.co.uk")
    account = org.create("Account", Name="Acme Ltd")
    ws = _workspace(org, "ws-la", 7, Lead__c=lead, Account__c=account)
    assert _alerts(org).endswith("1 alert(s) sent")
    [task] = org.query(f"SELECT Description FROM Task WHERE WhatId = '{ws}'")
    assert f"Lead: {lead}; Account: Acme Ltd ({account})" in task["Description"]


def test_a_refused_workspace_mark_is_reported_against_its_workspace(org: OrgRig) -> None:
    _workspace(org, "ws-first", 1)
    _workspace(org, "ws-second", 7)
    org.org.faults.arm(FaultRule(effect="record_error", kind="update", object="Workspace__c",
                                 error_code="UNABLE_TO_LOCK_ROW", message="row locked",
                                 times=1))
    with pytest.raises(AlertsRefused) as refused:
        _alerts(org)
    assert (", 1 alert(s) sent, 1 refused: ws-first: UNABLE_TO_LOCK_ROW: row locked"
            in str(refused.value))
    [task] = org.query("SELECT WhatId FROM Task")  # the refused pair left no Task behind
    assert task["WhatId"] != org.query("SELECT Id FROM Workspace__c "
                                       "WHERE Workspace_ID__c = 'ws-first'")[0]["Id"]


def test_forget_keeps_an_error_text_without_the_address(org: OrgRig, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    payload = {"Event_Type__c": "Trial", "Workspace_ID__c": "ws-1", "Email__c": "x@y.example"}
    with Inbox(inbox_path(state)) as inbox:
        inbox.store_batch(TOPIC, [
            DecodedEvent(TOPIC, b"\x01", "uuid-1", "schema", EntryKind.EVENT, payload),
            UndecodableEvent(TOPIC, b"\x02", "uuid-2", "schema", b"raw ann@acme.example",
                             "field Email__c: ann@acme.example is not valid UTF-8 here")],
            b"\x02")
    lead = org.create("Lead", LastName="Ann", Company="Acme", Email="ann@acme.example")
    contact = org.create("Contact", LastName="Ann", Email="ann@acme.example")
    runs = RunStore(state / "jobs.db")
    try:
        report = forget("ann@acme.example", inbox_path(state), org.sf, runs, NOW)
        [(at, _, summary)] = runs.erasures()
    finally:
        runs.close()
    assert report.inbox_entries == 1
    with Inbox.open_readonly(inbox_path(state)) as inbox:
        errors = {e.event_id: e.error for e in inbox.recent(10)}
    assert errors["uuid-2"] == "field Email__c: [erased] is not valid UTF-8 here"
    assert errors["uuid-1"] in (None, "")  # an entry without the address is left alone
    assert at == NOW  # recorded in UTC, as given (status shows it)
    # the org's own records are listed for the admin's erasure process, not changed
    assert report.still_holding == {"Lead": [lead], "Contact": [contact], "Workspace__c": []}
    assert summary == ("erased from 1 inbox entries and 0 Event_Cache__c rows; Salesforce "
                       "records still holding it: 1 Lead, 1 Contact")


def test_a_jobs_query_reads_every_page(org: OrgRig) -> None:
    """retention, forget and retry-parked read whole tables: past the first batch too
    (``nextRecordsUrl``; the emulator's batch set small, as an org may answer)."""
    for n in range(5):
        org.create("Event_Cache__c", Event_Uuid__c=f"page-{n}", Processing_Status__c="New",
                   Event_Type__c="Trial", Workspace_ID__c="ws-p")
    org.org.settings.query_batch_size = 2
    before = org.calls()
    rows = org.sf.query("SELECT Event_Uuid__c FROM Event_Cache__c")
    assert sorted(r["Event_Uuid__c"] for r in rows) == [f"page-{n}" for n in range(5)]
    assert org.calls() - before == 3  # one call per batch of 2
