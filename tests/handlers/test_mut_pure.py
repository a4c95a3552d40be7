"""Pure rules that surviving mutants showed no test held (issue 15, ``make mutate``): a
convertLead answer short of results never counts a Lead as converted, long text differing only
in line endings is not rewritten, a naive time is refused as a SOQL dateTime literal."""

from __future__ import annotations

import datetime as dt

import pytest
from entry_builders import CHURN, lifecycle_entry
from fake_org import FakeOrg

from handlers import soap_convert
from handlers.cycle import run_cycle
from handlers.events import Invalid
from handlers.parse import parse_entry
from handlers.plan import ConvertRequest
from handlers.soql import datetime_literal
from handlers.view import same

ONE_RESULT = b"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns="urn:partner.soap.sforce.com"><soapenv:Body><convertLeadResponse>
<result><accountId>001A</accountId><contactId>003A</contactId><leadId>00QA</leadId>
<success>true</success></result>
</convertLeadResponse></soapenv:Body></soapenv:Envelope>"""


def test_a_lead_convertlead_gave_no_result_for_is_a_failure() -> None:
    requests = [ConvertRequest("00QA", None, None), ConvertRequest("00QB", None, None)]
    first, second = soap_convert.results(ONE_RESULT, requests)
    assert (first.success, first.account_id, first.contact_id) == (True, "001A", "003A")
    assert (second.lead_id, second.success, second.error_code) == ("00QB", False, "NO_RESULT")


def test_long_text_differing_only_in_line_endings_is_the_same() -> None:
    assert same("Processing_Notes__c", "line 1\nline 2", "line 1\r\nline 2")
    assert same("Processing_Notes__c", "line 1\r\nline 2", "line 1\nline 2")
    assert not same("Processing_Notes__c", "line 1\nline 2", "line 1\nline 3")


def test_a_naive_time_is_refused_as_a_soql_datetime() -> None:
    with pytest.raises(ValueError, match="needs an aware datetime"):
        datetime_literal(dt.datetime(2026, 11, 30, 9, 0))
    assert datetime_literal(dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.timezone(
        dt.timedelta(hours=1)))) == "2026-11-30T09:00:00Z"


def test_a_workspace_without_history_keeps_its_fields_through_an_event(t0: int) -> None:
    """A Workspace written before Trial_History__c existed (or by hand) starts its history from
    its own fields: an event that does not speak of plan or trial start leaves them alone."""
    org = FakeOrg()
    org.workspaces["ws-old"] = {
        "Id": org.new_id("a00"), "Workspace_ID__c": "ws-old", "Self_Serve_Status__c": "Paid",
        "Trial_Start_Date__c": "2026-01-05", "Trial_Expiration_Date__c": "2026-02-04",
        "Plan_Type__c": "Team", "MRR__c": 490, "Subscription_ID__c": "sub_9",
        "Conversion_Date__c": "2026-02-01", "Last_Event_Time__c": "2026-02-01T00:00:00Z"}
    run_cycle([lifecycle_entry("Churn", "ws-old", CHURN, t0)], org, "lifecycle-sync")
    ws = org.workspaces["ws-old"]
    assert ws["Self_Serve_Status__c"] == "Churned"
    assert (ws["Plan_Type__c"], ws["Trial_Start_Date__c"], ws["Subscription_ID__c"]) == (
        "Team", "2026-01-05", "sub_9")


def test_a_null_event_data_is_missing_not_malformed(t0: int) -> None:
    event = parse_entry(lifecycle_entry("Trial", "w", {}, t0, Event_Data__c=None),
                        "lifecycle-sync")
    assert isinstance(event, Invalid)
    assert event.error_class == "missing event data"
    assert event.event_data == ""  # the parked row gets no made-up Event_Data__c


def test_an_older_event_does_not_overwrite_a_newer_email(t0: int) -> None:
    org = FakeOrg()
    run_cycle([lifecycle_entry("Trial", "ws-e", {"trial_expiration": "2026-12-31"},
                               t0 + 60_000, email="new@acme.example")], org, "lifecycle-sync")
    run_cycle([lifecycle_entry("Conversion", "ws-e", {"subscription_id": "sub_1",
                                                      "plan_type": "Team", "mrr": 490},
                               t0, email="old@acme.example")], org, "lifecycle-sync")
    assert org.workspaces["ws-e"]["Email__c"] == "new@acme.example"
