"""Lead assignment rules and ``Sforce-Auto-Assign`` over HTTPS, per Salesforce's documentation.

Sources (quoted in :mod:`emulator.org.assignment`): REST API Developer Guide, "Assignment Rule
Header" (TRUE / FALSE / an AssignmentRule ID, not case-sensitive, TRUE when absent, the ID form
for created records); SOAP API "AssignmentRuleHeader" (a rule named by ID may be inactive; a
malformed ID fails with MALFORMED_ID); Apex ``DmlOptions.AssignmentRuleHeader`` (API 30.0+: no
rule leaves the record with its owner); Salesforce Help "Assignment Rules" (entries in order,
first match wins, otherwise the default Lead owner from Lead Settings).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from conftest_org import OrgHarness, org_emulator_fixture, org_harness_fixture  # noqa: F401


@pytest.fixture
def h(org_harness: OrgHarness) -> Iterator[OrgHarness]:
    yield org_harness
    org_harness.admin("POST", "/org/assignment-rules/clear")


_serial = itertools.count(1)


def _user(h: OrgHarness, name: str) -> str:
    """A new user (the emulator is shared by the module: usernames must stay unique)."""
    username = f"{name}{next(_serial)}@rules.example.com"
    return h.create("User", Username=username, LastName=name, Email=username)


def _rule(h: OrgHarness, entries: list[dict[str, Any]], active: bool = True) -> str:
    return str(h.admin("POST", "/org/assignment-rules",
                       {"name": "Territories", "active": active, "entries": entries})["id"])


def _entry(order: int, owner: str, field: str, operator: str, value: str) -> dict[str, Any]:
    return {"order": order, "owner_id": owner,
            "criteria": [{"field": field, "operator": operator, "value": value}]}


def _owner(h: OrgHarness, lead_id: str) -> str:
    return str(h.call("GET", f"sobjects/Lead/{lead_id}").json()["OwnerId"])


def _lead(email: str, country: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"LastName": "Ng", "Company": "Acme", "Email": email}
    return {**body, "Country": country} if country else body


def _create(h: OrgHarness, body: dict[str, Any], header: str | None) -> Any:
    headers = {} if header is None else {"Sforce-Auto-Assign": header}
    return h.call("POST", "sobjects/Lead", json=body, headers=headers)


@pytest.fixture
def territory(h: OrgHarness) -> dict[str, str]:
    """An active rule: acme.com addresses to ``acme``, then France to ``france``."""
    acme, france, fallback = _user(h, "acme"), _user(h, "france"), _user(h, "fallback")
    rule = _rule(h, [_entry(2, france, "Country", "equals", "France, Belgium"),
                     _entry(1, acme, "Email", "contains", "@acme.com")])
    h.admin("POST", "/org/assignment-rules", {"default_lead_owner": fallback})
    return {"acme": acme, "france": france, "fallback": fallback, "rule": rule}


def test_without_the_header_the_active_rule_applies(h: OrgHarness,
                                                    territory: dict[str, str]) -> None:
    # "If the header is not provided in the request, the default value is TRUE."
    made = _create(h, _lead("ann@ACME.com", "France"), None)
    assert made.status_code == 201, made.text
    assert _owner(h, made.json()["id"]) == territory["acme"]  # entry order 1 wins over 2


@pytest.mark.parametrize("value", ["TRUE", "true", "True"])
def test_true_in_any_case_applies_entries_in_order(h: OrgHarness, territory: dict[str, str],
                                                   value: str) -> None:
    french = _create(h, _lead("luc@example.fr", "france"), value).json()["id"]
    nowhere = _create(h, _lead("kim@example.de", "Germany"), value).json()["id"]
    assert _owner(h, french) == territory["france"]
    assert _owner(h, nowhere) == territory["fallback"]  # no entry: Lead Settings' default owner


def test_false_keeps_the_creating_user(h: OrgHarness, territory: dict[str, str]) -> None:
    lead = _create(h, _lead("ann@acme.com"), "false").json()["id"]
    assert _owner(h, lead) == h.info["user_id"]


def test_an_inactive_rule_applies_only_when_named_by_id(h: OrgHarness) -> None:
    named = _user(h, "named")
    inactive = _rule(h, [_entry(1, named, "Email", "contains", "@acme.com")], active=False)
    by_default = _create(h, _lead("ann@acme.com"), "TRUE").json()["id"]
    by_id = _create(h, _lead("bob@acme.com"), inactive[:15]).json()["id"]
    assert _owner(h, by_default) == h.info["user_id"]  # API 30.0+: no active rule, no change
    assert _owner(h, by_id) == named


def test_activating_a_rule_deactivates_the_other(h: OrgHarness) -> None:
    first, second = _user(h, "first"), _user(h, "second")
    _rule(h, [_entry(1, first, "Email", "contains", "@acme.com")])
    _rule(h, [_entry(1, second, "Email", "contains", "@acme.com")])
    assert _owner(h, _create(h, _lead("ann@acme.com"), None).json()["id"]) == second


def test_a_malformed_rule_id_fails_the_call(h: OrgHarness, territory: dict[str, str]) -> None:
    made = _create(h, _lead("ann@acme.com"), "yes please")
    assert made.status_code == 400
    assert made.json()[0]["errorCode"] == "MALFORMED_ID"


def test_collections_create_assigns_each_record_in_one_call(
        h: OrgHarness, territory: dict[str, str]) -> None:
    h.org.counters.reset()
    records = [{"attributes": {"type": "Lead"}, **_lead(e, c)}
               for e, c in (("a@acme.com", None), ("b@x.fr", "Belgium"), ("c@x.de", None))]
    answer = h.call("POST", "composite/sobjects", json={"allOrNone": False, "records": records},
                    headers={"Sforce-Auto-Assign": "TRUE"}).json()
    assert [_owner(h, r["id"]) for r in answer] == [
        territory["acme"], territory["france"], territory["fallback"]]
    assert h.org.counters.snapshot()["total"] >= 1
    off = h.call("POST", "composite/sobjects", json={"records": records[:1]},
                 headers={"Sforce-Auto-Assign": "FALSE"}).json()
    assert _owner(h, off[0]["id"]) == h.info["user_id"]


def test_upserts_that_create_assign_them(h: OrgHarness, territory: dict[str, str]) -> None:
    # SOAP "AssignmentRuleHeader": API calls create(), merge(), update(), upsert(); REST
    # "Assignment Rule Header": applied to created records. Upsert by an external ID that
    # creates a Lead therefore runs the rule, in Collections and in the single-record form.
    records = [{"attributes": {"type": "Lead"}, "Workspace_ID__c": "ws-up-1",
                **_lead("a@acme.com")}]
    answer = h.call("PATCH", "composite/sobjects/Lead/Workspace_ID__c",
                    json={"allOrNone": False, "records": records}).json()
    assert answer[0]["created"] is True
    assert _owner(h, answer[0]["id"]) == territory["acme"]
    single = h.call("PATCH", "sobjects/Lead/Workspace_ID__c/ws-up-2",
                    json=_lead("b@x.fr", "France"), headers={"Sforce-Auto-Assign": "TRUE"})
    assert single.status_code == 201, single.text
    assert _owner(h, single.json()["id"]) == territory["france"]
    off = h.call("PATCH", "sobjects/Lead/Workspace_ID__c/ws-up-3",
                 json=_lead("c@acme.com"), headers={"Sforce-Auto-Assign": "FALSE"})
    assert _owner(h, off.json()["id"]) == h.info["user_id"]


def test_other_objects_are_not_assigned(h: OrgHarness, territory: dict[str, str]) -> None:
    account = h.create("Account", Name="acme.com")
    owner = h.call("GET", f"sobjects/Account/{account}").json()["OwnerId"]
    assert owner == h.info["user_id"]


@pytest.mark.parametrize(("operator", "value", "matches"), [
    ("equals", "france, Belgium", ["France", "belgium"]),
    ("notEqual", "France", ["Belgium", ""]),
    ("contains", "@acme.com", ["ann@ACME.com"]),
    ("startsWith", "Bel, Fra", ["Belgium", "france"]),
])
def test_criteria_operators_compare_without_case(operator: str, value: str,
                                                 matches: list[str]) -> None:
    """Help, "Assignment Rules" filter criteria: text compares ignoring case; comma-separated
    values are alternatives."""
    from emulator.org.assignment import Criterion

    field = "Email" if operator == "contains" else "Country"
    criterion = Criterion(field, operator, value)
    others = {"equals": ["Germany"], "notEqual": ["france"], "contains": ["ann@acme.co"],
              "startsWith": ["Germany"]}[operator]
    assert [criterion.matches({field: v}) for v in matches] == [True] * len(matches)
    assert [criterion.matches({field: v}) for v in others] == [False] * len(others)


@pytest.mark.parametrize("entry", [
    {"order": 1, "owner_id": "005000000000001AAA",
     "criteria": [{"field": "Country", "operator": "matches", "value": "x"}]},
    {"order": 1, "owner_id": "not an id", "criteria": []},
    {"owner_id": "005000000000001AAA", "criteria": []},
])
def test_the_admin_api_refuses_a_rule_it_cannot_model(h: OrgHarness, entry: dict[str, Any]
                                                      ) -> None:
    url = f"{h.info['admin_url']}/org/assignment-rules"
    answer = h.admin_session.post(url, json={"entries": [entry]}, timeout=10)
    assert answer.status_code == 400
    assert h.org.assignment.rules == {}
