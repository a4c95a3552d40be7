"""Resources simple-salesforce calls beyond CRUD: Get Deleted / Get Updated, SOSL ``search/``,
and how long query cursors live.

Shapes from the REST guide (resources_getdeleted, resources_getupdated): ``{deletedRecords:
[{id, deletedDate}], earliestDateAvailable, latestDateCovered}`` and ``{ids,
latestDateCovered}``. SOSL is not emulated: ``search/`` answers 403 FUNCTIONALITY_NOT_ENABLED
as JSON, like an org without the feature, not a 404. Query cursors live two days after the
query ran ("API Query Cursor Limits", API 56.0 on).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from conftest_org import OrgHarness, org_emulator_fixture, org_harness_fixture  # noqa: F401
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceRefusedRequest

DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000\+0000")


def window(hours: float = 1) -> tuple[dt.datetime, dt.datetime]:
    now = dt.datetime.now(dt.UTC)
    return now - dt.timedelta(hours=hours), now + dt.timedelta(hours=1)


def test_get_deleted_lists_deleted_records(org_harness: OrgHarness) -> None:
    sf = org_harness.sf()
    kept = org_harness.create("Lead", LastName="Kept", Company="Repl")
    dropped = org_harness.create("Lead", LastName="Dropped", Company="Repl")
    sf.Lead.delete(dropped)

    result = sf.Lead.deleted(*window())

    assert set(result) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}
    ids = [r["id"] for r in result["deletedRecords"]]
    assert dropped in ids
    assert kept not in ids
    entry = result["deletedRecords"][ids.index(dropped)]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0000", entry["deletedDate"])
    assert DATETIME.fullmatch(result["earliestDateAvailable"])


def test_get_updated_lists_live_changed_records(org_harness: OrgHarness) -> None:
    sf = org_harness.sf()
    kept = org_harness.create("Lead", LastName="Kept", Company="Repl")
    dropped = org_harness.create("Lead", LastName="Dropped", Company="Repl")
    sf.Lead.delete(dropped)

    result = sf.Lead.updated(*window())

    assert set(result) == {"ids", "latestDateCovered"}
    assert kept in result["ids"]
    assert dropped not in result["ids"]


def test_replication_windows_are_checked(org_harness: OrgHarness) -> None:
    sf = org_harness.sf()
    start, end = window()
    with pytest.raises(SalesforceMalformedRequest) as backwards:
        sf.Lead.updated(end, start)
    with pytest.raises(SalesforceMalformedRequest) as too_old:
        sf.Lead.updated(*window(hours=24 * 31))
    missing = org_harness.call("GET", "sobjects/Lead/deleted/")
    unknown = org_harness.call("GET", "sobjects/Shoe__c/deleted/",
                               params={"start": "2024-01-01T00:00:00Z", "end": "2024-01-02"})

    for exc in (backwards, too_old):
        assert exc.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    assert missing.status_code == 400
    assert unknown.status_code == 404


def test_sosl_search_is_refused_as_json(org_harness: OrgHarness) -> None:
    with pytest.raises(SalesforceRefusedRequest) as refused:
        org_harness.sf().search("FIND {Lovelace} RETURNING Lead(Id)")

    [error] = refused.value.content
    assert error["errorCode"] == "FUNCTIONALITY_NOT_ENABLED"
    assert "SOSL" in error["message"]


def test_query_cursors_live_two_days_after_the_query(org_harness: OrgHarness) -> None:
    for i in range(3):
        org_harness.create("Lead", LastName=f"cursor-{i}", Company="Cursor")
    org_harness.org.settings.query_batch_size = 1
    sf = org_harness.sf()
    cursors = org_harness.org.cursors
    real_clock = cursors.clock
    first = sf.query("SELECT Id FROM Lead WHERE Company = 'Cursor'")
    try:
        cursors.clock = lambda: real_clock() + 3600  # an hour idle: 15 minutes no longer apply
        second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
        cursors.clock = lambda: real_clock() + 2 * 24 * 3600 + 60
        with pytest.raises(SalesforceMalformedRequest) as expired:
            sf.query_more(second["nextRecordsUrl"], identifier_is_url=True)
    finally:
        cursors.clock = real_clock

    assert len(second["records"]) == 1
    assert expired.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
