"""SOQL answers Salesforce gives and the emulator used to be more generous about (issue 13).

Each assertion names its source: ID literals (item 6), a field selected twice (10), ``= ''``
(14, also on Id and lookup fields: a guess), booleans compared with null.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest_org import OrgHarness, org_emulator_fixture, org_harness_fixture  # noqa: F401


def _query(h: OrgHarness, soql: str) -> Any:
    return h.call("GET", "query/", params={"q": soql})


@pytest.mark.parametrize("where", [
    "Id = 'abc'",
    "Id IN ('', 'abc')",
    "Id IN ('00Q000000000001', 'not-an-id')",
    "ConvertedAccountId = 'abc'",
    "Id = '00Q8d000000000001AAAX'",
])
def test_malformed_id_literal_is_invalid_id_field(org_harness: OrgHarness, where: str) -> None:
    response = _query(org_harness, f"SELECT Id FROM Lead WHERE {where}")

    assert response.status_code == 400
    [error] = response.json()
    # restforce issue #557: a malformed Id in a query is INVALID_QUERY_FILTER_OPERATOR;
    # forcedotcom/salesforcedx-apex issue #153: message "...ERROR at Row:1:Column:N\ninvalid ID
    # field: <value>".
    assert error["errorCode"] == "INVALID_QUERY_FILTER_OPERATOR"
    assert "\ninvalid ID field: " in error["message"]
    assert "ERROR at Row:1:Column:" in error["message"]


def test_case_altered_id_is_a_valid_literal_matching_nothing(org_harness: OrgHarness) -> None:
    lead_id = org_harness.create("Lead", LastName="Case", Company="Case Co")

    lower = _query(org_harness, f"SELECT Id FROM Lead WHERE Id = '{lead_id.lower()}'")
    exact = _query(org_harness, f"SELECT Id FROM Lead WHERE Id = '{lead_id}'")

    # salesforce.stackexchange.com/questions/50163: a lower-cased 18-character Id returns 0 rows
    assert lower.status_code == 200
    assert lower.json()["totalSize"] == 0
    assert exact.json()["totalSize"] == 1


@pytest.mark.parametrize("fields", ["Id, Name, Id", "Name, name", "Id, ConvertedAccount.Name, "
                                                                  "convertedaccount.name"])
def test_field_selected_twice_is_refused(org_harness: OrgHarness, fields: str) -> None:
    response = _query(org_harness, f"SELECT {fields} FROM Lead")

    assert response.status_code == 400
    # SOQL guide, FIELDS() page: 400 [{"message": "duplicate field selected: Id",
    # "errorCode": "INVALID_FIELD"}]
    [error] = response.json()
    assert error["errorCode"] == "INVALID_FIELD"
    assert error["message"].startswith("duplicate field selected: ")


def test_empty_string_matches_null_text(org_harness: OrgHarness) -> None:
    lead_id = org_harness.create("Lead", LastName="NoMail", Company="Empty Str Co")

    equal = _query(org_harness, "SELECT Id FROM Lead WHERE Company = 'Empty Str Co' AND Email = ''")
    listed = _query(org_harness, "SELECT Id FROM Lead WHERE Company = 'Empty Str Co' AND "
                                 "Email IN ('', 'x@example.com')")
    other = _query(org_harness,
                   "SELECT Id FROM Lead WHERE Company = 'Empty Str Co' AND Email != ''")

    # Salesforce stores no empty strings; '' in a filter is null (community-reported, listed in
    # README as not confirmed by Salesforce's documentation).
    assert [r["Id"] for r in equal.json()["records"]] == [lead_id]
    assert [r["Id"] for r in listed.json()["records"]] == [lead_id]
    assert other.json()["totalSize"] == 0


def test_empty_string_on_id_and_lookup_fields_is_null(org_harness: OrgHarness) -> None:
    account_id = org_harness.create("Account", Name="Empty Id Co")
    linked = org_harness.create("Contact", LastName="EmptyIdLinked", AccountId=account_id)
    alone = org_harness.create("Contact", LastName="EmptyIdAlone")
    scope = "SELECT Id FROM Contact WHERE LastName LIKE 'EmptyId%' AND "

    equal = _query(org_harness, scope + "AccountId = ''")
    other = _query(org_harness, scope + "AccountId != ''")
    listed = _query(org_harness, scope + "AccountId IN ('')")
    by_id = _query(org_harness, scope + "Id != ''")

    # No source says whether Salesforce refuses '' on an Id or lookup field (README lists the
    # choice as a guess); the emulator treats it as null there too, as on text fields.
    assert [r["Id"] for r in equal.json()["records"]] == [alone], equal.text
    assert [r["Id"] for r in other.json()["records"]] == [linked]
    assert [r["Id"] for r in listed.json()["records"]] == [alone]
    assert by_id.json()["totalSize"] == 2


def test_boolean_null_matches_false(org_harness: OrgHarness) -> None:
    org_harness.create("Lead", LastName="Bool", Company="Bool Null Co")

    found = _query(org_harness,
                   "SELECT Id FROM Lead WHERE Company = 'Bool Null Co' AND IsConverted = null")
    not_null = _query(org_harness,
                      "SELECT Id FROM Lead WHERE Company = 'Bool Null Co' AND IsConverted != null")

    # SOQL guide, "Use null in WHERE" (sforce_api_calls_soql_null.htm): on a boolean field
    # "WHERE Test_c = null is equivalent to WHERE Test_c = false".
    assert found.json()["totalSize"] == 1
    assert not_null.json()["totalSize"] == 0


def test_desc_sorts_nulls_first_by_default(org_harness: OrgHarness) -> None:
    for name, site in (("Sort A", "a.example"), ("Sort B", None), ("Sort C", "c.example")):
        values: dict[str, Any] = {"Name": name}
        if site is not None:
            values["Website"] = site
        org_harness.create("Account", **values)

    base = "SELECT Name FROM Account WHERE Name LIKE 'Sort _' ORDER BY Website DESC"
    default = _query(org_harness, base).json()["records"]
    last = _query(org_harness, base + " NULLS LAST").json()["records"]

    # SOQL guide, ORDER BY: "By default, null values are sorted first."
    assert [r["Name"] for r in default] == ["Sort B", "Sort C", "Sort A"]
    assert [r["Name"] for r in last] == ["Sort C", "Sort A", "Sort B"]
