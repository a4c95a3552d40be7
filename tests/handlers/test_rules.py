"""The lifecycle rules end to end against an in-memory org (the flows of seed 4.x and 5.x).

The same branches run against the real emulator in test_apply_e2e.py; here they are cheap
enough to check exhaustively, including every delivery order (test_rules_property.py).
"""

from __future__ import annotations

from entry_builders import CHURN, CONVERSION, TRIAL, change_entry, lifecycle_entry
from fake_org import FakeOrg

from handlers.conflicts import LEAD_CONFLICT, MRR_CONFLICT
from handlers.cycle import run_cycle
from handlers.gateway_api import RecordError
from handlers.lead_rules import DUPLICATE_LEAD
from handlers.lifecycle_rules import WAITING_FOR_TRIAL
from handlers.links import NO_ACCOUNT, SEVERAL_ACCOUNTS, SHARED_DOMAIN
from handlers.snapshot import LeadRow
from subscriber.events import EntryKind

CLIENT = "lifecycle-sync"


def apply(org, *entries):
    return run_cycle(list(entries), org, CLIENT)


def test_new_trial_creates_workspace_lead_and_links_account(t0):
    org = FakeOrg()
    account = org.add_account("acme.co.uk")
    result = apply(org, lifecycle_entry("Trial", "ws-1", TRIAL, t0,
                                        email="dana.rivera@mail.acme.co.uk"))
    ws = org.workspaces["ws-1"]
    assert result.applied
    assert not result.parked
    assert ws["Self_Serve_Status__c"] == "Trial"
    assert ws["Trial_Expiration_Date__c"] == "2026-12-31"
    assert ws["Account__c"] == account
    [lead] = org.leads.values()
    assert ws["Lead__c"] == lead.id
    assert "Needs_Review__c" not in ws
    assert org.calls == 3  # lookup, create the Lead, write


def test_trial_reuses_newest_open_lead_and_flags_account_review(t0):
    org = FakeOrg()
    older = org.new_id("00Q")
    org.leads[older] = LeadRow(older, "a@nowhere.example", created="2026-01-01")
    newest = org.new_id("00Q")  # made by Marketo: no Workspace holds it yet
    org.leads[newest] = LeadRow(newest, "a@nowhere.example", created="2026-02-01")
    apply(org, lifecycle_entry("Trial", "ws-1", TRIAL, t0, email="a@nowhere.example"))
    assert org.workspaces["ws-1"]["Lead__c"] == newest
    assert len(org.leads) == 2
    assert NO_ACCOUNT in org.workspaces["ws-1"]["Review_Reason__c"]


def test_a_lead_another_workspace_holds_is_a_conflict_not_a_link(t0):
    org = FakeOrg()
    apply(org, lifecycle_entry("Trial", "ws-0", TRIAL, t0, email="a@nowhere.example"))
    apply(org, lifecycle_entry("Trial", "ws-1", TRIAL, t0, email="a@nowhere.example"))
    assert "Lead__c" not in org.workspaces["ws-1"]
    assert len(org.leads) == 1  # nor a duplicate Lead
    assert LEAD_CONFLICT in org.workspaces["ws-1"]["Review_Reason__c"]
    assert org.workspaces["ws-1"]["Needs_Review__c"] is True
    [row] = org.cache.values()
    assert (row["Processing_Status__c"], row["Needs_Review__c"]) == ("Completed", True)
    assert row["Review_Reason__c"] == LEAD_CONFLICT


def test_free_mail_never_matches_and_several_accounts_flag(t0):
    org = FakeOrg()
    org.add_account("gmail.com")
    apply(org, lifecycle_entry("Trial", "ws-g", TRIAL, t0, email="x@gmail.com"))
    assert "Account__c" not in org.workspaces["ws-g"]
    assert SHARED_DOMAIN in org.workspaces["ws-g"]["Review_Reason__c"]
    first = org.add_account(None, "https://www.multi.example")
    org.add_account("multi.example")
    apply(org, lifecycle_entry("Trial", "ws-m", TRIAL, t0, email="x@multi.example"))
    ws = org.workspaces["ws-m"]
    assert ws["Account__c"] != first  # the exact Email_Domain__c match wins
    assert SEVERAL_ACCOUNTS in ws["Review_Reason__c"]


def test_trial_on_paid_only_adds_history(t0):
    org = FakeOrg()
    apply(org, lifecycle_entry("Trial", "ws-1", TRIAL, t0),
          lifecycle_entry("Conversion", "ws-1", CONVERSION, t0 + 1000))
    apply(org, lifecycle_entry("Trial", "ws-1", {"trial_expiration": "2027-06-30"}, t0 + 2000))
    ws = org.workspaces["ws-1"]
    assert ws["Self_Serve_Status__c"] == "Paid"
    assert ws["Trial_Expiration_Date__c"] == "2026-12-31"
    assert ws["Trial_History__c"].count(" Trial ") == 2


def test_conversion_converts_lead_into_matched_account_once(t0):
    org = FakeOrg()
    account = org.add_account("acme.co.uk")
    apply(org, lifecycle_entry("Trial", "ws-1", TRIAL, t0, email="d@acme.co.uk"))
    apply(org, lifecycle_entry("Conversion", "ws-1", CONVERSION, t0 + 1000))
    ws = org.workspaces["ws-1"]
    [lead] = org.leads.values()
    assert lead.is_converted
    assert lead.converted_account_id == account
    assert (ws["Account__c"], ws["Contact__c"]) == (account, lead.converted_contact_id)
    assert (ws["Self_Serve_Status__c"], ws["Plan_Type__c"], ws["MRR__c"]) == ("Paid", "Team",
                                                                              490.0)
    calls = org.calls
    result = apply(org, lifecycle_entry("Conversion", "ws-1", CONVERSION, t0 + 1000,
                                        uuid="uuid-dup"))
    assert result.applied
    assert org.calls == calls + 2


def test_conversion_first_creates_paid_parks_then_trial_completes(t0):
    org = FakeOrg()
    org.add_account("example.com")
    result = apply(org, lifecycle_entry("Conversion", "ws-9", CONVERSION, t0 + 1000, uuid="c9"))
    ws = org.workspaces["ws-9"]
    assert ws["Self_Serve_Status__c"] == "Paid"
    assert ws["Needs_Review__c"] is True
    assert WAITING_FOR_TRIAL in ws["Review_Reason__c"]
    assert next(iter(result.parked.values())).startswith("Conversion applied")
    assert org.cache["c9"]["Processing_Status__c"] == "New"
    apply(org, lifecycle_entry("Trial", "ws-9", TRIAL, t0))
    ws = org.workspaces["ws-9"]
    assert org.cache["c9"]["Processing_Status__c"] == "Completed"
    assert ws["Needs_Review__c"] is False
    assert ws["Review_Reason__c"] is None
    [lead] = org.leads.values()
    assert lead.is_converted
    assert ws["Contact__c"] == lead.converted_contact_id
    assert ws["Trial_Start_Date__c"] is not None


def test_churn_existing_and_new(t0):
    org = FakeOrg()
    apply(org, lifecycle_entry("Trial", "ws-1", TRIAL, t0),
          lifecycle_entry("Churn", "ws-1", CHURN, t0 + 5000))
    assert org.workspaces["ws-1"]["Self_Serve_Status__c"] == "Churned"
    assert org.workspaces["ws-1"]["Churn_Reason__c"] == "budget"
    result = apply(org, lifecycle_entry("Churn", "ws-2", CHURN, t0, uuid="x2"))
    assert org.workspaces["ws-2"]["Self_Serve_Status__c"] == "Churned"
    assert org.workspaces["ws-2"]["Needs_Review__c"] is True
    assert result.parked
    assert org.cache["x2"]["Processing_Status__c"] == "New"


def test_older_event_never_moves_status_back_but_fills_history(t0):
    org = FakeOrg()
    apply(org, lifecycle_entry("Churn", "ws-1", CHURN, t0 + 9000))
    apply(org, lifecycle_entry("Trial", "ws-1", TRIAL, t0))
    ws = org.workspaces["ws-1"]
    assert ws["Self_Serve_Status__c"] == "Churned"
    assert ws["Trial_Expiration_Date__c"] == "2026-12-31"


def test_reapplying_changes_nothing(t0):
    org = FakeOrg()
    entries = [lifecycle_entry("Trial", "ws-1", TRIAL, t0, uuid="t"),
               lifecycle_entry("Conversion", "ws-1", CONVERSION, t0 + 1, uuid="c")]
    apply(org, *entries)
    before = ({k: dict(v) for k, v in org.workspaces.items()}, dict(org.leads),
              dict(org.contacts), dict(org.accounts), dict(org.cache))
    calls = org.calls
    apply(org, *entries)
    after = ({k: dict(v) for k, v in org.workspaces.items()}, dict(org.leads),
             dict(org.contacts), dict(org.accounts), dict(org.cache))
    assert after == before
    assert org.calls == calls + 2  # a lookup, and a write with nothing in it


def test_invalid_event_parked_and_others_applied(t0):
    org = FakeOrg()
    bad = lifecycle_entry("Trial", "ws-x", "{oops", t0, uuid="bad")
    good = lifecycle_entry("Trial", "ws-1", TRIAL, t0)
    result = apply(org, bad, good)
    assert result.applied == [good.id]
    assert "not valid JSON" in result.parked[bad.id]
    row = org.cache["bad"]
    assert (row["Processing_Status__c"], row["Needs_Review__c"]) == ("Error", True)
    assert ("malformed event data", result.parked[bad.id]) in result.problems


def test_refused_workspace_is_parked_others_applied(t0):
    org = FakeOrg()
    org.refuse_workspaces["ws-bad"] = RecordError("STRING_TOO_LONG", "too long")
    bad = lifecycle_entry("Trial", "ws-bad", TRIAL, t0, uuid="b")
    good = lifecycle_entry("Trial", "ws-ok", TRIAL, t0)
    result = apply(org, bad, good)
    assert result.applied == [good.id]
    assert "STRING_TOO_LONG" in result.parked[bad.id]
    assert org.cache["b"]["Processing_Status__c"] == "Error"
    org.refuse_workspaces["ws-bad"] = RecordError("UNABLE_TO_LOCK_ROW", "locked")
    result = apply(org, lifecycle_entry("Trial", "ws-bad", TRIAL, t0 + 1))
    assert result.retry
    assert not result.parked


def test_marketo_lead_links_workspace_without_lead_and_flags_duplicates(t0):
    org = FakeOrg()
    apply(org, lifecycle_entry("Conversion", "ws-1", CONVERSION, t0, email="m@acme.example"))
    apply(org, lifecycle_entry("Churn", "ws-1", CHURN, t0 + 1, email="m@acme.example"))
    org.workspaces["ws-1"]["Email__c"] = "m@acme.example"
    for lead_id, created in (("00QB00000000001AAA", "2026-01-01T00:00:00.000+0000"),
                             ("00QA00000000001AAA", "2025-01-01T00:00:00.000+0000")):
        org.leads[lead_id] = LeadRow(lead_id, "m@acme.example", created=created)
    create = change_entry("CREATE", ("00QB00000000001AAA",),
                          {"Email": "M@acme.example", "CreatedDate": "2026-01-01T00:00:00Z"},
                          origin="com/salesforce/api/rest/62.0;client=marketo")
    apply(org, create)
    assert org.workspaces["ws-1"]["Lead__c"] == "00QB00000000001AAA"
    older = change_entry("CREATE", ("00QA00000000001AAA",),
                         {"Email": "m@acme.example", "CreatedDate": "2025-01-01T00:00:00Z"})
    apply(org, older)
    ws = org.workspaces["ws-1"]
    assert ws["Lead__c"] == "00QA00000000001AAA"
    assert DUPLICATE_LEAD in ws["Review_Reason__c"]


def test_ui_conversion_copies_ids_and_own_changes_ignored(t0):
    org = FakeOrg()
    apply(org, lifecycle_entry("Trial", "ws-1", TRIAL, t0))
    lead = next(iter(org.leads))
    converted = {"IsConverted": True, "ConvertedAccountId": "001x", "ConvertedContactId": "003x"}
    mine = change_entry("UPDATE", (lead,), converted, ("IsConverted",),
                        origin="com/salesforce/api/soap/62.0;client=lifecycle-sync")
    apply(org, mine)
    assert "Contact__c" not in org.workspaces["ws-1"]
    rep = change_entry("UPDATE", (lead,), converted, ("IsConverted",),
                       origin="com/salesforce/api/soap/62.0;client=SfdcInternalAPI/")
    apply(org, rep)
    assert org.workspaces["ws-1"]["Contact__c"] == "003x"


def test_gap_rereads_and_overflow_parks(t0):
    org = FakeOrg()
    apply(org, lifecycle_entry("Conversion", "ws-1", CONVERSION, t0, email="g@acme.example"))
    lead_id = org.new_id("00Q")
    org.leads[lead_id] = LeadRow(lead_id, "g@acme.example", created="2026")
    gap = change_entry("GAP_UPDATE", (lead_id,), {}, kind=EntryKind.GAP)
    apply(org, gap)
    assert org.workspaces["ws-1"]["Lead__c"] == lead_id
    over = change_entry("GAP_OVERFLOW", (), {}, kind=EntryKind.GAP_OVERFLOW)
    result = apply(org, over)
    assert "Reconcile" in result.parked[over.id]
    assert ("gap overflow", result.parked[over.id]) in result.problems


def test_refused_lead_parks_the_trial_and_flags_the_workspace(t0):
    org = FakeOrg()
    org.refuse_leads["bad@acme.co.uk"] = "FIELD_CUSTOM_VALIDATION_EXCEPTION: no"
    trial = lifecycle_entry("Trial", "ws-r", TRIAL, t0, email="bad@acme.co.uk", uuid="tr")
    result = apply(org, trial)
    assert "Lead could not be created" in result.parked[trial.id]
    assert org.cache["tr"]["Processing_Status__c"] == "Error"
    ws = org.workspaces["ws-r"]
    assert ws["Self_Serve_Status__c"] == "Trial"
    assert "Lead could not be created" in ws["Review_Reason__c"]


def test_an_absurd_mrr_waiting_for_its_trial_keeps_it_in_the_parked_row(t0):
    """The parked row must rebuild the same event on retry: its data keeps the MRR (judged
    again then), while the Workspace never gets it."""
    org = FakeOrg()
    apply(org, lifecycle_entry("Conversion", "ws-1", {**CONVERSION, "mrr": -3}, t0, email=None))
    [row] = org.cache.values()
    assert row["Processing_Status__c"] == "New"
    assert '"mrr": "-3.00"' in row["Event_Data__c"]
    assert "MRR__c" not in org.workspaces["ws-1"]
    assert MRR_CONFLICT in org.workspaces["ws-1"]["Review_Reason__c"]
    apply(org, lifecycle_entry("Trial", "ws-1", TRIAL, t0 - 1000))
    assert org.workspaces["ws-1"]["Self_Serve_Status__c"] == "Paid"
    assert "MRR__c" not in org.workspaces["ws-1"]


def test_usage_in_one_cycle_newest_wins_and_no_figures_keep_them(t0):
    org = FakeOrg()
    apply(org, lifecycle_entry("Trial", "ws-1", {**TRIAL, "seats": 2}, t0 + 2000),
          lifecycle_entry("Trial", "ws-1", {**TRIAL, "seats": 9}, t0 + 1000))
    assert org.workspaces["ws-1"]["Latest_Usage__c"] == '{"seats":2}'
    apply(org, lifecycle_entry("Trial", "ws-1", TRIAL, t0 + 3000))
    assert org.workspaces["ws-1"]["Latest_Usage__c"] == '{"seats":2}'
