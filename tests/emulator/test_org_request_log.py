"""The admin API's request log: who (a digest of the session's token) called what, and when
the call arrived and ran; the failover tests count a former active's writes with it."""

from __future__ import annotations

import threading
import time

from conftest_org import OrgHarness, org_emulator_fixture, org_harness_fixture  # noqa: F401


def test_each_admitted_call_is_logged_with_its_caller_in_arrival_order(
        org_harness: OrgHarness) -> None:
    org_harness.admin("POST", "/org/requests/reset")
    other = org_harness.new_token()
    assert org_harness.call("POST", "sobjects/Lead/",
                            json={"LastName": "L", "Company": "C"}).status_code == 201
    assert org_harness.call("GET", "limits/", token=other).status_code == 200
    assert org_harness.call("GET", "limits/", token="00D!not-a-token").status_code == 401

    logged = org_harness.admin("GET", "/org/requests")
    calls = logged["requests"]
    assert [(c["kind"], c["object"]) for c in calls] == [("sobject_create", "Lead"),
                                                         ("limits", None)]
    assert calls[0]["caller"] != calls[1]["caller"], "one caller per session"
    assert org_harness.token not in str(logged)
    assert other not in str(logged)
    assert calls[0]["seq"] < calls[1]["seq"]
    assert calls[0]["at"] <= calls[0]["ran_at"] <= calls[1]["at"]
    assert logged["dropped"] == 0


def test_a_held_call_runs_when_released_and_a_refused_one_never_runs(
        org_harness: OrgHarness) -> None:
    org_harness.admin("POST", "/org/requests/reset")
    org_harness.admin("POST", "/faults/org", {"fault": "stall", "kind": "limits", "stall_s": 30})
    done = threading.Thread(target=org_harness.call, args=("GET", "limits/"))
    done.start()
    try:
        deadline = time.monotonic() + 10  # the held call is logged before it runs
        waiting: list[dict[str, object]] = []
        while not waiting and time.monotonic() < deadline:
            waiting = org_harness.admin("GET", "/org/requests")["requests"]
        assert waiting
        assert waiting[0]["ran_at"] is None
    finally:
        org_harness.admin("POST", "/faults/clear")
        done.join(10)
    org_harness.admin("POST", "/faults/org", {"fault": "server_error", "kind": "query",
                                              "times": 1})
    org_harness.call("GET", "query/", params={"q": "SELECT Id FROM Lead"})
    calls = org_harness.admin("GET", "/org/requests")["requests"]
    assert calls[0]["ran_at"] is not None
    assert calls[0]["ran_at"] >= calls[0]["at"]
    assert calls[1]["kind"] == "query"
    assert calls[1]["ran_at"] is None
