"""Rules-level tests for review findings of issue 7 (pure rules + the fake org)."""

from __future__ import annotations

from entry_builders import CONVERSION, TRIAL, change_entry, lifecycle_entry
from fake_org import FakeOrg

from handlers.cycle import run_cycle
from handlers.gateway_api import RecordError
from handlers.lead_rules import DUPLICATE_LEAD
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
