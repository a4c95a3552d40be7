"""trial-alerts against the emulator: one Task per Workspace and threshold for the owning rep,
never twice (reruns, a next-day run, a kill between Task creation and its record), none for
converted or churned Workspaces, a refused Task blocks only its own Workspace."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers.children import child_env, module_argv
from sched_rig import OrgRig, entry, kill_after_commit

from emulator.org.faults import FaultRule
from scheduler.runs import RunStore
from scheduler.settings import AlertSettings
from scheduler.trial_alerts import AlertsRefused, due_alert, trial_alerts

PARIS = AlertSettings(at=dt.time(9, 0), timezone="Europe/Paris", thresholds_days=(7, 1))
# 08:00 UTC on 1 December is 09:00 in Paris: "today" there is 2026-12-01
NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 12, 1)


def _day(offset: int, today: dt.date = TODAY) -> str:
    return (today + dt.timedelta(days=offset)).isoformat()


@pytest.mark.parametrize(("expires", "sent_for", "sent_days", "expected"), [
    (8, None, None, None),  # not yet within 7 days
    (7, None, None, 7),
    (3, None, None, 7),
    (1, None, None, 1),  # the tighter threshold, once: not a late 7-day alert as well
    (0, None, None, 1),  # ends today
    (-1, None, None, None),  # already over
    (5, 5, 7, None),  # the 7-day alert was sent for this expiration date
    (1, 1, 7, 1),  # ... and the 1-day one is still due
    (1, 1, 1, None),
    (1, 1, None, None),  # recorded by a version without the threshold field: skip
    (6, 2, 1, 7),  # the trial was extended: a new expiration date alerts again
])
def test_which_alert_is_due(expires: int, sent_for: int | None, sent_days: int | None,
                            expected: int | None) -> None:
    row = {"Trial_Expiration_Date__c": _day(expires),
           "Expiration_Alert_Sent_For__c": None if sent_for is None else _day(sent_for),
           "Expiration_Alert_Days__c": sent_days}
    alert = due_alert(row, TODAY, (7, 1))
    assert (alert.threshold if alert else None) == expected


def _workspace(org: OrgRig, ws_id: str, status: str, expires: str, **links: Any) -> str:
    return org.create("Workspace__c", Name=f"Workspace {ws_id}", Workspace_ID__c=ws_id,
                      Self_Serve_Status__c=status, Trial_Start_Date__c="2026-11-10",
                      Trial_Expiration_Date__c=expires, **links)


def _tasks(org: OrgRig) -> list[dict[str, Any]]:
    return org.query("SELECT Id, Subject, OwnerId, WhatId, WhoId, ActivityDate, Priority, "
                     "Description FROM Task ORDER BY Subject")


def _alerts(org: OrgRig, now: dt.datetime = NOW) -> str:
    return trial_alerts(now, org.sf, PARIS)


def test_one_task_per_threshold_for_the_owner_never_twice(org: OrgRig) -> None:
    rep, account_rep = org.user("Rep"), org.user("Kim")
    lead = org.create("Lead", LastName="Owner", Company="Acme", Email="ann@acme.co.uk",
                      OwnerId=rep)
    account = org.create("Account", Name="Acme Ltd", OwnerId=account_rep)
    ws7 = _workspace(org, "ws-7", "Trial", _day(7), Lead__c=lead,
                     Latest_Usage__c='{"projects":3,"seats":5}',
                     Latest_Usage_At__c="2026-11-20T10:30:00.000Z")
    ws1 = _workspace(org, "ws-1", "Trial", _day(1), Account__c=account)
    _workspace(org, "ws-20", "Trial", _day(20), Lead__c=lead)
    _workspace(org, "ws-paid", "Paid", _day(1), Lead__c=lead)
    _workspace(org, "ws-churned", "Churned", _day(7), Lead__c=lead)
    before = org.calls()
    assert _alerts(org).endswith("2 alert(s) sent")
    assert org.calls() - before == 2  # one query, one all-or-none Composite
    tasks = {t["WhatId"]: t for t in _tasks(org)}
    assert set(tasks) == {ws7, ws1}
    t7, t1 = tasks[ws7], tasks[ws1]
    assert (t7["OwnerId"], t7["WhoId"], t7["ActivityDate"], t7["Priority"]) == (
        rep, None, _day(7), "Normal")
    assert t7["Subject"] == "Trial ends in 7 days: Workspace ws-7"
    assert "projects=3, seats=5 (event of 2026-11-20 10:30 UTC)" in t7["Description"]
    assert "Usage in the latest event: none reported" in t1["Description"]
    assert "ann@acme.co.uk" not in t7["Description"]
    assert (t1["OwnerId"], t1["Priority"], t1["Subject"]) == (
        account_rep, "High", "Trial ends in 1 day: Workspace ws-1")
    before = org.calls()
    assert _alerts(org).endswith("0 alert(s) sent")  # a rerun: nothing
    assert org.calls() - before == 1
    six_days_later = NOW + dt.timedelta(days=6)
    assert _alerts(org, six_days_later).endswith("1 alert(s) sent")  # ws-7 at 1 day
    assert _alerts(org, six_days_later).endswith("0 alert(s) sent")
    subjects = sorted(t["Subject"] for t in _tasks(org) if t["WhatId"] == ws7)
    assert subjects == ["Trial ends in 1 day: Workspace ws-7",
                        "Trial ends in 7 days: Workspace ws-7"]
    ws = org.query(f"SELECT Expiration_Alert_Sent_For__c, Expiration_Alert_Days__c "
                   f"FROM Workspace__c WHERE Id = '{ws7}'")[0]
    assert (ws["Expiration_Alert_Sent_For__c"], ws["Expiration_Alert_Days__c"]) == (_day(7), 1)


def test_a_workspace_converted_in_the_meantime_gets_no_alert(org: OrgRig) -> None:
    ws = _workspace(org, "ws-conv", "Trial", _day(8))
    assert _alerts(org).endswith("0 alert(s) sent")  # 8 days: not yet
    org.admin.Workspace__c.update(ws, {"Self_Serve_Status__c": "Paid"})  # it converted
    assert _alerts(org, NOW + dt.timedelta(days=1)).endswith("0 alert(s) sent")
    assert _alerts(org, NOW + dt.timedelta(days=7)).endswith("0 alert(s) sent")
    assert _tasks(org) == []


def test_a_refused_task_leaves_its_workspace_unmarked_and_the_others_go_through(
        org: OrgRig) -> None:
    good = _workspace(org, "ws-good", "Trial", _day(7))
    bad = _workspace(org, "ws-bad", "Trial", _day(1))
    org.org.faults.arm(FaultRule(effect="record_error", kind="insert", object="Task",
                                 error_code="INVALID_CROSS_REFERENCE_KEY",
                                 message="the owner is inactive", times=1))
    with pytest.raises(AlertsRefused, match="ws-bad: INVALID_CROSS_REFERENCE_KEY"):
        _alerts(org)
    assert [t["WhatId"] for t in _tasks(org)] == [good]
    rows = {r["Id"]: r for r in org.query(
        "SELECT Id, Expiration_Alert_Sent_For__c FROM Workspace__c")}
    assert rows[bad]["Expiration_Alert_Sent_For__c"] is None  # rolled back with its Task
    assert rows[good]["Expiration_Alert_Sent_For__c"] == _day(7)
    assert _alerts(org).endswith("1 alert(s) sent")  # the next run sends the one left


def test_kill_between_task_creation_and_its_record_still_one_task(
        org: OrgRig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``jobs run trial-alerts`` as a process, killed with SIGKILL after Salesforce committed
    the Composite that creates the Task, before the job saw the answer or recorded its run."""
    today = dt.datetime.now(dt.UTC).date()
    ws = _workspace(org, "ws-kill", "Trial", _day(1, today))
    state = tmp_path / "state"
    argv = module_argv("service", "jobs", "run", "trial-alerts",
                       "--emulator-info", str(org.info_file), "--state", str(state))
    env = child_env({"LIFECYCLE_SYNC_ALERTS_TIMEZONE": "UTC"})

    def one_task_exists() -> None:
        assert len(_tasks(org)) == 1

    kill_after_commit(monkeypatch, argv, env, tmp_path / "killed-job.log",
                      lambda answers: any(a.get("referenceId") == "task0"
                                          and a.get("httpStatusCode") == 201 for a in answers),
                      one_task_exists)
    killed = RunStore(state / "jobs.db", readonly=True)
    assert killed.state("trial-alerts").last_result == "running"  # its end never recorded
    killed.close()
    rerun = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120,
                           check=False)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "0 alert(s) sent" in rerun.stdout
    assert [t["WhatId"] for t in _tasks(org)] == [ws]


def _at(day: int, hour: int = 12) -> int:
    return int(dt.datetime(2026, 11, day, hour, tzinfo=dt.UTC).timestamp() * 1000)


def test_the_alert_quotes_the_newest_usage_kept_on_the_workspace(org: OrgRig) -> None:
    """Issue 8: the figures come from Workspace__c.Latest_Usage__c, which the apply side
    keeps from the newest event by event time (a late, older event does not overwrite it);
    the job reads no local inbox at all, so pruned inbox entries lose nothing."""
    def trial(usage: dict[str, Any], at_ms: int) -> Any:
        return entry("Trial", "ws-usage", {"trial_expiration": _day(7), "usage": usage}, at_ms,
                     email="una@usage.example.com")

    org.apply(trial({"seats": 3}, _at(20)))
    org.apply(trial({"seats": 8, "projects": 2}, _at(25)))
    org.apply(trial({"seats": 1}, _at(22)))  # older, arriving last
    org.apply(entry("Trial", "ws-usage", {"trial_expiration": _day(7)}, _at(26),
                    email="una@usage.example.com"))  # newest, but carries no figures
    [ws] = org.query("SELECT Latest_Usage__c, Latest_Usage_At__c FROM Workspace__c "
                     "WHERE Workspace_ID__c = 'ws-usage'")
    assert ws["Latest_Usage__c"] == '{"projects":2,"seats":8}'
    assert ws["Latest_Usage_At__c"].startswith("2026-11-25T12:00:00")
    before = org.calls()
    assert _alerts(org).endswith("1 alert(s) sent")
    assert org.calls() - before == 2  # the figures came with the candidates query
    [task] = _tasks(org)
    assert "Usage in the latest event: projects=2, seats=8 (event of 2026-11-25 12:00 UTC)" \
        in task["Description"]
