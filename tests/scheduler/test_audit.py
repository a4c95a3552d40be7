"""Audit: a Workspace says which event (UUID, replay ID) last changed it; parked rows carry
their event's UUID and replay ID and say in Processing_Notes__c what was done."""

from __future__ import annotations

import datetime as dt

from sched_rig import T0_MS, OrgRig, entry

from scheduler.retry_parked import retry_parked
from scheduler.settings import RetrySettings


def _ws(org: OrgRig) -> dict:
    [row] = org.query("SELECT Last_Event_Uuid__c, Last_Replay_Id__c, Self_Serve_Status__c "
                      "FROM Workspace__c")
    return row


def test_workspace_and_parked_rows_name_the_event_that_changed_them(org: OrgRig) -> None:
    conversion = entry("Conversion", "ws-a", {"subscription_id": "s", "plan_type": "Team",
                                              "mrr": 10}, T0_MS + 5000, uuid="conv-a")
    org.apply(conversion)
    assert _ws(org)["Last_Event_Uuid__c"] == "conv-a"
    assert _ws(org)["Last_Replay_Id__c"] == conversion.replay_id.hex()
    row = org.cache_rows()["conv-a"]
    assert (row["Replay_Id__c"], row["Processing_Status__c"]) == (conversion.replay_id.hex(),
                                                                  "New")
    assert "parked until the Trial arrives" in row["Processing_Notes__c"]
    trial = entry("Trial", "ws-a", {"trial_expiration": "2026-12-31"}, T0_MS, uuid="trial-a")
    org.apply(trial)  # older than the conversion: changes the history, named as its cause
    assert _ws(org)["Last_Event_Uuid__c"] == "trial-a"
    before = org.calls()
    org.apply(trial)  # a duplicate writes nothing, so the audit fields stay
    assert org.calls() - before == 1  # the lookup only
    assert _ws(org)["Last_Event_Uuid__c"] == "trial-a"
    assert org.cache_rows()["conv-a"]["Processing_Status__c"] == "Completed"
    assert "applied once the Trial event arrived" in org.cache_rows()["conv-a"][
        "Processing_Notes__c"]


def test_a_retry_notes_what_it_did_with_the_event_and_replay_id(org: OrgRig) -> None:
    parked = entry("Churn", "ws-b", {"churn_date": "2027-01-01"}, T0_MS, uuid="churn-b")
    org.apply(parked)
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    retry_parked(now, org.sf, org.gateway, RetrySettings(), lambda ids: {}, "lifecycle-sync")
    notes = org.cache_rows()["churn-b"]["Processing_Notes__c"]
    assert "retry 1: Churn applied to a Workspace that has seen no Trial event" in notes
    assert f"(event churn-b, replay {parked.replay_id.hex()})" in notes
