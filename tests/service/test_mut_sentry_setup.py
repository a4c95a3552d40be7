"""A scheduled job's failures reach Sentry (the real SDK to a local ingest endpoint) as one
issue per error class, named by the class Salesforce gave (``error_class``) when there is
one, and the apply loop's first report of a class too. Mutation testing found the error-class
lookup and the apply hooks' Sentry link unpinned at unit level."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sentry_sdk

from emulator.server import Emulator
from scheduler.settings import SchedulerSettings
from service.apply_wiring import apply_hooks
from service.cli import main
from service.config import load_config
from service.connections import session_provider
from service.jobs_wiring import job_runner, open_runs
from service.run_cmd import config_from_emulator_info
from service.sentry_setup import SentrySettings, init_sentry, monitor_configs, monitored

# _record_ops, private: the daemon writes it at start (a daemon-level run is outside the
# per-mutant budget); what it records is then read through the public `status` command.
from service.wiring import _record_ops
from subscriber.inbox import Inbox
from tests.service.sentry_server import Envelopes, sentry_server


@pytest.fixture
def sentry() -> Iterator[Envelopes]:
    with sentry_server() as (dsn, envelopes):
        assert init_sentry(SentrySettings(dsn=dsn, environment="pilot",
                                          release="lifecycle-sync@9.9.9"), [])
        try:
            yield envelopes
        finally:
            sentry_sdk.get_client().close(timeout=2)
            sentry_sdk.get_global_scope().set_client(None)


class Limited(Exception):
    error_class = "REQUEST_LIMIT_EXCEEDED"


def test_a_jobs_failures_are_one_issue_per_error_class(sentry: Envelopes) -> None:
    failures = iter([Limited("limit"), Limited("limit again"), ValueError("bad row")])

    def failing(now: dt.datetime) -> str:
        raise next(failures)

    job = monitored("retention", failing, monitor_configs(SchedulerSettings())["retention"])
    for _ in range(3):
        with pytest.raises((Limited, ValueError)):
            job(dt.datetime.now(dt.UTC))
    sentry_sdk.get_client().flush(timeout=5)
    issues = [e for e in sentry.items("event") if e["tags"].get("kind") == "job"]
    assert sorted(tuple(e["fingerprint"]) for e in issues) == [
        ("lifecycle-sync", "job", "REQUEST_LIMIT_EXCEEDED"),
        ("lifecycle-sync", "job", "ValueError")]
    assert {e["tags"]["job"] for e in issues} == {"retention"}
    assert {e["level"] for e in issues} == {"error"}
    statuses = [c["status"] for c in sentry.items("check_in")]
    assert statuses.count("error") == 3


@pytest.mark.parametrize("shadow", [False, True])
def test_the_apply_loops_reports_reach_sentry_with_or_without_metrics(
        sentry: Envelopes, shadow: bool) -> None:
    hooks = apply_hooks(None, shadow)
    assert hooks.on_report is not None
    hooks.on_report("INVALID_FIELD", "refused", {"topic": "/event/SelfServeTrialEvent__e"})
    sentry_sdk.get_client().flush(timeout=5)
    [issue] = [e for e in sentry.items("event") if e["tags"].get("kind") == "apply"]
    assert issue["fingerprint"] == ["lifecycle-sync", "apply", "INVALID_FIELD"]
    assert issue["level"] == "warning"
    assert issue["tags"]["topic"] == "/event/SelfServeTrialEvent__e"


def test_the_daemons_job_runner_sends_each_jobs_schedule_with_its_check_ins(
        sentry: Envelopes, emulator: Emulator, tmp_path: Path) -> None:
    info = tmp_path / "info.json"
    emulator.write_info(info)
    config = config_from_emulator_info(info, tmp_path / "state", "auto", {})
    (tmp_path / "state").mkdir(mode=0o700)
    with Inbox(tmp_path / "state" / "inbox.db") as inbox:
        runs = open_runs(config.service.state_dir, inbox)
        try:
            runner = job_runner(config, session_provider(config), inbox, runs, crons=True)
            assert runner.run("retention").ok
        finally:
            runs.close()
    sentry_sdk.get_client().flush(timeout=5)
    checkins = sentry.items("check_in")
    assert [(c["monitor_slug"], c["status"]) for c in checkins] == [
        ("retention", "in_progress"), ("retention", "ok")]
    assert checkins[0]["monitor_config"]["schedule"] == {"type": "crontab",
                                                          "value": "30 3 * * *"}  # 03:30


def test_each_jobs_monitor_carries_its_schedule_and_the_same_alerting_rules() -> None:
    configs = monitor_configs(SchedulerSettings())
    common = {"checkin_margin": 10, "max_runtime": 60, "failure_issue_threshold": 1}
    assert configs["retention"] == {
        "schedule": {"type": "crontab", "value": "30 3 * * *"}, "timezone": "UTC", **common}
    assert configs["retry-parked"] == {
        "schedule": {"type": "interval", "value": 5, "unit": "minute"}, **common}
    assert set(configs) == {"retry-parked", "trial-alerts", "retention", "reconcile-gaps"}


def test_status_shows_the_mode_sentry_and_metrics_the_daemon_started_with(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "sync.toml").write_text(
        '[service]\nstate_dir = "state"\nmode = "shadow"\n[auth]\nmode = "static_token"\n'
        'instance_url = "https://127.0.0.1:9"\ntenant_id = "00Dxx0000000001"\n'
        "[metrics]\nport = 9464\n")
    config = load_config(tmp_path / "sync.toml", {"LIFECYCLE_SYNC_AUTH_ACCESS_TOKEN": "t"})
    (tmp_path / "state").mkdir(mode=0o700)
    with Inbox(tmp_path / "state" / "inbox.db") as inbox:
        _record_ops(inbox, config, SentrySettings(dsn="https://k@o1.ingest.sentry.io/42",
                                                  environment="pilot", release="r1"))
    assert main(["status", "--state", str(tmp_path / "state")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-3:] == [
        "mode: SHADOW (nothing is written to Salesforce; pending entries are applied by live "
        "mode)",
        "sentry: on, environment pilot, release r1, to o1.ingest.sentry.io/42, cron check-ins "
        "on",
        "metrics: http://127.0.0.1:9464/metrics"]
