"""Inbox entries → typed events; every unusable value parked with a note that says why."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from entry_builders import CHURN, CONVERSION, TRIAL, change_entry, lifecycle_entry

from handlers.events import EventType, Invalid, LeadChange, Lifecycle
from handlers.parse import is_own_origin, parse_entry

CLIENT = "lifecycle-sync"


def parse(entry):
    return parse_entry(entry, CLIENT)


def test_trial_is_typed_and_email_normalised(t0):
    event = parse(lifecycle_entry("Trial", " ws-1 ", TRIAL, t0, email="  Dana@ACME.Example.COM "))
    assert isinstance(event, Lifecycle)
    assert event.kind is EventType.TRIAL
    assert event.workspace_id == "ws-1"
    assert event.email == "dana@acme.example.com"
    assert event.trial_expiration == dt.date(2026, 12, 31)
    assert event.at == dt.datetime.fromtimestamp(t0 / 1000, dt.UTC)


def test_conversion_and_churn_details(t0):
    conv = parse(lifecycle_entry("Conversion", "ws-1", {**CONVERSION, "mrr": "12.345"}, t0))
    assert isinstance(conv, Lifecycle)
    assert conv.mrr == Decimal("12.35")
    assert conv.detail("plan_type") == "Team"
    churn = parse(lifecycle_entry("Churn", "ws-1", {"churn_date": "2027-01-01"}, t0, email=None))
    assert isinstance(churn, Lifecycle)
    assert churn.detail("churn_reason") is None


@pytest.mark.parametrize("data", [{}, {"trial_expiration": None}, {"trial_expiration": "  "}])
def test_a_trial_without_expiration_parses_for_the_rules_to_default(t0, data):
    event = parse(lifecycle_entry("Trial", "ws-1", data, t0))
    assert isinstance(event, Lifecycle)
    assert event.trial_expiration is None


@pytest.mark.parametrize(("raw", "kept"), [(-5, Decimal("-5.00")), ("1e20", Decimal("1e20"))])
def test_an_mrr_out_of_range_parses_for_the_rules_to_judge(t0, raw, kept):
    event = parse(lifecycle_entry("Conversion", "ws-1", {**CONVERSION, "mrr": raw}, t0))
    assert isinstance(event, Lifecycle)
    assert event.mrr == kept


def test_usage_figures_nested_or_beside_the_lifecycle_fields(t0):
    nested = parse(lifecycle_entry("Trial", "ws-1", {**TRIAL, "usage": {
        "seats": 3, "projects": 2.5, "active": True, "plan": "x"}}, t0))
    beside = parse(lifecycle_entry("Conversion", "ws-1", {**CONVERSION, "seats": 9}, t0))
    assert isinstance(nested, Lifecycle)
    assert isinstance(beside, Lifecycle)
    assert nested.usage == (("projects", 2.5), ("seats", 3.0))
    assert beside.usage == (("seats", 9.0),)  # mrr is a lifecycle field, not a usage figure


def test_iso_timestamp_and_created_date_fallback(t0):
    iso = parse(lifecycle_entry("Trial", "w", TRIAL, t0, Event_Timestamp__c=None,
                                CreatedDate="2026-11-30T07:16:14.123+00:00"))
    assert isinstance(iso, Lifecycle)
    assert iso.at == dt.datetime(2026, 11, 30, 7, 16, 14, 123000, tzinfo=dt.UTC)


@pytest.mark.parametrize(("kind", "ws", "data", "email", "error_class", "words"), [
    ("Upgrade", "w", TRIAL, "a@b.com", "unknown event type", "not Trial, Conversion or Churn"),
    ("Trial", "", TRIAL, "a@b.com", "missing workspace ID", "missing or blank"),
    ("Trial", "w" * 65, TRIAL, "a@b.com", "workspace ID too long", "65 characters"),
    ("Trial", "w\nx", TRIAL, "a@b.com", "workspace ID has control characters", "control"),
    ("Trial", "w", TRIAL, "", "missing email", "Trial needs"),
    ("Trial", "w", TRIAL, "not-an-address", "invalid email", "not a valid address"),
    ("Trial", "w", TRIAL, "a" * 75 + "@b.com", "invalid email", "80"),
    ("Trial", "w", TRIAL, "\u00fc@b.com", "invalid email", "not a valid address"),
    ("Trial", "w", "{not json", "a@b.com", "malformed event data", "not valid JSON"),
    ("Trial", "w", "[1]", "a@b.com", "malformed event data", "JSON list"),
    ("Trial", "w", "", "a@b.com", "missing event data", "empty"),
    ("Trial", "w", {"trial_expiration": "1999-01-01"}, "a@b.com", "bad trial_expiration",
     "outside"),
    ("Trial", "w", {"trial_expiration": "soon"}, "a@b.com", "bad trial_expiration", "date"),
    ("Conversion", "w", {**CONVERSION, "mrr": True}, None, "bad mrr", "not a number"),
    ("Conversion", "w", {**CONVERSION, "mrr": "NaN"}, None, "bad mrr", "finite"),
    ("Conversion", "w", {**CONVERSION, "plan_type": "p" * 81}, None, "plan_type too long", "80"),
    ("Conversion", "w", {**CONVERSION, "subscription_id": 7}, None, "bad subscription_id",
     "int"),
    ("Churn", "w", {"churn_reason": "x"}, None, "missing churn_date", "churn_date is missing"),
    ("Churn", "w", {**CHURN, "churn_reason": "r" * 300}, None, "churn_reason too long", "300"),
])
def test_invalid_events_say_exactly_what_is_wrong(t0, kind, ws, data, email, error_class, words):
    event = parse(lifecycle_entry(kind, ws, data, t0, email=email))
    assert isinstance(event, Invalid)
    assert event.error_class == error_class
    assert words in event.note
    if email and "@" in email:
        assert email not in event.note  # notes never repeat an address


def test_bad_timestamp_is_invalid(t0):
    event = parse(lifecycle_entry("Trial", "w", TRIAL, t0, Event_Timestamp__c="yesterday"))
    assert isinstance(event, Invalid)
    assert event.error_class == "bad event timestamp"


def test_lead_change_create_and_own_origin():
    event = parse(change_entry("CREATE", ("00Q1",), {"Email": "Dana@Acme.com"}, (),
                               "com/salesforce/api/rest/62.0;client=marketo"))
    assert isinstance(event, LeadChange)
    assert (event.email, event.own) == ("dana@acme.com", False)
    mine = parse(change_entry("UPDATE", ("00Q1",), {"IsConverted": True}, ("IsConverted",),
                              "com/salesforce/api/soap/62.0;client=lifecycle-sync"))
    assert isinstance(mine, LeadChange)
    assert mine.own
    assert mine.converted


@pytest.mark.parametrize(("origin", "own"), [
    ("com/salesforce/api/rest/62.0;client=lifecycle-sync", True),
    ("com/salesforce/api/soap/62.0;client=lifecycle-sync/", True),
    ("com/salesforce/api/rest/62.0;client=lifecycle-sync-2", False),
    ("com/salesforce/api/rest/62.0", False),
    ("", False),
])
def test_own_origin(origin, own):
    assert is_own_origin(origin, CLIENT) is own
