"""retry-parked against the emulator: parked rows re-applied through the apply side's cycle,
backoff and review, batching (calls do not grow with rows), and a restart mid-cycle."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from helpers.children import child_env, module_argv, run_cli
from sched_rig import T0_MS, FakeClock, OrgRig, entry, kill_after_commit

from emulator.org.faults import FaultRule
from handlers.gateway import SalesforceGateway
from handlers.gateway_api import WriteResult
from scheduler.retry_parked import retry_parked
from scheduler.runner import JobRunner
from scheduler.runs import RunStore
from scheduler.settings import RetrySettings, SchedulerSettings
from scheduler.timing import triggers

CONVERSION = {"subscription_id": "sub_1", "plan_type": "Team", "mrr": 490}
CHURN = {"churn_date": "2027-02-01", "churn_reason": "budget"}
SETTINGS = RetrySettings(max_attempts=3, backoff_initial_min=5, backoff_max_min=60)


def _retry(org: OrgRig, now: dt.datetime, emails: dict[str, str] | None = None,
           gateway: Any = None) -> str:
    return retry_parked(now, org.sf, gateway or org.gateway, SETTINGS,
                        lambda ids: {i: e for i, e in (emails or {}).items() if i in set(ids)},
                        "lifecycle-sync")


def _now() -> dt.datetime:
    # Salesforce stamps real times; rows parked "now" are due immediately
    return dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)


def test_waiting_row_backs_off_exponentially_then_is_flagged_for_review(org: OrgRig) -> None:
    org.apply(entry("Conversion", "ws-wait", CONVERSION, T0_MS, uuid="conv-1"))
    row = org.cache_rows()["conv-1"]
    assert (row["Processing_Status__c"], row["Needs_Review__c"]) == ("New", False)
    now = _now()
    _retry(org, now)
    row = org.cache_rows()["conv-1"]
    assert row["Retry_Count__c"] == 1
    assert row["Next_Attempt_At__c"].startswith((now + dt.timedelta(minutes=5)).strftime(
        "%Y-%m-%dT%H:%M:%S"))
    assert "retry 1: " in row["Processing_Notes__c"]
    assert "event conv-1" in row[
        "Processing_Notes__c"]
    before = org.calls()
    assert _retry(org, now + dt.timedelta(minutes=4)).startswith("0 completed, 0 still")
    assert org.calls() == before + 1  # not due: one query, nothing else
    _retry(org, now + dt.timedelta(minutes=6))
    row = org.cache_rows()["conv-1"]
    assert row["Retry_Count__c"] == 2
    assert row["Next_Attempt_At__c"].startswith((now + dt.timedelta(minutes=16)).strftime(
        "%Y-%m-%dT%H:%M:%S"))  # 10 minutes after the second attempt
    _retry(org, now + dt.timedelta(minutes=17))
    row = org.cache_rows()["conv-1"]
    assert (row["Retry_Count__c"], row["Processing_Status__c"], row["Needs_Review__c"]) == (
        3, "Error", True)
    # A bounded class the admins' dashboard groups by; the detail is in the notes.
    assert row["Review_Reason__c"] == "gave up after retries: still parked by the rules"
    assert "gave up after 3 retries: Conversion applied to" in row["Processing_Notes__c"]
    assert _retry(org, now + dt.timedelta(days=2)).startswith("0 completed")  # left alone
    assert org.cache_rows()["conv-1"]["Retry_Count__c"] == 3


def _refuse_workspace_writes(org: OrgRig) -> None:
    org.org.faults.arm(FaultRule(effect="record_error", kind="*", object="Workspace__c",
                                 error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                 message="a validation rule said no", times=1))


def test_refused_event_is_reapplied_once_salesforce_accepts_it(org: OrgRig) -> None:
    org.apply(entry("Trial", "ws-ok", {"trial_expiration": "2026-12-31"}, T0_MS, uuid="t-1"))
    _refuse_workspace_writes(org)
    result = org.apply(entry("Churn", "ws-ok", CHURN, T0_MS + 1000, uuid="churn-1"))
    assert result.parked
    row = org.cache_rows()["churn-1"]
    assert (row["Processing_Status__c"], row["Needs_Review__c"]) == ("Error", True)
    _retry(org, _now())
    row = org.cache_rows()["churn-1"]
    assert (row["Processing_Status__c"], row["Retry_Count__c"]) == ("Completed", 1)
    assert "applied (event churn-1, replay " in row["Processing_Notes__c"]
    # out of the reviewers' queue, the resolution noted
    assert (row["Needs_Review__c"], row["Review_Reason__c"]) == (False, None)
    assert "review no longer needed" in row["Processing_Notes__c"]
    ws = org.query("SELECT Self_Serve_Status__c, Churn_Date__c FROM Workspace__c")
    assert ws == [{"Self_Serve_Status__c": "Churned", "Churn_Date__c": "2027-02-01"}]


def test_refused_trial_is_reapplied_with_its_email_from_the_local_inbox(org: OrgRig) -> None:
    _refuse_workspace_writes(org)
    org.apply(entry("Trial", "ws-t", {"trial_expiration": "2026-12-31"}, T0_MS,
                    email="ann@acme.co.uk", uuid="trial-9"))
    assert org.cache_rows()["trial-9"]["Processing_Status__c"] == "Error"
    _retry(org, _now(), emails={"trial-9": "ann@acme.co.uk"})
    assert org.cache_rows()["trial-9"]["Processing_Status__c"] == "Completed"
    ws = org.query("SELECT Self_Serve_Status__c, Lead__r.Email FROM Workspace__c")
    assert ws[0]["Self_Serve_Status__c"] == "Trial"
    assert ws[0]["Lead__r"]["Email"] == "ann@acme.co.uk"


def test_a_cycle_is_batched_calls_do_not_grow_with_rows(org: OrgRig) -> None:
    def park(n: int, prefix: str) -> None:
        org.apply(*[entry("Conversion", f"{prefix}-{i % 10}", {**CONVERSION, "mrr": i},
                          T0_MS + i, uuid=f"{prefix}-c{i}") for i in range(n)])

    park(3, "few")
    before = org.calls()
    _retry(org, _now())
    few = org.calls() - before
    park(60, "many")
    before = org.calls()
    summary = _retry(org, _now() + dt.timedelta(minutes=6))  # the 3 again, and the 60
    many = org.calls() - before
    assert summary.startswith("0 completed, 63 still waiting")
    # query, lookup, a second lookup for the Contacts of the Workspaces' stored emails (these
    # Conversions carry none), write (Workspaces), bookkeeping upsert
    assert many == few <= 5


class Killed(BaseException):
    """Stands for kill -9: nothing after it runs (not an Exception, so nobody catches it)."""


class KilledAfterWrite(SalesforceGateway):
    def write(self, workspaces, cache_rows) -> WriteResult:  # type: ignore[no-untyped-def]
        super().write(workspaces, cache_rows)
        raise Killed


def _state(org: OrgRig) -> dict[str, Any]:
    return {"ws": org.query("SELECT Workspace_ID__c, Self_Serve_Status__c, Trial_History__c "
                            "FROM Workspace__c ORDER BY Workspace_ID__c"),
            "cache": sorted((u, r["Processing_Status__c"]) for u, r in org.cache_rows().items()),
            "leads": org.query("SELECT Email FROM Lead")}


def test_restart_in_the_middle_of_a_retry_cycle(org: OrgRig, tmp_path: Path) -> None:
    org.apply(entry("Trial", "ws-r", {"trial_expiration": "2026-12-31"}, T0_MS, uuid="t-r"))
    org.apply(entry("Conversion", "ws-wait", CONVERSION, T0_MS, uuid="c-wait"))
    _refuse_workspace_writes(org)
    org.apply(entry("Churn", "ws-r", CHURN, T0_MS + 1000, uuid="churn-r"))
    clock = FakeClock(_now())
    settings = SchedulerSettings(retry=SETTINGS)

    def runner(gateway: SalesforceGateway) -> tuple[JobRunner, RunStore]:
        store = RunStore(tmp_path / "jobs.db")
        job = {"retry-parked": lambda now: _retry(org, now, gateway=gateway)}
        return JobRunner(job, triggers(settings), store, clock), store

    first, store = runner(KilledAfterWrite(org.client()))
    with pytest.raises(Killed):  # killed after the re-apply wrote, before the bookkeeping
        first.run("retry-parked")
    assert store.state("retry-parked").last_result == "running"
    store.close()
    assert org.cache_rows()["churn-r"]["Processing_Status__c"] == "Error"  # not recorded yet
    second, store = runner(org.gateway)  # the restart
    assert second.run("retry-parked").ok
    after = _state(org)
    assert dict(after["cache"]) == {"c-wait": "New", "churn-r": "Completed"}
    assert [w["Self_Serve_Status__c"] for w in after["ws"]] == ["Churned", "Paid"]
    history = next(w for w in after["ws"] if w["Workspace_ID__c"] == "ws-r")["Trial_History__c"]
    assert history.count("id=churn-r") == 1
    assert len(after["leads"]) == 1  # nothing created twice
    assert org.cache_rows()["churn-r"]["Retry_Count__c"] == 1
    assert store.state("retry-parked").last_result == "ok"


def test_a_retry_cycle_holds_its_workspaces_from_the_apply_loop(org: OrgRig,
                                                                  tmp_path: Path) -> None:
    from service.apply_loop import ApplyLoop, ApplySettings
    from subscriber.events import DecodedEvent, EntryKind
    from subscriber.inbox import Inbox

    org.apply(entry("Conversion", "ws-h", CONVERSION, T0_MS, uuid="c-h"))
    with Inbox(tmp_path / "inbox.db") as inbox:
        payload = entry("Churn", "ws-h", CHURN, T0_MS + 5, uuid="churn-h").payload or {}
        inbox.store_batch("/event/SelfServeTrialEvent__e", [DecodedEvent(
            "/event/SelfServeTrialEvent__e", b"\x01", "churn-h", "s", EntryKind.EVENT,
            payload)], b"\x01")
        loop = ApplyLoop(inbox, [org.gateway], ApplySettings())
        seen: list[bool] = []

        def hold(keys: frozenset[str]):  # type: ignore[no-untyped-def]
            seen.append("ws:ws-h" in keys)
            return loop.holding(keys)

        with loop.holding(frozenset({"ws:ws-h"})):
            assert loop.run_once() is False  # the apply loop waits for the retry cycle
        retry_parked(_now(), org.sf, org.gateway, SETTINGS, lambda ids: {}, "lifecycle-sync",
                     hold=hold)
        assert seen == [True]
        assert loop.run_once() is True  # released


def test_a_held_workspace_leaves_the_only_apply_worker_free(org: OrgRig, tmp_path: Path
                                                            ) -> None:
    """apply.workers = 1: while a retry cycle holds ws-h, events of other Workspaces apply."""
    from service.apply_loop import ApplyLoop, ApplySettings
    from subscriber.events import DecodedEvent, EntryKind
    from subscriber.inbox import Inbox

    with Inbox(tmp_path / "inbox.db") as inbox:
        payload = entry("Conversion", "ws-other", CONVERSION, T0_MS, uuid="c-o").payload or {}
        inbox.store_batch("/event/SelfServeTrialEvent__e", [DecodedEvent(
            "/event/SelfServeTrialEvent__e", b"\x01", "c-o", "s", EntryKind.EVENT,
            payload)], b"\x01")
        loop = ApplyLoop(inbox, [org.gateway], ApplySettings())  # one gateway
        with loop.holding(frozenset({"ws:ws-h"})):
            assert loop.run_once() is True
    [ws] = org.query("SELECT Workspace_ID__c FROM Workspace__c")
    assert ws["Workspace_ID__c"] == "ws-other"


def test_jobs_run_killed_mid_retry_cycle_then_run_again(org: OrgRig, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """``jobs run retry-parked`` as a process, SIGKILLed after Salesforce committed the
    re-applied write and before the job saw the answer or wrote its bookkeeping."""
    org.apply(entry("Trial", "ws-k", {"trial_expiration": "2026-12-31"}, T0_MS, uuid="t-k"))
    _refuse_workspace_writes(org)
    org.apply(entry("Churn", "ws-k", CHURN, T0_MS + 1000, uuid="churn-k"))
    args = ("jobs", "run", "retry-parked",
            "--emulator-info", str(org.info_file), "--state", str(tmp_path / "state"))
    kill_after_commit(monkeypatch, module_argv("service", *args), child_env(),
                      tmp_path / "killed.log",
                      lambda answers: any(str(a.get("referenceId")).startswith("Workspace__c_")
                                          for a in answers))
    assert org.cache_rows()["churn-k"]["Processing_Status__c"] == "Error"  # not recorded
    rerun = run_cli(*args, timeout_s=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "1 completed" in rerun.stdout
    row = org.cache_rows()["churn-k"]
    assert (row["Processing_Status__c"], row["Retry_Count__c"]) == ("Completed", 1)
    [ws] = org.query("SELECT Self_Serve_Status__c, Trial_History__c FROM Workspace__c")
    assert ws["Self_Serve_Status__c"] == "Churned"
    assert ws["Trial_History__c"].count("id=churn-k") == 1
    assert len(org.query("SELECT Id FROM Lead")) == 1


def test_rows_that_cannot_be_rebuilt_are_set_aside_once_keeping_their_reason(
        org: OrgRig) -> None:
    bad = entry("Conversion", "ws-bad", {"plan_type": "Team"}, T0_MS, uuid="bad-1")  # no mrr
    org.apply(bad)
    _refuse_workspace_writes(org)
    org.apply(entry("Trial", "ws-t2", {"trial_expiration": "2026-12-31"}, T0_MS,
                    uuid="trial-noemail"))
    org.create("Event_Cache__c", Event_Uuid__c="overflow-1", Event_Type__c="GAP_OVERFLOW",
               Processing_Status__c="Error", Needs_Review__c=True,
               Review_Reason__c="reconcile: GAP_OVERFLOW")
    before = org.cache_rows()
    assert before["bad-1"]["Review_Reason__c"] == "bad mrr"
    summary = _retry(org, _now())
    assert summary.startswith("0 completed, 0 still waiting, 2 flagged for review")
    rows = org.cache_rows()
    for uuid in ("bad-1", "trial-noemail"):
        assert (rows[uuid]["Retry_Count__c"], rows[uuid]["Needs_Review__c"]) == (3, True)
        assert "not retried automatically: " in rows[uuid]["Processing_Notes__c"]
    assert rows["bad-1"]["Review_Reason__c"] == "bad mrr"  # kept
    assert (rows["overflow-1"]["Retry_Count__c"], rows["overflow-1"]["Processing_Notes__c"]) == (
        0, None)  # not a lifecycle event: untouched
    before = org.calls()
    assert _retry(org, _now() + dt.timedelta(days=3)).startswith("0 completed, 0 still")
    assert org.calls() - before == 1


def test_a_retried_event_that_conflicts_stays_in_review(org: OrgRig) -> None:
    """The retry's cycle flags the Conversion (MRR below 0); the retry's own bookkeeping must
    not then take it out of the reviewers' queue."""
    org.apply(entry("Trial", "ws-cf", {"trial_expiration": "2026-12-31"}, T0_MS, uuid="t-cf"))
    _refuse_workspace_writes(org)
    org.apply(entry("Conversion", "ws-cf", {**CONVERSION, "mrr": -5}, T0_MS + 1000,
                    uuid="conv-cf"))
    assert org.cache_rows()["conv-cf"]["Processing_Status__c"] == "Error"
    _retry(org, _now())
    row = org.cache_rows()["conv-cf"]
    assert (row["Processing_Status__c"], row["Needs_Review__c"]) == ("Completed", True)
    assert row["Review_Reason__c"] == "Conflict: MRR negative or above the ceiling"
    assert "retry 1: applied" in row["Processing_Notes__c"]
