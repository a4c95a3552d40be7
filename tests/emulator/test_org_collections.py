"""sObject Collections over plain HTTP: per-record results, allOrNone, limits (notes §2.4)."""

from __future__ import annotations

from typing import Any

from conftest_org import OrgHarness, org_emulator_fixture, org_harness_fixture  # noqa: F401

ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was "
               "using AllOrNone header",
    "fields": [],
}


def account(name: str | None, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"attributes": {"type": "Account"}, **extra}
    if name is not None:
        record["Name"] = name
    return record


def count_accounts(h: OrgHarness, name: str) -> int:
    return int(h.sf().query(f"SELECT COUNT() FROM Account WHERE Name = '{name}'")["totalSize"])


def test_create_reports_each_record_and_keeps_the_good_ones(org_harness: OrgHarness) -> None:
    response = org_harness.call("POST", "composite/sobjects", json={
        "records": [account("coll-good"), account(None), account("coll-good")]})

    assert response.status_code == 200
    [first, bad, third] = response.json()
    assert first["success"] is True
    assert first["id"].startswith("001")
    assert third["success"] is True
    assert bad == {"success": False, "errors": [{
        "statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [Name]",
        "fields": ["Name"]}]}
    assert count_accounts(org_harness, "coll-good") == 2


def test_all_or_none_rolls_everything_back(org_harness: OrgHarness) -> None:
    response = org_harness.call("POST", "composite/sobjects", json={
        "allOrNone": True, "records": [account("coll-aon"), account(None)]})

    assert response.status_code == 200
    assert response.json()[0] == {"success": False, "errors": [ROLLED_BACK]}
    assert response.json()[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert count_accounts(org_harness, "coll-aon") == 0


def test_update_with_bad_ids_fails_only_those_records(org_harness: OrgHarness) -> None:
    good = org_harness.create("Account", Name="coll-upd")
    lead = org_harness.create("Lead", LastName="L", Company="C")
    response = org_harness.call("PATCH", "composite/sobjects", json={"records": [
        {"attributes": {"type": "Account"}, "id": good, "Website": "https://upd.io"},
        {"attributes": {"type": "Account"}, "id": lead, "Website": "https://wrong.io"},
        {"attributes": {"type": "Account"}, "Website": "https://none.io"},
    ]})

    [ok, wrong_type, no_id] = response.json()
    assert ok == {"id": good, "success": True, "errors": []}
    assert wrong_type["errors"][0]["statusCode"] == "MALFORMED_ID"
    assert no_id["errors"] == [{"statusCode": "MISSING_ARGUMENT",
                                "message": "Id not specified in an update call", "fields": []}]
    assert org_harness.sf().Account.get(good)["Website"] == "https://upd.io"


def test_upsert_by_external_id(org_harness: OrgHarness) -> None:
    org_harness.create("Workspace__c", Name="Old", Workspace_ID__c="coll-ws-1")
    ws = [{"attributes": {"type": "Workspace__c"}, "Workspace_ID__c": "COLL-WS-1", "Name": "New"},
          {"attributes": {"type": "Workspace__c"}, "Workspace_ID__c": "coll-ws-2", "Name": "Two"},
          {"attributes": {"type": "Workspace__c"}, "Workspace_ID__c": "dup", "Name": "A"},
          {"attributes": {"type": "Workspace__c"}, "Workspace_ID__c": "DUP", "Name": "B"}]

    response = org_harness.call("PATCH", "composite/sobjects/Workspace__c/Workspace_ID__c",
                                json={"allOrNone": False, "records": ws})

    [updated, created, dup_a, dup_b] = response.json()
    assert (updated["success"], updated["created"]) == (True, False)
    assert (created["success"], created["created"]) == (True, True)
    for dup in (dup_a, dup_b):  # one key twice in a request: DUPLICATE_VALUE (SE question 104048)
        assert dup["errors"][0]["statusCode"] == "DUPLICATE_VALUE"
    rows = org_harness.sf().query("SELECT Name FROM Workspace__c WHERE Workspace_ID__c "
                                  "IN ('coll-ws-1', 'coll-ws-2') ORDER BY Name")["records"]
    assert [r["Name"] for r in rows] == ["New", "Two"]


def test_retrieve_and_delete(org_harness: OrgHarness) -> None:
    ids = [org_harness.create("Account", Name=f"coll-rd-{i}") for i in range(2)]
    missing = "001" + ids[0][3:14] + "zzzz"

    got = org_harness.call("GET", "composite/sobjects/Account",
                           params={"ids": ",".join([*ids, missing]), "fields": "Name,website"})
    deleted = org_harness.call("DELETE", "composite/sobjects",
                               params={"ids": ",".join([ids[0], "bogus"])})

    assert [r and r["Name"] for r in got.json()] == ["coll-rd-0", "coll-rd-1", None]
    assert set(got.json()[0]) == {"attributes", "Name", "Website"}
    [ok, bad] = deleted.json()
    assert ok == {"id": ids[0], "success": True, "errors": []}
    assert bad["success"] is False
    assert bad["errors"][0]["statusCode"] == "MALFORMED_ID"
    assert count_accounts(org_harness, "coll-rd-0") == 0


def test_more_than_200_records_is_refused(org_harness: OrgHarness) -> None:
    response = org_harness.call("POST", "composite/sobjects",
                                json={"records": [account("x") for _ in range(201)]})

    assert response.status_code == 400
    assert response.json() == [{
        "message": "record limit reached. cannot submit more than 200 records into this call",
        "errorCode": "EXCEEDED_ID_LIMIT"}]


def test_an_unknown_field_fails_the_whole_request(org_harness: OrgHarness) -> None:
    response = org_harness.call("POST", "composite/sobjects", json={
        "records": [account("coll-unknown"), account("coll-unknown", Shoe__c=1)]})

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_FIELD"
    assert count_accounts(org_harness, "coll-unknown") == 0


def test_a_collection_is_one_api_call(org_harness: OrgHarness) -> None:
    before = org_harness.org.usage.used()
    org_harness.call("POST", "composite/sobjects",
                     json={"records": [account(f"coll-call-{i}") for i in range(50)]})

    assert org_harness.org.usage.used() == before + 1
