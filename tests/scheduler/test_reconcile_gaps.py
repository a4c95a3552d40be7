"""reconcile-gaps against the emulator (real REST) and a real inbox file: after a recorded
replay gap it flags the Workspaces the gap may have left stale, in batches (one query and one
collections update per run, counted), says what only the product can do, and marks the gap
reconciled so it is done once; with no gap it calls nothing."""

from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path

import pytest
from sched_rig import OrgRig

from emulator.org.faults import FaultRule
from scheduler import reconcile_gaps as job
from scheduler.runner import Idle
from subscriber.events import Checkpoint, DecodedEvent, EntryKind
from subscriber.gaps import reconciled, record_gap
from subscriber.inbox import Inbox
from subscriber.settings import LEAD_CHANGE_TOPIC

TOPIC = "/event/SelfServeTrialEvent__e"
TOPICS = (TOPIC, LEAD_CHANGE_TOPIC)
GAP_START = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def _workspace(org: OrgRig, name: str, status: str, last_event: dt.datetime | None) -> str:
    fields = {"Workspace_ID__c": name, "Self_Serve_Status__c": status}
    if last_event is not None:
        fields["Last_Event_Time__c"] = last_event.isoformat().replace("+00:00", "Z")
    return org.create("Workspace__c", **fields)


def _flagged(org: OrgRig) -> dict[str, str]:
    rows = org.query("SELECT Workspace_ID__c, Review_Reason__c FROM Workspace__c "
                     "WHERE Needs_Review__c = true")
    return {r["Workspace_ID__c"]: r["Review_Reason__c"] for r in rows}


def _gap(inbox: Inbox, topic: str = TOPIC) -> dict[str, object]:
    return record_gap(inbox, topic, Checkpoint(b"\x07", GAP_START), "earliest",
                      "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted",
                      "rpc-1", now=NOW - dt.timedelta(hours=1))


def test_no_gap_no_call(org: OrgRig, tmp_path: Path) -> None:
    with Inbox(tmp_path / "inbox.db") as inbox:
        before = org.calls()
        summary = job.reconcile_gaps(NOW, org.sf, inbox, TOPICS)
    assert isinstance(summary, Idle)
    assert org.calls() == before


def test_a_gap_flags_the_workspaces_it_may_have_left_stale_once(
        org: OrgRig, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    old = GAP_START - dt.timedelta(days=2)
    _workspace(org, "stale-trial", "Trial", old)  # could have converted in the gap
    _workspace(org, "stale-paid", "Paid", old)  # could have churned in the gap
    _workspace(org, "no-event", "Trial", None)
    _workspace(org, "replayed", "Trial", GAP_START + dt.timedelta(days=8))  # newer: LWW holds
    _workspace(org, "churned", "Churned", old)  # final
    under_review = _workspace(org, "under-review", "Trial", old)
    org.admin.Workspace__c.update(under_review, {"Needs_Review__c": True,
                                                 "Review_Reason__c": "trial length mismatch"})
    caplog.set_level(logging.WARNING, "lifecycle_sync.jobs")
    with Inbox(tmp_path / "inbox.db") as inbox:
        gap = _gap(inbox)
        before = org.calls()
        summary = job.reconcile_gaps(NOW, org.sf, inbox, TOPICS)
        calls = org.calls() - before
        again = job.reconcile_gaps(NOW, org.sf, inbox, TOPICS)
        state = reconciled(inbox, TOPIC)
    assert calls == 2, "one query and one collections update"
    assert "reconciled: 4 Workspace(s) flagged" in summary
    assert isinstance(again, Idle), "a reconciled gap is done once"
    flagged = _flagged(org)
    assert set(flagged) == {"stale-trial", "stale-paid", "no-event", "under-review"}
    assert flagged["under-review"].endswith("; trial length mismatch"), "earlier reason kept"
    assert all("replay gap on /event/SelfServeTrialEvent__e from 2026-11-20 12:00" in r
               for r in flagged.values())
    assert state[str(gap["refused_at"])]["flagged"] == 4
    [warning] = [r.getMessage() for r in caplog.records if "replay gap" in r.getMessage()]
    assert "re-publish from the product the events published since 2026-11-20" in warning


def test_a_big_gap_is_flagged_in_batches_over_several_runs(
        org: OrgRig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job, "BATCH", 2)
    for i in range(5):
        _workspace(org, f"ws-{i}", "Trial", GAP_START - dt.timedelta(days=1))
    with Inbox(tmp_path / "inbox.db") as inbox:
        gap = _gap(inbox)
        summaries = []
        before = org.calls()
        while not isinstance(summary := job.reconcile_gaps(NOW, org.sf, inbox, TOPICS), Idle):
            summaries.append(summary)
            assert len(summaries) <= 3, summaries
        state = reconciled(inbox, TOPIC)[str(gap["refused_at"])]
    assert len(summaries) == 3, summaries  # 2 + 2 + 1
    assert org.calls() - before == 3 * 2
    assert state["flagged"] == 5
    assert "at" in state
    assert len(_flagged(org)) == 5


def test_a_lead_change_gap_flags_workspaces_linked_to_a_lead(org: OrgRig, tmp_path: Path
                                                             ) -> None:
    lead = org.create("Lead", LastName="Gap", Company="Gap Co", Email="gap@gap-co.example.com")
    linked = _workspace(org, "linked", "Trial", NOW)
    org.admin.Workspace__c.update(linked, {"Lead__c": lead})
    _workspace(org, "unlinked", "Trial", NOW)
    with Inbox(tmp_path / "inbox.db") as inbox:
        _gap(inbox, LEAD_CHANGE_TOPIC)
        summary = job.reconcile_gaps(NOW, org.sf, inbox, TOPICS)
    assert "reconciled: 1 Workspace(s) flagged" in summary
    assert set(_flagged(org)) == {"linked"}


def test_a_workspace_the_update_always_refuses_is_reported_once_and_the_gap_finishes(
        org: OrgRig, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """One record locked for good must not keep the gap open (2 calls every run, forever):
    it is counted, named in the gap's one WARNING, and the gap is reconciled."""
    old = GAP_START - dt.timedelta(days=2)
    _workspace(org, "fine", "Trial", old)
    locked = _workspace(org, "locked", "Trial", old)
    org.org.faults.arm(FaultRule(effect="record_error", kind="update", object="Workspace__c",
                                 error_code="UNABLE_TO_LOCK_ROW", message="row locked",
                                 record_ids=(locked,)))
    caplog.set_level(logging.WARNING, "lifecycle_sync.jobs")
    with Inbox(tmp_path / "inbox.db") as inbox:
        gap = _gap(inbox)
        before = org.calls()
        summary = job.reconcile_gaps(NOW, org.sf, inbox, TOPICS)
        again = job.reconcile_gaps(NOW, org.sf, inbox, TOPICS)
        state = reconciled(inbox, TOPIC)[str(gap["refused_at"])]
    assert "reconciled: 1 Workspace(s) flagged" in summary
    assert isinstance(again, Idle), "the refused record does not keep the gap open"
    assert org.calls() - before == 2
    assert (state["flagged"], state["refused"]) == (1, 1)
    assert set(_flagged(org)) == {"fine"}
    [warning] = [r.getMessage() for r in caplog.records if "replay gap" in r.getMessage()]
    assert "1 Workspace(s) could not be flagged" in warning


def _org_second_after(at: dt.datetime) -> None:
    """Wait (deadline 3 s) until the org's clock, in whole seconds, is past ``at``: a write
    from then on carries a LastModifiedDate after it."""
    deadline = time.monotonic() + 3
    while dt.datetime.now(dt.UTC).replace(microsecond=0) <= at:
        assert time.monotonic() < deadline, "the clock did not move"
        time.sleep(0.02)


def test_a_lead_change_gap_flags_only_workspaces_whose_lead_changed_since(
        org: OrgRig, tmp_path: Path) -> None:
    """A Lead untouched since the gap began cannot have a change the gap hid."""
    quiet = org.create("Lead", LastName="Quiet", Company="Q Co", Email="q@q-co.example.com")
    changed = org.create("Lead", LastName="Moved", Company="M Co", Email="m@m-co.example.com")
    for name, lead in (("quiet", quiet), ("changed", changed)):
        org.admin.Workspace__c.update(_workspace(org, name, "Trial", NOW), {"Lead__c": lead})
    [row] = org.query(f"SELECT LastModifiedDate FROM Lead WHERE Id = '{quiet}'")
    quiet_at = dt.datetime.fromisoformat(row["LastModifiedDate"].replace("Z", "+00:00")
                                         .replace("+0000", "+00:00"))
    gap_start = quiet_at + dt.timedelta(seconds=1)
    _org_second_after(quiet_at)
    org.admin.Lead.update(changed, {"Company": "M Co (moved)"})
    with Inbox(tmp_path / "inbox.db") as inbox:
        record_gap(inbox, LEAD_CHANGE_TOPIC, Checkpoint(b"\x07", gap_start), "earliest",
                   "replayid.corrupted", "rpc-1", now=gap_start + dt.timedelta(hours=1))
        summary = job.reconcile_gaps(NOW, org.sf, inbox, TOPICS)
    assert "reconciled: 1 Workspace(s) flagged" in summary
    assert set(_flagged(org)) == {"changed"}


def test_a_gap_waits_while_its_replay_is_not_applied(org: OrgRig, tmp_path: Path) -> None:
    """Flagging while the EARLIEST replay is still pending would flag Workspaces the replay
    is about to bring up to date: no call until the topic's backlog is applied."""
    _workspace(org, "stale", "Trial", GAP_START - dt.timedelta(days=2))
    with Inbox(tmp_path / "inbox.db") as inbox:
        _gap(inbox)
        payload = {"Event_Type__c": "Trial", "Workspace_ID__c": "stale"}
        inbox.store_batch(TOPIC, [DecodedEvent(TOPIC, b"\x01", "uuid-1", "schema",
                                               EntryKind.EVENT, payload)], b"\x01")
        later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=job.BEHIND_S + 60)
        before = org.calls()
        waiting = job.reconcile_gaps(later, org.sf, inbox, TOPICS)
        assert org.calls() == before
        assert isinstance(waiting, Idle)
        assert "waits: its replay is not applied yet" in waiting
        inbox.mark_done([e.id for e in inbox.pending(10, TOPIC)], {})
        summary = job.reconcile_gaps(later, org.sf, inbox, TOPICS)
    assert "reconciled: 1 Workspace(s) flagged" in summary
