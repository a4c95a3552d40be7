"""Shadow mode decides everything: the daemon's only scheduled job in shadow mode is
trial-alerts, which logs and counts each Task it would create and writes nothing."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from sched_rig import OrgRig

from service.connections import session_provider
from service.jobs_wiring import job_functions, open_runs
from service.run_cmd import config_from_emulator_info
from subscriber.inbox import Inbox

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def test_shadow_trial_alerts_log_and_count_the_tasks_and_write_nothing(
        org: OrgRig, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rep = org.user("Rep")
    lead = org.create("Lead", LastName="Owner", Company="Acme", Email="ann@acme.co.uk",
                      OwnerId=rep)
    ws = org.create("Workspace__c", Name="Workspace ws-s", Workspace_ID__c="ws-s",
                    Self_Serve_Status__c="Trial", Trial_Expiration_Date__c="2026-12-03",
                    Lead__c=lead)
    state = tmp_path / "state"
    config = config_from_emulator_info(org.info_file, state, "auto",
                                       {"LIFECYCLE_SYNC_SERVICE_MODE": "shadow"})
    intended: list[tuple[str, str]] = []
    state.mkdir()
    runs = open_runs(state, shadow=True)
    with Inbox(tmp_path / "inbox.db") as inbox:
        jobs = job_functions(config, session_provider(config), inbox, runs,
                             intended=lambda op, obj: intended.append((op, obj)))
        assert set(jobs) == {"trial-alerts"}  # retry-parked, retention: nothing to decide
        with caplog.at_level(logging.INFO, logger="lifecycle_sync.shadow"):
            summary = jobs["trial-alerts"](NOW)
    runs.close()
    assert summary.startswith("shadow, nothing written: 1 trial(s)")
    assert summary.endswith("1 alert(s) decided")
    assert intended == [("create", "Task"), ("update", "Workspace__c")]
    lines = [r.getMessage() for r in caplog.records]
    assert f"shadow: would create Task key={ws} fields=" in lines[0]
    assert "OwnerId" in lines[0]
    assert not any("@" in line for line in lines)  # no email at INFO
    assert org.query("SELECT Id FROM Task") == []  # nothing written
    [row] = org.query("SELECT Expiration_Alert_Sent_For__c FROM Workspace__c")
    assert row["Expiration_Alert_Sent_For__c"] is None
    assert (state / "shadow-jobs.db").exists()
    assert not (state / "jobs.db").exists()  # a shadow run never stands for a live one
