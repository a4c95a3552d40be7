"""``jobs list|run``, ``status`` showing job runs and failures, and the daemon running the
scheduler on its own threads."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from helpers.children import module_argv, run_cli
from sched_rig import OrgRig

from benchmarks.rig import Daemon, poll
from scheduler.runner import JobRunner
from scheduler.runs import RunStore
from scheduler.settings import SchedulerSettings
from scheduler.timing import triggers
from service.lifecycle import state_lock
from service.status_cmd import collect_status, render_text
from subscriber.inbox import Inbox


def _cli(org: OrgRig, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, "--emulator-info", str(org.info_file), "--state", str(state),
                   timeout_s=120)


def _listed(org: OrgRig, state: Path) -> dict[str, dict[str, Any]]:
    done = _cli(org, state, "jobs", "list", "--json")
    assert done.returncode == 0, done.stderr
    return {j["job"]: j for j in json.loads(done.stdout)["jobs"]}


def test_jobs_list_and_run(org: OrgRig, tmp_path: Path) -> None:
    state = tmp_path / "state"
    before = _listed(org, state)
    assert set(before) == {"retry-parked", "trial-alerts", "retention", "reconcile-gaps"}
    assert before["trial-alerts"]["schedule"] == "daily at 09:00 UTC"
    assert before["retry-parked"]["last_run"] is None
    assert before["retry-parked"]["next_run"] is not None
    done = _cli(org, state, "jobs", "run", "retry-parked")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("retry-parked: ok: 0 completed")
    after = _listed(org, state)["retry-parked"]
    assert (after["result"], after["runs"]) == ("ok", 1)
    assert after["summary"].startswith("0 completed")
    text = _cli(org, state, "jobs", "list").stdout
    assert "retry-parked: every 5 min\n  last run 20" in text


def test_jobs_run_refuses_while_the_daemon_holds_the_state(org: OrgRig, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with state_lock(state):
        done = _cli(org, state, "jobs", "run", "retention")
        forget = _cli(org, state, "forget", "--email", "a@b.co.uk", "--yes")
    assert done.returncode == 75
    assert "runs the jobs on schedule" in done.stderr
    assert forget.returncode == 75
    nameless = _cli(org, state, "jobs", "run")
    assert nameless.returncode == 64
    assert "name a job" in nameless.stderr
    not_an_address = _cli(org, state, "forget", "--email", "a", "--yes")
    assert not_an_address.returncode == 64
    assert "not an email address" in not_an_address.stderr


def test_status_shows_job_runs_and_failures(tmp_path: Path) -> None:
    Inbox(tmp_path / "inbox.db").close()
    store = RunStore(tmp_path / "jobs.db")

    def broken(now: dt.datetime) -> str:
        raise ConnectionError("Salesforce unreachable")

    runner = JobRunner({"retry-parked": lambda now: "3 completed", "trial-alerts": broken,
                        "retention": lambda now: "nothing old"},
                       triggers(SchedulerSettings()), store)
    runner.run("retry-parked")
    runner.run("trial-alerts")
    store.close()
    report = collect_status(tmp_path)
    jobs = report["jobs"]
    assert (jobs["retry-parked"]["result"], jobs["retry-parked"]["runs"]) == ("ok", 1)
    assert (jobs["trial-alerts"]["result"], jobs["trial-alerts"]["failures"]) == ("failed", 1)
    assert jobs["retention"]["result"] is None
    text = render_text(report)
    assert ("job trial-alerts: failed (ConnectionError: Salesforce unreachable); last run "
            in text)
    assert "job retention: never run" in text


def test_the_daemon_runs_scheduled_jobs(org: OrgRig, tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {"LIFECYCLE_SYNC_SCHEDULER_RETRY_INTERVAL_MIN": "0.05",  # every 3 s
           "LIFECYCLE_SYNC_PUBSUB_KEEPALIVE_S": "5"}
    daemon = Daemon(org.info_file, state, tmp_path / "daemon.log", env=env, auth="jwt")
    daemon.args[:3] = module_argv("service")  # mutmut's stats see what it runs
    daemon.start()
    try:
        def ran() -> dict[str, Any] | None:
            assert daemon.proc is not None
            assert daemon.proc.poll() is None, (tmp_path / "daemon.log").read_text()
            if not (state / "jobs.db").exists():
                return None
            job = collect_status(state)["jobs"]["retry-parked"]
            return job if job["runs"] >= 1 else None

        job = poll(ran, 60, "a scheduled retry-parked run", interval_s=0.1)
        assert job["result"] == "ok"
        listed = _listed(org, state)["retry-parked"]
        assert listed["next_run"] is not None
        assert daemon.terminate() == 0
    finally:
        daemon.stop_quietly()
    assert job["summary"].startswith("0 completed, 0 still waiting")
    # nothing to do every few minutes is no news at INFO
    assert "job retry-parked" not in (tmp_path / "daemon.log").read_text()


def test_a_damaged_jobs_file_is_reported_not_a_traceback(org: OrgRig, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    Inbox(state / "inbox.db").close()
    (state / "jobs.db").write_bytes(b"this is not a SQLite database, it was overwritten" * 50)
    listed = _cli(org, state, "jobs", "list")
    ran = _cli(org, state, "jobs", "run", "retention")
    status = run_cli("status", "--state", str(state), timeout_s=120)
    daemon = _cli(org, state, "run")
    for done, code in ((listed, 1), (status, 1), (ran, 78), (daemon, 78)):
        assert done.returncode == code, done.stderr
        assert "Traceback" not in done.stderr
        assert "jobs.db is damaged" in done.stderr
        assert "move it aside" in done.stderr
    assert "refusing to run" in ran.stderr


def test_a_lock_held_by_another_jobs_command_is_not_called_a_daemon(org: OrgRig,
                                                                    tmp_path: Path) -> None:
    state = tmp_path / "state"
    holder = subprocess.Popen(  # stands in for a long `jobs run`: its command line says jobs
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
         "from service.lifecycle import state_lock\nwith state_lock(Path(sys.argv[1])):\n"
         "    print('held', flush=True)\n    sys.stdin.read()", str(state), "jobs"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        done = _cli(org, state, "jobs", "run", "retention")
    finally:
        holder.communicate("", timeout=30)
    assert done.returncode == 75
    assert "Another jobs run or forget is in progress" in done.stderr
    assert "daemon" not in done.stderr
