"""Composite: references between subrequests, allOrNone, the 25 limit (notes §2.5)."""

from __future__ import annotations

from typing import Any

from conftest_org import OrgHarness, org_emulator_fixture, org_harness_fixture  # noqa: F401

V = "/services/data/v62.0"


def sub(ref: str, method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"referenceId": ref, "method": method, "url": f"{V}/{url}"}
    if body is not None:
        out["body"] = body
    return out


def composite(h: OrgHarness, *subs: dict[str, Any], all_or_none: bool) -> list[dict[str, Any]]:
    response = h.sf().restful("composite", method="POST",
                              json={"allOrNone": all_or_none, "compositeRequest": list(subs)})
    return list(response["compositeResponse"])


def test_references_chain_subrequests(org_harness: OrgHarness) -> None:
    entries = composite(
        org_harness,
        sub("acct", "POST", "sobjects/Account", {"Name": "Comp Acme"}),
        sub("who", "POST", "sobjects/Contact", {"LastName": "Ref", "AccountId": "@{acct.id}"}),
        sub("q", "GET", "query/?q=SELECT+Id,AccountId+FROM+Contact+WHERE+Id='@{who.id}'"),
        sub("read", "GET", "sobjects/Account/@{q.records[0].AccountId}?fields=Name"),
        all_or_none=False,
    )

    assert [e["httpStatusCode"] for e in entries] == [201, 201, 200, 200]
    account_id = entries[0]["body"]["id"]
    assert entries[0]["httpHeaders"] == {"Location": f"{V}/sobjects/Account/{account_id}"}
    assert entries[2]["body"]["records"][0]["AccountId"] == account_id
    assert entries[3]["body"]["Name"] == "Comp Acme"
    assert [e["referenceId"] for e in entries] == ["acct", "who", "q", "read"]


def test_all_or_none_halts_and_rolls_back(org_harness: OrgHarness) -> None:
    entries = composite(
        org_harness,
        sub("a", "POST", "sobjects/Account", {"Name": "Comp Rollback"}),
        sub("b", "POST", "sobjects/Contact", {"AccountId": "@{a.id}"}),
        sub("c", "POST", "sobjects/Account", {"Name": "Comp Never"}),
        all_or_none=True,
    )

    halted = [{"errorCode": "PROCESSING_HALTED",
               "message": "The transaction was rolled back since another operation in the same "
                          "transaction failed."}]
    assert [e["httpStatusCode"] for e in entries] == [400, 400, 400]
    assert entries[0]["body"] == halted
    assert entries[2]["body"] == halted
    assert entries[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    found = org_harness.sf().query(
        "SELECT COUNT() FROM Account WHERE Name IN ('Comp Rollback', 'Comp Never')")
    assert found["totalSize"] == 0


def test_without_all_or_none_only_dependants_of_a_failure_fail(org_harness: OrgHarness) -> None:
    entries = composite(
        org_harness,
        sub("bad", "POST", "sobjects/Account", {}),
        sub("needs", "POST", "sobjects/Contact", {"LastName": "X", "AccountId": "@{bad.id}"}),
        sub("fine", "POST", "sobjects/Account", {"Name": "Comp Independent"}),
        all_or_none=False,
    )

    assert [e["httpStatusCode"] for e in entries] == [400, 400, 201]
    assert entries[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert org_harness.sf().Account.get(entries[2]["body"]["id"])["Name"] == "Comp Independent"


def test_more_than_25_subrequests_is_refused(org_harness: OrgHarness) -> None:
    subs = [sub(f"r{i}", "GET", "limits/") for i in range(26)]
    response = org_harness.call("POST", "composite", json={"compositeRequest": subs})

    assert response.status_code == 400
    [entry] = response.json()["compositeResponse"]
    assert entry["body"][0]["errorCode"] == "LIMIT_EXCEEDED"


def test_composite_counts_as_one_call(org_harness: OrgHarness) -> None:
    before = org_harness.org.counters.snapshot()["by_kind"]
    used = org_harness.org.usage.used()
    composite(org_harness, *[sub(f"r{i}", "GET", "limits/") for i in range(5)],
              all_or_none=False)

    after = org_harness.org.counters.snapshot()["by_kind"]
    assert org_harness.org.usage.used() == used + 1
    assert after["composite"] == before.get("composite", 0) + 1
    assert after.get("limits", 0) == before.get("limits", 0)
