"""sObject Collections and Composite where Salesforce refuses what the emulator used to accept
(issue 13 items 2, 3, 7, 8, 9, 16, 17). Each assertion names its source."""

from __future__ import annotations

from typing import Any

import pytest
from conftest_org import OrgHarness, org_emulator_fixture, org_harness_fixture  # noqa: F401

V = "/services/data/v62.0"
ALL_OR_NONE_DOC = ("https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/"
                   "resources_composite_allornone.htm")
UPDATE_DOC = ("https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/"
              "resources_composite_sobjects_collections_update.htm")


def _count(h: OrgHarness, soql: str) -> int:
    return int(h.sf().query(soql)["totalSize"])


def _account(name: str, **fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Account"}, "Name": name, **fields}


def test_composite_all_or_none_overrides_nested_collection(org_harness: OrgHarness) -> None:
    collection = {"allOrNone": False, "records": [
        _account("Override Good"), {"attributes": {"type": "Account"}, "Website": "no.name"}]}
    response = org_harness.call("POST", "composite", json={"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": f"{V}/composite/sobjects", "referenceId": "accounts",
         "body": collection},
        {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "other",
         "body": {"Name": "Override Other"}},
    ]})

    [accounts, other] = response.json()["compositeResponse"]
    # REST guide, resources_composite_allornone: the Composite's allOrNone true applies to the
    # nested sObject Collections, overriding its own allOrNone false.
    [good, bad] = accounts["body"]
    assert good["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert bad["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert other["httpStatusCode"] == 400
    assert other["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert _count(org_harness, "SELECT COUNT() FROM Account WHERE Name LIKE 'Override %'") == 0


def _nested_collection(h: OrgHarness, verb: str) -> tuple[str, str, Any, str, int]:
    """(method, URL, body, SOQL, its count once the good record's change is rolled back) for
    one good and one failing record, the collection's own allOrNone false."""
    if verb == "create":
        records = [_account("Nested New"), {"attributes": {"type": "Account"}, "Website": "x.io"}]
        return ("POST", "composite/sobjects", {"allOrNone": False, "records": records},
                "SELECT COUNT() FROM Account WHERE Name = 'Nested New'", 0)
    if verb == "update":
        account_id = h.create("Account", Name="Nested Update")
        records = [{"attributes": {"type": "Account"}, "id": account_id, "Website": "nested.io"},
                   {"attributes": {"type": "Account"}, "id": "001bad", "Website": "x.io"}]
        return ("PATCH", "composite/sobjects", {"allOrNone": False, "records": records},
                "SELECT COUNT() FROM Account WHERE Website = 'nested.io'", 0)
    if verb == "upsert":
        records = [{"attributes": {"type": "Workspace__c"}, "Workspace_ID__c": "nested-up",
                    "Name": "Nested Upsert"},
                   {"attributes": {"type": "Workspace__c"}, "Name": "No Key"}]
        return ("PATCH", "composite/sobjects/Workspace__c/Workspace_ID__c",
                {"allOrNone": False, "records": records},
                "SELECT COUNT() FROM Workspace__c WHERE Workspace_ID__c = 'nested-up'", 0)
    account_id = h.create("Account", Name="Nested Delete")
    return ("DELETE", f"composite/sobjects?ids={account_id},001bad&allOrNone=false", None,
            f"SELECT COUNT() FROM Account WHERE Id = '{account_id}'", 1)


@pytest.mark.parametrize("verb", ["create", "update", "upsert", "delete"])
def test_composite_all_or_none_overrides_every_collection_verb(
    org_harness: OrgHarness, verb: str
) -> None:
    method, url, body, soql, rolled_back_count = _nested_collection(org_harness, verb)
    subrequest = {"method": method, "url": f"{V}/{url}", "referenceId": "nested"}
    response = org_harness.call("POST", "composite", json={"allOrNone": True, "compositeRequest": [
        {**subrequest, **({"body": body} if body is not None else {})}]})

    [nested] = response.json()["compositeResponse"]
    [good, bad] = nested["body"]
    # REST guide, "allOrNone Parameters in Composite and Collections Requests"
    # (ALL_OR_NONE_DOC): the Composite's allOrNone true overrides the collection's own false,
    # for every sObject Collections verb, so the good record is reported rolled back.
    assert good["success"] is False, ALL_OR_NONE_DOC
    assert good["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK", ALL_OR_NONE_DOC
    assert bad["success"] is False
    assert _count(org_harness, soql) == rolled_back_count


def test_composite_all_or_none_false_keeps_collection_semantics(org_harness: OrgHarness) -> None:
    collection = {"allOrNone": False, "records": [
        _account("Keep Good"), {"attributes": {"type": "Account"}, "Website": "no.name"}]}
    response = org_harness.call("POST", "composite", json={"allOrNone": False, "compositeRequest": [
        {"method": "POST", "url": f"{V}/composite/sobjects", "referenceId": "accounts",
         "body": collection}]})

    [accounts] = response.json()["compositeResponse"]
    # resources_composite_allornone: with Composite allOrNone false, the collection's own flag
    assert [r["success"] for r in accounts["body"]] == [True, False]
    assert _count(org_harness, "SELECT COUNT() FROM Account WHERE Name = 'Keep Good'") == 1


def test_update_with_the_same_id_twice_fails_both(org_harness: OrgHarness) -> None:
    account_id = org_harness.create("Account", Name="Twice")
    other_id = org_harness.create("Account", Name="Once")
    records = [{"attributes": {"type": "Account"}, "id": account_id, "Website": "one.io"},
               {"attributes": {"type": "Account"}, "id": other_id, "Website": "fine.io"},
               {"attributes": {"type": "Account"}, "id": account_id[:15], "Website": "two.io"}]

    response = org_harness.call("PATCH", "composite/sobjects", json={"records": records})

    [first, fine, second] = response.json()
    # Help 000384876: duplicates in one batch fail with "Duplicate id specified: <id>".
    for result in (first, second):
        assert result["success"] is False
        assert result["errors"][0]["message"] == f"Duplicate id specified: {account_id}"
    assert fine["success"] is True
    assert org_harness.sf().Account.get(account_id)["Website"] is None


def test_upsert_record_of_another_type_is_refused(org_harness: OrgHarness) -> None:
    response = org_harness.call(
        "PATCH", "composite/sobjects/Workspace__c/Workspace_ID__c",
        json={"records": [{"attributes": {"type": "Account"}, "Workspace_ID__c": "wrong-type"}]})

    # Collections upsert page: "The list can contain objects only of the type indicated in the
    # request URI."
    assert response.status_code == 400
    assert _count(org_harness,
                  "SELECT COUNT() FROM Workspace__c WHERE Workspace_ID__c = 'wrong-type'") == 0


def test_upsert_keyed_on_id_is_refused(org_harness: OrgHarness) -> None:
    account_id = org_harness.create("Account", Name="Keyed On Id")
    response = org_harness.call("PATCH", "composite/sobjects/Account/Id", json={"records": [
        {"attributes": {"type": "Account"}, "Id": account_id, "Website": "id.io"}]})

    # Collections upsert page: "Only external ids are supported. Don't use record ids."
    assert response.status_code == 400
    assert org_harness.sf().Account.get(account_id)["Website"] is None


def test_duplicate_external_ids_in_one_request(org_harness: OrgHarness) -> None:
    records = [{"attributes": {"type": "Workspace__c"}, "Workspace_ID__c": "dup-ext", "Name": "A"},
               {"attributes": {"type": "Workspace__c"}, "Workspace_ID__c": "DUP-EXT", "Name": "B"}]
    response = org_harness.call("PATCH", "composite/sobjects/Workspace__c/Workspace_ID__c",
                                json={"records": records})

    # salesforce.stackexchange.com/questions/104048: "DUPLICATE_VALUE, Duplicate external id
    # specified: ABC123: [Name]" for every record sharing the key.
    for result in response.json():
        assert result["errors"] == [{"statusCode": "DUPLICATE_VALUE",
                                     "message": result["errors"][0]["message"],
                                     "fields": ["Workspace_ID__c"]}]
        assert result["errors"][0]["message"].startswith("Duplicate external id specified: ")


def test_create_with_more_than_10_type_chunks_is_refused(org_harness: OrgHarness) -> None:
    records = []
    for i in range(11):
        records.append(_account(f"Chunk {i}") if i % 2 == 0 else
                       {"attributes": {"type": "Contact"}, "LastName": f"Chunk {i}"})
    over = org_harness.call("POST", "composite/sobjects", json={"records": records})
    at_limit = org_harness.call("POST", "composite/sobjects", json={"records": records[:10]})

    # Collections create page: records are processed in chunks by type, at most 10 chunks.
    assert over.status_code == 400
    assert at_limit.status_code == 200
    assert all(r["success"] for r in at_limit.json())


def test_update_with_more_than_10_type_chunks_is_refused(org_harness: OrgHarness) -> None:
    records = []
    for i in range(11):
        kind = "Account" if i % 2 == 0 else "Contact"
        named = {"Name": f"Chunky {i}"} if kind == "Account" else {"LastName": f"Chunky {i}"}
        records.append({"attributes": {"type": kind}, "id": org_harness.create(kind, **named),
                        "Phone": "555-0100"})
    over = org_harness.call("PATCH", "composite/sobjects", json={"records": records})
    at_limit = org_harness.call("PATCH", "composite/sobjects", json={"records": records[:10]})

    # Update Records Using sObject Collections (UPDATE_DOC): "If the request body includes
    # objects of more than one type, they are processed as chunks. [...] A single request can
    # process up to 10 chunks."
    assert over.status_code == 400, UPDATE_DOC
    assert at_limit.status_code == 200, UPDATE_DOC
    assert all(r["success"] for r in at_limit.json()), at_limit.text


def test_reference_id_with_other_characters_is_refused(org_harness: OrgHarness) -> None:
    response = org_harness.call("POST", "composite", json={"compositeRequest": [
        {"method": "GET", "url": f"{V}/limits", "referenceId": "bad-ref"}]})
    fine = org_harness.call("POST", "composite", json={"compositeRequest": [
        {"method": "GET", "url": f"{V}/limits", "referenceId": "good_Ref_1"}]})

    # Composite Subrequest Result page: "The referenceIds must not contain anything besides
    # letters, numbers, and underscores".
    assert response.status_code == 400
    assert fine.status_code == 200
