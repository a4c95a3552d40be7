"""Bodies that used to crash the org: out-of-range and non-JSON numbers, unforeseen failures.

Salesforce answers a number a field cannot hold with 400 NUMBER_OUTSIDE_VALID_RANGE and a body
that is not JSON (``NaN``, ``Infinity``) with 400 JSON_PARSER_ERROR; anything else that breaks
is 500 UNKNOWN_EXCEPTION with an ErrorId, always as JSON (notes §2.6). Whole numbers come back
as JSON integers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest_org import OrgHarness, org_emulator_fixture, org_harness_fixture  # noqa: F401

from emulator.org import rest, sobjects
from emulator.server import Emulator, EmulatorSettings

V = "/services/data/v62.0"
ERROR_ID = re.compile(
    r"An unexpected error occurred\. Please include this ErrorId if you contact support: "
    r"\d{10}-\d+ \(-?\d+\)"
)


def post_lead(h: OrgHarness, employees: str) -> Any:
    body = '{"LastName": "Big", "Company": "Numbers", "NumberOfEmployees": ' + employees + "}"
    return h.call("POST", "sobjects/Lead/", data=body,
                  headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(("raw", "shown"), [
    ("1e30", "1.0E30"), ("1e400", "Infinity"), ("-1e300", "-1.0E300"),
    ("1" + "0" * 400, "Infinity"), ("-" + "9" * 5000, "-Infinity"), ('"1e30"', "1.0E30"),
    ("100000000", "1.0E8"),
])
def test_out_of_range_numbers_are_number_outside_valid_range(
    org_harness: OrgHarness, raw: str, shown: str
) -> None:
    response = post_lead(org_harness, raw)

    assert response.status_code == 400
    assert response.json() == [{
        "message": f"NumberOfEmployees: value outside of valid range on numeric field: {shown}",
        "errorCode": "NUMBER_OUTSIDE_VALID_RANGE", "fields": ["NumberOfEmployees"]}]


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", '"NaN"', '"Infinity"', '"1_0"'])
def test_nan_and_infinity_are_json_parser_errors(org_harness: OrgHarness, raw: str) -> None:
    response = post_lead(org_harness, raw)

    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/json")
    [error] = response.json()
    assert error["errorCode"] == "JSON_PARSER_ERROR"


def test_a_bad_number_fails_only_its_composite_subrequest(org_harness: OrgHarness) -> None:
    body = {"allOrNone": False, "compositeRequest": [
        {"method": "POST", "url": f"{V}/sobjects/Lead", "referenceId": "big",
         "body": {"LastName": "Big", "Company": "C", "NumberOfEmployees": 1e30}},
        {"method": "POST", "url": f"{V}/sobjects/Lead", "referenceId": "fine",
         "body": {"LastName": "Fine", "Company": "C", "NumberOfEmployees": 12}},
    ]}
    response = org_harness.call("POST", "composite", json=body)
    non_json = org_harness.call(
        "POST", "composite", headers={"Content-Type": "application/json"},
        data=f'{{"compositeRequest": [{{"method": "POST", "url": "{V}/sobjects/Lead", '
             '"referenceId": "nan", "body": {"LastName": "N", "NumberOfEmployees": NaN}}]}')

    assert response.status_code == 200
    big, fine = response.json()["compositeResponse"]
    assert (big["httpStatusCode"], big["body"][0]["errorCode"]) == (400,
                                                                     "NUMBER_OUTSIDE_VALID_RANGE")
    assert fine["httpStatusCode"] == 201
    assert non_json.status_code == 400
    assert non_json.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_unexpected_failures_are_json_500s(
    org_harness: OrgHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(sobjects, "describe", broken)
    plain = org_harness.call("GET", "sobjects/Lead/describe")
    inside = org_harness.call("POST", "composite", json={"compositeRequest": [
        {"method": "GET", "url": f"{V}/sobjects/Lead/describe", "referenceId": "d"},
        {"method": "GET", "url": f"{V}/limits", "referenceId": "l"}]})
    monkeypatch.setattr(rest, "serve", broken)
    outside = org_harness.call("GET", "limits")

    for response in (plain, outside):
        assert response.status_code == 500
        assert response.headers["Content-Type"].startswith("application/json")
        [error] = response.json()
        assert error["errorCode"] == "UNKNOWN_EXCEPTION"
        assert ERROR_ID.fullmatch(error["message"])
    assert inside.status_code == 200
    failed, limits = inside.json()["compositeResponse"]
    assert (failed["httpStatusCode"], failed["body"][0]["errorCode"]) == (500, "UNKNOWN_EXCEPTION")
    assert limits["httpStatusCode"] == 200


def test_whole_number_fields_are_json_integers(org_harness: OrgHarness) -> None:
    sf = org_harness.sf()
    lead_id = sf.Lead.create({"LastName": "Int", "Company": "C", "NumberOfEmployees": "12.5",
                              "AnnualRevenue": 1000})["id"]
    record = sf.Lead.get(lead_id)
    queried = sf.query(f"SELECT NumberOfEmployees FROM Lead WHERE Id = '{lead_id}'")["records"]
    statuses = sf.query("SELECT SortOrder FROM LeadStatus ORDER BY SortOrder")["records"]

    assert record["NumberOfEmployees"] == 13
    assert isinstance(record["NumberOfEmployees"], int)
    assert isinstance(queried[0]["NumberOfEmployees"], int)
    assert [s["SortOrder"] for s in statuses] == [1, 2, 3, 4]
    assert all(isinstance(s["SortOrder"], int) for s in statuses)


def test_whole_numbers_stay_integers_across_a_restart(tmp_path: Path) -> None:
    settings = EmulatorSettings(state_dir=tmp_path / "state")
    with Emulator(settings) as emu:
        user = emu.context.identity.integration_user_id
        with emu.org.store.transaction(user) as tx:
            lead_id = tx.insert("Lead", {"LastName": "R", "Company": "C",
                                         "NumberOfEmployees": 7.0})
    with Emulator(settings) as emu, emu.org.store.transaction(user) as tx:
        lead = tx.get("Lead", lead_id)
        status = tx.find("LeadStatus", "MasterLabel", "Working - Contacted")[0]

    assert lead is not None
    assert (lead["NumberOfEmployees"], type(lead["NumberOfEmployees"])) == (7, int)
    assert (status["SortOrder"], type(status["SortOrder"])) == (2, int)


def test_composite_subrequest_versions_fail_alone(org_harness: OrgHarness) -> None:
    response = org_harness.call("POST", "composite", json={"compositeRequest": [
        {"method": "GET", "url": "/services/data/v20.0/limits", "referenceId": "retired"},
        {"method": "GET", "url": "/services/data/v99.0/limits", "referenceId": "future"},
        {"method": "GET", "url": f"{V}/limits", "referenceId": "now"}]})

    assert response.status_code == 200
    retired, future, now = response.json()["compositeResponse"]
    assert (retired["httpStatusCode"], retired["body"][0]["errorCode"]) == (410, "GONE")
    assert (future["httpStatusCode"], future["body"][0]["errorCode"]) == (404, "NOT_FOUND")
    assert now["httpStatusCode"] == 200


def test_duplicate_reference_ids_refuse_the_composite(org_harness: OrgHarness) -> None:
    response = org_harness.call("POST", "composite", json={"compositeRequest": [
        {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "twice",
         "body": {"Name": "Dup Ref One"}},
        {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "twice",
         "body": {"Name": "Dup Ref Two"}}]})
    written = org_harness.sf().query("SELECT Id FROM Account WHERE Name LIKE 'Dup Ref%'")

    assert response.status_code == 400
    assert response.json() == [{"errorCode": "INVALID_API_INPUT",
                                "message": "Duplicate ReferenceId provided in the request: twice"}]
    assert written["totalSize"] == 0
