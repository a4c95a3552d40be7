"""Only what differs is written; values read back in Salesforce's forms compare equal."""

from __future__ import annotations

from handlers.snapshot import WorkspaceRow
from handlers.view import View, same


def test_salesforce_forms_compare_equal():
    assert same("Last_Event_Time__c", "2026-09-21T14:13:20.000+0000", "2026-09-21T14:13:20.000Z")
    assert same("MRR__c", 490.0, 490)
    assert same("Lead__c", "00Q8d0000000001", "00Q8d0000000001EAA")
    assert same("Trial_History__c", "a\r\nb", "a\nb")
    assert same("Plan_Type__c", None, "")
    assert not same("Plan_Type__c", "Team", "team")


def test_unchanged_workspace_writes_nothing_even_with_cut_review_text():
    reasons = {f"reason {i} " + "x" * 100 for i in range(3)}
    view = View.of("ws", "ws", WorkspaceRow({"Id": "a00", "Workspace_ID__c": "ws"}))
    view.add_reasons |= reasons
    first = view.changes()
    assert len(first["Review_Reason__c"]) == 255
    assert first["Needs_Review__c"] is True
    again = View.of("ws", "ws", WorkspaceRow({"Id": "a00", "Workspace_ID__c": "ws",
                                              "Review_Reason__c": first["Review_Reason__c"],
                                              "Needs_Review__c": True}))
    again.add_reasons |= reasons
    assert again.changes() == {}


def test_one_parser_reads_every_salesforce_datetime_form():
    import datetime as dt

    from handlers.view import parse_instant
    want = dt.datetime(2026, 9, 21, 14, 13, 30, tzinfo=dt.UTC)
    for text in ("2026-09-21T14:13:30.000Z", "2026-09-21T14:13:30.000+0000",
                 "2026-09-21T14:13:30+00:00"):
        assert parse_instant(text) == want, text
    assert parse_instant("") is None
    assert parse_instant("not a time") is None
