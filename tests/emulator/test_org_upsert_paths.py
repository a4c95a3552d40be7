"""External IDs in paths and upsert's rules (notes §1.2, §2.2).

simple-salesforce sends ``/`` in an external ID as ``%2F`` (``get_by_custom_id`` quotes with
``quote_plus``, ``format_external_id`` with ``quote``): the segment must be decoded after the
path is split. ``+`` in a path is a literal plus. ``?updateOnly=true`` never creates (404), and
the URL's external ID field must not also be in the body.
"""

from __future__ import annotations

import pytest
from conftest_org import OrgHarness, org_emulator_fixture, org_harness_fixture  # noqa: F401
from simple_salesforce.exceptions import SalesforceResourceNotFound
from simple_salesforce.format import format_external_id


def test_percent_encoded_slash_in_an_external_id(org_harness: OrgHarness) -> None:
    sf = org_harness.sf()
    org_harness.create("Workspace__c", Name="Slashed", Workspace_ID__c="ws/a/b")

    found = sf.Workspace__c.get_by_custom_id("Workspace_ID__c", "ws/a/b")
    created = sf.Workspace__c.upsert(format_external_id("Workspace_ID__c", "ws/new/1"),
                                     {"Name": "Fresh"})
    updated = sf.Workspace__c.upsert(format_external_id("Workspace_ID__c", "ws/new/1"),
                                     {"Name": "Again"})
    deleted = org_harness.call("DELETE", "sobjects/Workspace__c/Workspace_ID__c/ws%2Fa%2Fb")

    assert found["Name"] == "Slashed"
    assert (created, updated, deleted.status_code) == (201, 200, 204)
    assert sf.Workspace__c.get_by_custom_id("Workspace_ID__c", "ws/new/1")["Name"] == "Again"


def test_plus_in_a_path_is_a_literal_plus(org_harness: OrgHarness) -> None:
    org_harness.create("Workspace__c", Name="Plus", Workspace_ID__c="ws+plus")
    org_harness.create("Workspace__c", Name="Space", Workspace_ID__c="ws space")

    plus = org_harness.call("GET", "sobjects/Workspace__c/Workspace_ID__c/ws+plus")
    encoded = org_harness.call("GET", "sobjects/Workspace__c/Workspace_ID__c/ws%2Bplus")
    space = org_harness.call("GET", "sobjects/Workspace__c/Workspace_ID__c/ws%20space")

    assert [r.json()["Name"] for r in (plus, encoded, space)] == ["Plus", "Plus", "Space"]


def test_update_only_upsert_never_creates(org_harness: OrgHarness) -> None:
    org_harness.create("Workspace__c", Name="Exists", Workspace_ID__c="ws-upd-only")
    base = "sobjects/Workspace__c/Workspace_ID__c"

    missing = org_harness.call("PATCH", f"{base}/ws-upd-none?updateOnly=true", json={"Name": "N"})
    present = org_harness.call("PATCH", f"{base}/ws-upd-only?updateOnly=true", json={"Name": "U"})
    created = org_harness.call("PATCH", f"{base}/ws-upd-new?updateOnly=false", json={"Name": "C"})
    gone = org_harness.sf().query(
        "SELECT Id FROM Workspace__c WHERE Workspace_ID__c = 'ws-upd-none'")

    assert missing.status_code == 404
    assert missing.json() == [{"message": "The requested resource does not exist",
                               "errorCode": "NOT_FOUND"}]
    assert gone["totalSize"] == 0
    assert (present.status_code, present.json()["created"]) == (200, False)
    assert (created.status_code, created.json()["created"]) == (201, True)


@pytest.mark.parametrize("key", ["Workspace_ID__c", "workspace_id__c"])
def test_the_url_external_id_field_may_not_be_in_the_body(org_harness: OrgHarness,
                                                           key: str) -> None:
    response = org_harness.call("PATCH", "sobjects/Workspace__c/Workspace_ID__c/ws-in-body",
                                json={"Name": "Body", key: "ws-in-body"})
    written = org_harness.sf().query(
        "SELECT Id FROM Workspace__c WHERE Workspace_ID__c = 'ws-in-body'")

    assert response.status_code == 400
    [error] = response.json()
    assert error["errorCode"] == "INVALID_FIELD"
    assert "Workspace_ID__c" in error["message"]
    assert written["totalSize"] == 0


def test_collections_upsert_still_reads_the_key_from_each_record(org_harness: OrgHarness) -> None:
    response = org_harness.call(
        "PATCH", "composite/sobjects/Workspace__c/Workspace_ID__c",
        json={"allOrNone": True, "records": [
            {"attributes": {"type": "Workspace__c"}, "Workspace_ID__c": "ws-coll-key",
             "Name": "Coll"}]})

    assert response.status_code == 200
    assert response.json()[0]["success"] is True


def test_unknown_external_id_is_still_404(org_harness: OrgHarness) -> None:
    with pytest.raises(SalesforceResourceNotFound):
        org_harness.sf().Workspace__c.get_by_custom_id("Workspace_ID__c", "no/such/id")
