"""Rules-level tests for review findings of issue 7 (pure rules + the fake org)."""

from __future__ import annotations

import datetime as dt

from entry_builders import CHURN, CONVERSION, TRIAL, change_entry, lifecycle_entry
from fake_org import FakeOrg

from handlers import history
from handlers.cycle import run_cycle
from handlers.gateway_api import RecordError
from handlers.history import HISTORY_MAX_CHARS
from handlers.lead_rules import DUPLICATE_LEAD
from handlers.lifecycle_rules import WAITING_FOR_TRIAL
from handlers.snapshot import LeadRow
from subscriber.events import EntryKind

CLIENT = "lifecycle-sync"


def apply(org, *entries):
    return run_cycle(list(entries), org, CLIENT)


def _workspace_waiting_for_a_lead(org: FakeOrg, t0: int) -> str:
    apply(org, lifecycle_entry("Conversion", "ws-1", CONVERSION, t0, email="m@acme.example"))
    lead_id = "00QB00000000001AAA"
    org.leads[lead_id] = LeadRow(lead_id, "m@acme.example", created="2026-01-01")
    return lead_id


def test_lead_change_is_not_applied_when_its_workspace_write_fails(t0):
    org = FakeOrg()
    lead_id = _workspace_waiting_for_a_lead(org, t0)
    org.refuse_workspaces["ws-1"] = RecordError("UNABLE_TO_LOCK_ROW", "locked")
    create = change_entry("CREATE", (lead_id,), {"Email": "m@acme.example"},
                          origin="client=marketo")
    result = apply(org, create)
    assert create.id not in result.applied
    assert create.id in result.retry
    org.refuse_workspaces["ws-1"] = RecordError("FIELD_CUSTOM_VALIDATION_EXCEPTION", "no")
    result = apply(org, create)
    assert create.id not in result.applied
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in result.parked[create.id]
    del org.refuse_workspaces["ws-1"]
    assert apply(org, create).applied == [create.id]
    assert org.workspaces["ws-1"]["Lead__c"] == lead_id


def test_gap_is_not_applied_when_its_workspace_write_fails(t0):
    org = FakeOrg()
    lead_id = _workspace_waiting_for_a_lead(org, t0)
    org.refuse_workspaces["ws-1"] = RecordError("UNABLE_TO_LOCK_ROW", "locked")
    gap = change_entry("GAP_UPDATE", (lead_id,), {}, kind=EntryKind.GAP)
    result = apply(org, gap)
    assert gap.id in result.retry
    assert gap.id not in result.applied


def test_trial_and_conversion_at_the_same_instant_keep_the_trial_dates(t0):
    org = FakeOrg()
    apply(org, lifecycle_entry("Conversion", "ws-same", CONVERSION, t0, email="s@acme.example"),
          lifecycle_entry("Trial", "ws-same", TRIAL, t0, email="s@acme.example"))
    ws = org.workspaces["ws-same"]
    assert ws["Self_Serve_Status__c"] == "Paid"
    assert ws["Trial_Expiration_Date__c"] == "2026-12-31"
    assert ws["Trial_Start_Date__c"] is not None


def test_duplicate_lead_never_replaces_a_converted_lead(t0):
    org = FakeOrg()
    apply(org, lifecycle_entry("Trial", "ws-dup", TRIAL, t0, email="d@acme.example"),
          lifecycle_entry("Conversion", "ws-dup", CONVERSION, t0 + 1, email="d@acme.example"))
    converted = org.workspaces["ws-dup"]["Lead__c"]
    assert org.leads[converted].is_converted
    older = "00QA00000000009AAA"
    org.leads[older] = LeadRow(older, "d@acme.example", created="2000-01-01T00:00:00.000+0000")
    apply(org, change_entry("CREATE", (older,), {"Email": "d@acme.example",
                                                 "CreatedDate": "2000-01-01T00:00:00Z"}))
    ws = org.workspaces["ws-dup"]
    assert ws["Lead__c"] == converted
    assert DUPLICATE_LEAD in ws["Review_Reason__c"]


def test_duplicate_lead_prefers_the_converted_one_as_survivor(t0):
    org = FakeOrg()
    older = _workspace_waiting_for_a_lead(org, t0)
    apply(org, change_entry("CREATE", (older,), {"Email": "m@acme.example"}))
    assert org.workspaces["ws-1"]["Lead__c"] == older
    newer = "00QC00000000001AAA"
    org.leads[newer] = LeadRow(newer, "m@acme.example", True, "001x", "003x",
                               created="2027-01-01")
    apply(org, change_entry("UPDATE", (newer,), {"Email": "m@acme.example", "IsConverted": True,
                                                 "ConvertedAccountId": "001x",
                                                 "ConvertedContactId": "003x"},
                            ("Email", "IsConverted")))
    ws = org.workspaces["ws-1"]
    assert ws["Lead__c"] == newer
    assert DUPLICATE_LEAD in ws["Review_Reason__c"]


def test_a_history_too_long_for_the_field_keeps_its_trial_and_its_state(t0):
    org = FakeOrg()
    first = [lifecycle_entry("Trial", "ws-long", TRIAL, t0, email="l@acme.example"),
             lifecycle_entry("Conversion", "ws-long", CONVERSION, t0 + 1, email="l@acme.example")]
    apply(org, *first)
    start = org.workspaces["ws-long"]["Trial_Start_Date__c"]
    for batch in range(6):
        apply(org, *[lifecycle_entry("Trial", "ws-long", TRIAL, t0 + 10 + batch * 100 + i,
                                     email="l@acme.example") for i in range(100)])
    ws = org.workspaces["ws-long"]
    assert len(ws["Trial_History__c"]) <= HISTORY_MAX_CHARS
    assert ws["Trial_History__c"].splitlines()[0].split(" ")[1] == "Trial"
    apply(org, lifecycle_entry("Churn", "ws-long", CHURN, t0 - 5, email="l@acme.example"))
    ws = org.workspaces["ws-long"]
    assert (ws["Self_Serve_Status__c"], ws["Trial_Start_Date__c"]) == ("Paid", start)
    assert WAITING_FOR_TRIAL not in (ws["Review_Reason__c"] or "")
    assert ws["Churn_Date__c"] == "2027-02-01"  # an older event still fills empty fields


def test_trimmed_history_replays_to_the_same_state(t0):
    entries = [history.Entry(dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=i),
                             kind, f"u{i}", data)
               for i, (kind, data) in enumerate(
                   [("Trial", '{"trial_expiration": "2026-02-01"}'),
                    ("Conversion", '{"mrr": "9", "plan_type": "T", "subscription_id": "s"}')]
                   + [("Trial", '{"trial_expiration": "2026-03-01"}')] * 600)]
    text = history.render(entries, ["a foreign line"])
    assert len(text) <= HISTORY_MAX_CHARS
    kept, _ = history.parse(text)
    assert history.replay(kept) == history.replay(entries)
