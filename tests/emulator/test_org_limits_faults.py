"""API limits, injected faults, call counters and latency — through the admin API and Python."""

from __future__ import annotations

import re
import time

import pytest
import requests
from conftest_org import OrgHarness, org_emulator_fixture, org_harness_fixture  # noqa: F401
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceRefusedRequest

LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")


def usage_of(response: requests.Response) -> tuple[int, int]:
    match = LIMIT_INFO.fullmatch(response.headers["Sforce-Limit-Info"])
    assert match is not None
    return int(match.group(1)), int(match.group(2))


def test_every_response_carries_the_limit_header(org_harness: OrgHarness) -> None:
    ok = org_harness.call("GET", "limits/")
    failed = org_harness.call("POST", "sobjects/Lead/", json={})

    assert usage_of(failed) == (usage_of(ok)[0] + 1, 100_000)
    limits = ok.json()
    assert limits["DailyApiRequests"]["Max"] == 100_000
    assert limits["DailyApiRequests"]["Remaining"] == 100_000 - usage_of(ok)[0]
    assert {"HourlyPublishedPlatformEvents", "DailyDeliveredPlatformEvents"} <= set(limits)


def test_simple_salesforce_reads_api_usage(org_harness: OrgHarness) -> None:
    sf = org_harness.sf()
    sf.query("SELECT Id FROM Organization")

    assert sf.api_usage["api-usage"].total == 100_000
    assert sf.api_usage["api-usage"].used == org_harness.org.usage.used()


def test_spent_allocation_is_403_request_limit_exceeded(org_harness: OrgHarness) -> None:
    used = org_harness.admin("GET", "/org/limits")["api_usage"]
    org_harness.admin("POST", "/org/settings", {"daily_api_limit": used + 1})

    assert org_harness.call("GET", "limits/").status_code == 200
    refused = org_harness.call("GET", "limits/")
    assert refused.status_code == 403
    assert refused.json() == [{"message": "TotalRequests Limit exceeded.",
                               "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert usage_of(refused) == (used + 1, used + 1)
    with pytest.raises(SalesforceRefusedRequest):
        org_harness.sf().query("SELECT Id FROM Lead")


def test_server_error_fault_by_kind_and_object(org_harness: OrgHarness) -> None:
    org_harness.admin("POST", "/faults/org", {"fault": "server_error", "kind": "sobject_create",
                                              "object": "Account", "times": 1})

    lead = org_harness.call("POST", "sobjects/Lead/", json={"LastName": "L", "Company": "C"})
    first = org_harness.call("POST", "sobjects/account/", json={"Name": "A"})
    second = org_harness.call("POST", "sobjects/Account/", json={"Name": "A"})

    assert lead.status_code == 201
    assert first.status_code == 500
    assert first.json()[0]["errorCode"] == "UNKNOWN_EXCEPTION"
    assert second.status_code == 201


def test_unavailable_fault_reaches_simple_salesforce(org_harness: OrgHarness) -> None:
    org_harness.org.faults.arm_preset("unavailable", kind="query")

    with pytest.raises(SalesforceGeneralError) as exc:
        org_harness.sf().query("SELECT Id FROM Lead")

    assert exc.value.status == 503
    org_harness.admin("POST", "/faults/org/clear")
    assert org_harness.sf().query("SELECT COUNT() FROM Lead")["done"] is True


def test_unable_to_lock_row_fails_one_record(org_harness: OrgHarness) -> None:
    org_harness.admin("POST", "/faults/org", {"fault": "unable_to_lock_row", "kind": "insert",
                                              "object": "Account", "times": 1})
    records = [{"attributes": {"type": "Account"}, "Name": f"lock-{i}"} for i in range(3)]

    response = org_harness.call("POST", "composite/sobjects", json={"records": records})
    single = org_harness.call("POST", "sobjects/Account/", json={"Name": "lock-single"})

    [locked, *fine] = response.json()
    assert locked["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert all(r["success"] for r in fine)
    assert single.status_code == 201


def test_unable_to_lock_row_on_a_single_update_is_400(org_harness: OrgHarness) -> None:
    lead = org_harness.create("Lead", LastName="L", Company="C")
    org_harness.org.faults.arm_preset("unable_to_lock_row", kind="update", object="Lead", times=1)

    response = org_harness.call("PATCH", f"sobjects/Lead/{lead}", json={"Title": "x"})

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"


def test_request_limit_fault(org_harness: OrgHarness) -> None:
    org_harness.admin("POST", "/faults/org", {"fault": "request_limit", "times": 1})

    response = org_harness.call("GET", "limits/")

    assert response.status_code == 403
    assert response.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_stalled_response_times_out_the_client_until_cleared(org_harness: OrgHarness) -> None:
    org_harness.admin("POST", "/faults/org", {"fault": "stall", "kind": "limits", "stall_s": 30})

    with pytest.raises(requests.exceptions.ReadTimeout):
        org_harness.session.get(f"{org_harness.base}/limits/", timeout=0.3,
                                headers={"Authorization": f"Bearer {org_harness.token}"})
    org_harness.admin("POST", "/faults/clear")
    assert org_harness.call("GET", "limits/").status_code == 200


def test_counters_by_kind(org_harness: OrgHarness) -> None:
    org_harness.admin("POST", "/org/counters/reset")
    sf = org_harness.sf()
    lead = sf.Lead.create({"LastName": "Count", "Company": "C"})["id"]
    sf.Lead.update(lead, {"Title": "x"})
    sf.query("SELECT Id FROM Lead LIMIT 1")
    sf.restful("composite/sobjects/Workspace__c/Workspace_ID__c", method="PATCH", json={
        "records": [{"attributes": {"type": "Workspace__c"}, "Workspace_ID__c": "cnt-1"}]})
    sf.Workspace__c.upsert("Workspace_ID__c/cnt-2", {"Name": "x"})

    counters = org_harness.admin("GET", "/org/counters")
    assert counters["by_kind"] == {"sobject_create": 1, "sobject_update": 1, "query": 1,
                                   "collections_upsert": 1, "sobject_upsert": 1}
    assert counters["total"] == 5
    assert org_harness.org.counters.snapshot() == counters


def test_fixed_latency_applies_to_every_request(org_harness: OrgHarness) -> None:
    org_harness.admin("POST", "/org/settings", {"latency_ms": 150})
    started = time.monotonic()
    org_harness.call("GET", "limits/")
    slow = time.monotonic() - started

    org_harness.admin("POST", "/org/settings", {"latency_ms": 0})
    assert slow >= 0.15
    assert org_harness.admin("GET", "/org/settings")["latency_ms"] == 0
