"""Single-record REST through simple-salesforce: status codes, IDs, formats, validation, upsert.

Expected codes and bodies come from the research notes §2.1-2.2 and §2.6: create 201, update
and delete 204 with no body, upsert 201/200/300/404, 18-character IDs with key prefixes and
checksums, Salesforce's dateTime format, and Salesforce's error codes for bad records.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest_org import OrgHarness, org_emulator_fixture, org_harness_fixture  # noqa: F401
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

from emulator.ids import checksum, is_valid

DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000")


def errors_of(exc: pytest.ExceptionInfo[Any]) -> list[dict[str, Any]]:
    content = exc.value.content
    assert isinstance(content, list)
    return content


def test_create_get_update_delete(org_harness: OrgHarness) -> None:
    sf = org_harness.sf()
    created = sf.Lead.create({"LastName": "Lovelace", "Company": "Analytical", "Email": "a@x.io"})
    lead_id = created["id"]

    assert created == {"id": lead_id, "success": True, "errors": []}
    assert len(lead_id) == 18
    assert lead_id.startswith("00Q")
    assert is_valid(lead_id)
    assert lead_id[15:] == checksum(lead_id[:15])
    record = sf.Lead.get(lead_id)
    assert record["attributes"] == {"type": "Lead",
                                    "url": f"/services/data/v62.0/sobjects/Lead/{lead_id}"}
    assert DATETIME.fullmatch(record["CreatedDate"])
    assert record["Status"] == "Open - Not Contacted"
    assert record["IsConverted"] is False
    assert sf.Lead.update(lead_id, {"FirstName": "Ada"}) == 204
    assert sf.Lead.get(lead_id[:15])["FirstName"] == "Ada"
    assert sf.Lead.delete(lead_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as gone:
        sf.Lead.get(lead_id)
    assert errors_of(gone)[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_update_and_delete_answer_204_without_a_body(org_harness: OrgHarness) -> None:
    lead_id = org_harness.create("Lead", LastName="B", Company="C")

    patched = org_harness.call("PATCH", f"sobjects/Lead/{lead_id}", json={"Title": "CTO"})
    deleted = org_harness.call("DELETE", f"sobjects/Lead/{lead_id}")

    for response in (patched, deleted):
        assert response.status_code == 204
        assert response.content == b""


def test_object_and_field_names_are_case_insensitive(org_harness: OrgHarness) -> None:
    response = org_harness.call("POST", "sobjects/lead/", json={"lastname": "L", "COMPANY": "C"})
    assert response.status_code == 201
    record = org_harness.call("GET", f"sobjects/LEAD/{response.json()['id']}",
                              params={"fields": "lastName,company"}).json()

    assert record == {"attributes": record["attributes"], "LastName": "L", "Company": "C"}
    assert record["attributes"]["type"] == "Lead"


def test_unknown_object_record_and_field(org_harness: OrgHarness) -> None:
    sf = org_harness.sf()
    not_found = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]

    assert org_harness.call("GET", "sobjects/Nope__c/describe").json() == not_found
    assert org_harness.call("GET", "sobjects/Lead/00Q8d0000000zzzAAA").status_code == 404
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Lead.create({"LastName": "L", "Company": "C", "Shoe_Size__c": 9})
    assert errors_of(exc) == [{"message": "No such column 'Shoe_Size__c' on sobject of type Lead",
                               "errorCode": "INVALID_FIELD"}]


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        ({"LastName": "L"}, "REQUIRED_FIELD_MISSING", ["Company"]),
        ({}, "REQUIRED_FIELD_MISSING", ["LastName", "Company"]),
        ({"LastName": "L" * 81, "Company": "C"}, "STRING_TOO_LONG", ["LastName"]),
        ({"LastName": "L", "Company": "C", "Email": "not-an-email"}, "INVALID_EMAIL_ADDRESS",
         ["Email"]),
        ({"LastName": "L", "Company": "C", "IsConverted": True},
         "INVALID_FIELD_FOR_INSERT_UPDATE", ["IsConverted"]),
        ({"LastName": "L", "Company": "C", "OwnerId": "005000000000000AAA"},
         "INVALID_CROSS_REFERENCE_KEY", ["OwnerId"]),
        ({"LastName": "L", "Company": "C", "NumberOfEmployees": 123456789},
         "NUMBER_OUTSIDE_VALID_RANGE", ["NumberOfEmployees"]),
    ],
)
def test_record_rule_violations(
    org_harness: OrgHarness, body: dict[str, Any], code: str, fields: list[str]
) -> None:
    response = org_harness.call("POST", "sobjects/Lead/", json=body)

    assert response.status_code == 400
    [error] = response.json()
    assert (error["errorCode"], error["fields"]) == (code, fields)
    assert error["message"]


def test_messages_follow_salesforce_wording(org_harness: OrgHarness) -> None:
    missing = org_harness.call("POST", "sobjects/Lead/", json={}).json()[0]
    too_long = org_harness.call("POST", "sobjects/Account/", json={"Name": "x" * 256}).json()[0]

    assert missing["message"] == "Required fields are missing: [LastName, Company]"
    assert too_long["message"] == f"Name: data value too large: {'x' * 256} (max length=255)"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"NumberOfEmployees": "many"}, "Cannot deserialize instance of double from VALUE_STRING"),
        ({"HasOptedOutOfEmail": 3}, "Cannot deserialize instance of boolean from VALUE_NUMBER_INT"),
        ({"Company": {"x": 1}}, "Cannot deserialize instance of string from START_OBJECT"),
    ],
)
def test_wrong_json_types_are_json_parser_errors(
    org_harness: OrgHarness, body: dict[str, Any], fragment: str
) -> None:
    response = org_harness.call("POST", "sobjects/Lead/", json={"LastName": "L", "Company": "C",
                                                                **body})

    assert response.status_code == 400
    [error] = response.json()
    assert error["errorCode"] == "JSON_PARSER_ERROR"
    assert fragment in error["message"]


def test_restricted_picklist_and_unique_external_id(org_harness: OrgHarness) -> None:
    bad = org_harness.call("POST", "sobjects/Workspace__c/",
                           json={"Name": "W", "Self_Serve_Status__c": "Gold"})
    org_harness.create("Workspace__c", Name="W", Workspace_ID__c="ws-unique-1")
    dup = org_harness.call("POST", "sobjects/Workspace__c/",
                           json={"Name": "W", "Workspace_ID__c": "WS-UNIQUE-1"})

    assert bad.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert bad.json()[0]["message"] == (
        "Self-Serve Status: bad value for restricted picklist field: Gold")
    assert dup.status_code == 400
    assert dup.json()[0]["errorCode"] == "DUPLICATE_VALUE"
    assert "duplicate value found: Workspace_ID__c" in dup.json()[0]["message"]


def test_converted_lead_cannot_be_updated(org_harness: OrgHarness) -> None:
    lead_id = org_harness.create("Lead", LastName="L", Company="C")
    with org_harness.org.store.transaction(org_harness.info["user_id"]) as tx:
        tx.update("Lead", lead_id, {"IsConverted": True, "Status": "Closed - Converted"})

    response = org_harness.call("PATCH", f"sobjects/Lead/{lead_id}", json={"Title": "x"})

    assert response.status_code == 400
    assert response.json() == [{"message": "cannot reference converted lead",
                                "errorCode": "CANNOT_UPDATE_CONVERTED_LEAD", "fields": []}]


def test_upsert_creates_then_updates_case_insensitively(org_harness: OrgHarness) -> None:
    sf = org_harness.sf()
    created = org_harness.call("PATCH", "sobjects/Workspace__c/Workspace_ID__c/ws-up-1",
                               json={"Name": "First"})
    updated = org_harness.call("PATCH", "sobjects/Workspace__c/workspace_id__c/WS-UP-1",
                               json={"Name": "Second"})

    assert created.status_code == 201
    assert created.json() == {"id": created.json()["id"], "success": True, "errors": [],
                              "created": True}
    assert updated.status_code == 200
    assert updated.json() == {"id": created.json()["id"], "success": True, "errors": [],
                              "created": False}
    assert sf.Workspace__c.get_by_custom_id("Workspace_ID__c", "ws-up-1")["Name"] == "Second"
    assert sf.Workspace__c.upsert("Workspace_ID__c/ws-up-1", {"Name": "Third"}) == 200


def test_upsert_before_api_46_answers_204(org_harness: OrgHarness) -> None:
    org_harness.create("Workspace__c", Name="W", Workspace_ID__c="ws-old-api")
    url = f"{org_harness.info['instance_url']}/services/data/v45.0/sobjects/Workspace__c/" \
          "Workspace_ID__c/ws-old-api"
    response = org_harness.session.patch(url, json={"Name": "X"}, timeout=10,
                                         headers={"Authorization": f"Bearer {org_harness.token}"})

    assert (response.status_code, response.content) == (204, b"")


def test_upsert_with_several_matches_is_300_and_writes_nothing(org_harness: OrgHarness) -> None:
    for _ in range(2):
        org_harness.create("Lead", LastName="Twin", Company="C", Workspace_ID__c="ws-twin")
    sf = org_harness.sf()

    with pytest.raises(SalesforceMoreThanOneRecord) as exc:
        sf.Lead.upsert("Workspace_ID__c/ws-twin", {"Title": "changed"})

    urls = exc.value.content
    assert len(urls) == 2
    assert all(u.startswith("/services/data/v62.0/sobjects/Lead/00Q") for u in urls)
    titles = sf.query("SELECT Title FROM Lead WHERE Workspace_ID__c = 'ws-twin'")["records"]
    assert [r["Title"] for r in titles] == [None, None]


def test_upsert_on_a_field_that_is_not_an_external_id_is_404(org_harness: OrgHarness) -> None:
    unknown = org_harness.call("PATCH", "sobjects/Lead/Shoe__c/x", json={"LastName": "L"})
    not_external = org_harness.call("PATCH", "sobjects/Lead/Email/a@b.c", json={"LastName": "L"})

    for response, name in ((unknown, "Shoe__c"), (not_external, "Email")):
        assert response.status_code == 404
        assert response.json() == [{
            "message": f"Provided external ID field does not exist or is not accessible: {name}",
            "errorCode": "NOT_FOUND"}]


def test_describe_and_global_describe(org_harness: OrgHarness) -> None:
    sf = org_harness.sf()
    described = sf.Lead.describe()
    everything = sf.describe()
    fields = {f["name"]: f for f in described["fields"]}

    assert described["keyPrefix"] == "00Q"
    assert fields["IsConverted"]["createable"] is False
    assert fields["LastName"]["nillable"] is False
    assert fields["Workspace_ID__c"]["externalId"] is True
    assert fields["ConvertedAccountId"]["referenceTo"] == ["Account"]
    assert "Closed - Converted" in [v["value"] for v in fields["Status"]["picklistValues"]]
    names = {o["name"] for o in everything["sobjects"]}
    assert {"Lead", "Account", "Workspace__c", "SelfServeTrialEvent__e"} <= names
    assert sf.Lead.metadata()["objectDescribe"]["name"] == "Lead"


def test_seeded_rows(org_harness: OrgHarness) -> None:
    sf = org_harness.sf()
    statuses = sf.query("SELECT MasterLabel, IsConverted, IsDefault FROM LeadStatus "
                        "ORDER BY SortOrder")["records"]
    users = sf.query("SELECT Id, Username FROM User")["records"]
    org = sf.query("SELECT Id FROM Organization")["records"]

    assert [(s["MasterLabel"], s["IsConverted"]) for s in statuses] == [
        ("Open - Not Contacted", False), ("Working - Contacted", False),
        ("Closed - Converted", True), ("Closed - Not Converted", False)]
    assert statuses[0]["IsDefault"] is True
    assert org_harness.info["user_id"] in {u["Id"] for u in users}
    assert len(users) == 3
    assert [o["Id"] for o in org] == [org_harness.info["tenant_id"]]


def test_platform_event_over_rest_lands_on_its_topic(org_harness: OrgHarness) -> None:
    bus = org_harness.emu.context.bus
    topic = "/event/SelfServeTrialEvent__e"
    before = bus.store.max_seq(topic)

    result = org_harness.sf().SelfServeTrialEvent__e.create(
        {"Email__c": "a@b.io", "Event_Type__c": "trial_started",
         "Event_Timestamp__c": "2024-05-01T12:00:00.000+0000"})

    assert result["success"] is True
    assert result["id"].startswith("e0")  # like the documented e01xx0000000001AAA
    assert is_valid(result["id"])
    [notice] = result["errors"]
    assert notice["statusCode"] == "OPERATION_ENQUEUED"
    [event] = bus.store.read_after(topic, before, 10)
    assert event.event_id == notice["message"]
    payload = bus.decode(event)
    assert payload["CreatedById"] == org_harness.info["user_id"]
    assert isinstance(payload["CreatedDate"], int)
    assert payload["Event_Timestamp__c"] == 1714564800000
    assert payload["Email__c"] == "a@b.io"
