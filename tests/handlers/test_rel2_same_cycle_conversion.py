"""Found by the reliability suite (R11/R25, issue 10): a Trial and its Conversion in one
apply cycle, for an owner whose Lead already existed (created by someone else, so without
Workspace_ID__c), converted the Lead but left the Workspace without Lead__c, Account__c and
Contact__c: after the conversion the rules looked for an *open* Lead by email again and no
longer found the one they had just converted. In the reliability runs the next Trial for that
email then created a second Lead."""

from __future__ import annotations

from entry_builders import CONVERSION, TRIAL, lifecycle_entry
from fake_org import FakeOrg

from handlers.cycle import run_cycle
from handlers.snapshot import LeadRow


def test_trial_and_conversion_in_one_cycle_link_the_existing_lead_they_convert(t0):
    org = FakeOrg()
    existing = LeadRow(org.new_id("00Q"), "owner37@burst37.example.co.uk",
                       created="2026-01-01T00:00:00.000+0000")
    org.leads[existing.id] = existing
    result = run_cycle([
        lifecycle_entry("Trial", "ws-37", TRIAL, t0, email=existing.email),
        lifecycle_entry("Conversion", "ws-37", CONVERSION, t0 + 1000, email=existing.email),
    ], org, "lifecycle-sync")

    assert len(result.applied) == 2
    [lead] = org.leads.values()  # no second Lead
    assert lead.id == existing.id
    assert lead.is_converted
    ws = org.workspaces["ws-37"]
    assert ws["Lead__c"] == existing.id
    assert ws["Contact__c"] == lead.converted_contact_id
    assert ws["Account__c"] == lead.converted_account_id
