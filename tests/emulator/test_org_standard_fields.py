"""Standard fields every client expects: a person's ``Name`` and ``SystemModstamp``.

Lead and Contact ``Name`` is read-only, "First Last", kept in step with FirstName and
LastName; Lead, Contact and Account carry the system ``SystemModstamp``.
"""

from __future__ import annotations

import re

import pytest
from conftest_org import OrgHarness, org_emulator_fixture, org_harness_fixture  # noqa: F401
from simple_salesforce.exceptions import SalesforceMalformedRequest

DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0000")


@pytest.mark.parametrize("sobject", ["Lead", "Contact"])
def test_person_name_is_derived_from_first_and_last_name(org_harness: OrgHarness,
                                                         sobject: str) -> None:
    sf = org_harness.sf()
    extra = {"Company": "Names"} if sobject == "Lead" else {}
    record_id = org_harness.create(sobject, FirstName="Ada", LastName="Lovelace", **extra)
    created = getattr(sf, sobject).get(record_id)
    getattr(sf, sobject).update(record_id, {"FirstName": None, "LastName": "Byron"})
    renamed = getattr(sf, sobject).get(record_id)
    queried = sf.query(f"SELECT Name FROM {sobject} WHERE Name = 'byron' AND Id = '{record_id}'")

    assert created["Name"] == "Ada Lovelace"
    assert renamed["Name"] == "Byron"
    assert [r["Name"] for r in queried["records"]] == ["Byron"]


@pytest.mark.parametrize("sobject", ["Lead", "Contact"])
def test_person_name_is_read_only(org_harness: OrgHarness, sobject: str) -> None:
    sf = org_harness.sf()
    body = {"LastName": "L", "Name": "Not Allowed", "Company": "C"}
    if sobject == "Contact":
        del body["Company"]
    with pytest.raises(SalesforceMalformedRequest) as refused:
        getattr(sf, sobject).create(body)
    fields = {f["name"]: f for f in getattr(sf, sobject).describe()["fields"]}

    assert refused.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert (fields["Name"]["createable"], fields["Name"]["updateable"]) == (False, False)


@pytest.mark.parametrize("sobject", ["Lead", "Contact", "Account"])
def test_system_modstamp_follows_every_write(org_harness: OrgHarness, sobject: str) -> None:
    sf = org_harness.sf()
    values = {"Lead": {"LastName": "M", "Company": "C"}, "Contact": {"LastName": "M"},
              "Account": {"Name": "Modstamp"}}[sobject]
    record_id = org_harness.create(sobject, **values)
    getattr(sf, sobject).update(record_id, {"Phone": "555-0100"})
    record = getattr(sf, sobject).get(record_id)
    queried = sf.query(f"SELECT SystemModstamp FROM {sobject} WHERE Id = '{record_id}'")

    assert DATETIME.fullmatch(record["SystemModstamp"])
    assert record["SystemModstamp"] == record["LastModifiedDate"]
    assert queried["records"][0]["SystemModstamp"] == record["SystemModstamp"]
    with pytest.raises(SalesforceMalformedRequest):
        getattr(sf, sobject).update(record_id, {"SystemModstamp": record["SystemModstamp"]})
