"""Reliability matrix, process-level cases (reliability-anchors.md §6): R14 damaged or missing
checkpoint store, R16 a slow clock against JWT login, R18 Sentry unreachable or slow, R20 a
failing scheduled job's Cron check-in, R23 a second instance. The daemon is a real subprocess
against an in-process emulator; faults go through the emulator's admin API."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.ports import refused_port
from rel2_rig import Rel2Rig, emulator, slow_sentry, wait_until
from rel_params import timeout_stop_s

from service.config import inbox_path
from subscriber.inbox_file import readonly_uri

TIMEOUT_STOP_S = timeout_stop_s()  # systemd/lifecycle-sync.service TimeoutStopSec
TRIAL = {"trial_expiration": "2026-12-31"}
SENTRY_HELD_S = 3600.0  # R18's slow Sentry: no answer before the test's teardown releases it


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rel2Rig]:
    with emulator(tmp_path) as emu:
        made = Rel2Rig(emu, tmp_path)
        try:
            yield made
        finally:
            made.close()


def _trials(rig: Rel2Rig, prefix: str, count: int) -> list[str]:
    return rig.publish(*(rig.record("Trial", f"{prefix}-{i}", TRIAL, i,
                                    email=f"person{i}@{prefix}-rel.com") for i in range(count)))


def _workspaces(rig: Rel2Rig, prefix: str) -> list[str]:
    rows = rig.query(f"SELECT Workspace_ID__c FROM Workspace__c "
                     f"WHERE Workspace_ID__c LIKE '{prefix}-%'")
    return sorted(r["Workspace_ID__c"] for r in rows)


# -- R14 ------------------------------------------------------------------------------------

def _flip_entries_page(path: Path) -> None:
    """Overwrite the cells at the end of the ``entries`` table's root page (its oldest rows),
    leaving the file header, the schema and the page header intact: the file opens and its
    schema reads, and only ``quick_check``/``integrity_check`` find the damage."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        [(root,)] = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'entries'")
        [(page_size,)] = db.execute("PRAGMA page_size")
    assert root > 1
    with path.open("r+b") as f:
        f.seek(root * page_size - 48)
        f.write(b"\xff" * 48)
    with contextlib.closing(sqlite3.connect(readonly_uri(path), uri=True)) as db:
        assert db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        with pytest.raises(sqlite3.DatabaseError, match="malformed"):
            db.execute("PRAGMA quick_check").fetchall()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "missing", "btree-page"])
def test_r14_a_damaged_or_missing_inbox_refuses_to_start_and_alerts(rig: Rel2Rig,
                                                                     damage: str) -> None:
    """Never a silent fresh start: exit 78, one clear ERROR, one Sentry event, no write to
    Salesforce, and the damaged file left as it was for a human."""
    first = rig.run()
    rig.wait_done(_trials(rig, "r14", 20))
    assert first.terminate(TIMEOUT_STOP_S) == 0
    path = inbox_path(rig.state)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    data = path.read_bytes()
    if damage == "missing":
        path.unlink()
    elif damage == "btree-page":
        _flip_entries_page(path)
    else:
        path.write_bytes(data[: len(data) // 2] if damage == "truncated" else os.urandom(8192))
    left = path.read_bytes() if path.exists() else None
    rig.reset_calls()

    with slow_sentry() as (dsn, envelopes):
        refused = rig.run(SENTRY_DSN=dsn)
        assert refused.wait(60) == 78
        events = wait_until(lambda: envelopes.items("event"), 30, "the Sentry alert")
    errors = [line for line in refused.log_text().splitlines() if " ERROR " in line]
    assert len(errors) == 1, errors
    assert ("is missing" if damage == "missing" else "not a usable inbox") in errors[0]
    assert "--reset-inbox" in errors[0]
    assert [e["level"] for e in events] == ["error"]
    assert rig.calls() == 0, "a refused start must not touch Salesforce"
    assert (path.read_bytes() if path.exists() else None) == left


# -- R16 ------------------------------------------------------------------------------------

def test_r16_a_clock_5_min_slow_fails_jwt_login_once_and_clearly(rig: Rel2Rig) -> None:
    """The org's clock 5 minutes ahead is the daemon's clock 5 minutes behind: every JWT
    assertion (exp = now + 3 min) arrives expired. One invalid_grant naming the clock, in the
    log and in Sentry; exit 78 (no busy retry loop); once the clocks agree it runs."""
    rig.admin_call("/faults/clock", {"offset_s": 300})
    with slow_sentry() as (dsn, envelopes):
        skewed = rig.run(SENTRY_DSN=dsn)
        assert skewed.wait(60) == 78
        events = wait_until(lambda: envelopes.items("event"), 30, "the Sentry alert")
    lines = [line for line in skewed.log_text().splitlines() if "invalid_grant" in line]
    assert len(lines) == 1, lines  # one login, one line: no retry loop
    assert " ERROR " in lines[0]
    assert "expired authorization code" in lines[0]
    assert "clock" in lines[0]
    [event] = events
    assert "invalid_grant" in str(event.get("logentry", {}).get("formatted", ""))

    rig.admin_call("/faults/clock", {"offset_s": 0})
    rig.run()
    rig.wait_done(_trials(rig, "r16", 3))
    assert _workspaces(rig, "r16") == [f"r16-{i}" for i in range(3)]


# -- R18 ------------------------------------------------------------------------------------

@pytest.mark.parametrize("sentry", ["closed-port", "slow"])
def test_r18_an_unreachable_or_slow_sentry_neither_blocks_apply_nor_shutdown(
    rig: Rel2Rig, sentry: str
) -> None:
    """Poison events make the daemon report to Sentry while it applies; the reports go
    nowhere (closed port) or get no answer until the test ends (slow: the server holds every
    request until teardown, longer than the apply wait and the unit's stop limit). Every event
    is still applied or parked, and SIGTERM still ends the process within the unit's
    TimeoutStopSec: a daemon whose apply or shutdown waited on a Sentry request fails here."""
    with slow_sentry(delay_s=SENTRY_HELD_S) as (slow_dsn, envelopes), \
            refused_port() as refused:
        dsn = (f"http://publickey@127.0.0.1:{refused}/42" if sentry == "closed-port"
               else slow_dsn)
        daemon = rig.run(SENTRY_DSN=dsn)
        poison = [rig.record("Trial", f"r18-bad-{i}", "{broken", i) for i in range(3)]
        ids = rig.publish(*poison) + _trials(rig, "r18", 30)
        done = rig.wait_done(ids, timeout_s=90)
        if sentry == "slow":
            wait_until(lambda: envelopes.bodies, 30, "the slow Sentry to be called")
        started = time.monotonic()
        try:
            code = daemon.terminate(TIMEOUT_STOP_S)
        except subprocess.TimeoutExpired:
            code = None  # still running at the unit's limit: systemd would SIGKILL it
        stop_s = time.monotonic() - started
        unanswered = len(envelopes.bodies)
    print(f"R18 {sentry}: SIGTERM to exit {stop_s:.2f} s, {unanswered} Sentry request(s) received, "
          f"none answered (load {os.getloadavg()[0]:.1f})")
    assert code == 0, f"exit {code} after {stop_s:.1f} s\n{daemon.log_text()[-2000:]}"
    assert stop_s < TIMEOUT_STOP_S
    assert _workspaces(rig, "r18") == sorted(f"r18-{i}" for i in range(30))
    assert len(done) == 33
    assert "Traceback" not in daemon.log_text()


# -- R20 ------------------------------------------------------------------------------------

def test_r20_a_failing_job_sends_an_error_check_in_with_its_schedule(rig: Rel2Rig) -> None:
    """retry-parked's query fails (HTTP 500 on every query): its Cron check-in goes
    in_progress then error, carrying the monitor's schedule and checkin_margin (Sentry marks a
    run missed against them); the failure is one Sentry issue, not one per run."""
    rig.admin_call("/faults/org", {"fault": "server_error", "kind": "query"})
    with slow_sentry() as (dsn, envelopes):
        daemon = rig.run(SENTRY_DSN=dsn, LIFECYCLE_SYNC_SCHEDULER_RETRY_INTERVAL_MIN="0.01")

        def errors() -> list[dict[str, object]]:
            return [c for c in envelopes.items("check_in")
                    if c.get("monitor_slug") == "retry-parked" and c.get("status") == "error"]

        wait_until(lambda: len(errors()) >= 2, 60, "two failed retry-parked runs")
        assert daemon.terminate(TIMEOUT_STOP_S) == 0
    failed = errors()[0]
    config = failed["monitor_config"]
    assert isinstance(config, dict)
    assert config["schedule"]["type"] == "interval"
    assert config["checkin_margin"] > 0
    statuses = [c["status"] for c in envelopes.items("check_in")
                if c.get("monitor_slug") == "retry-parked"]
    assert statuses[0] == "in_progress"
    issues = [e for e in envelopes.items("event") if "job" in e.get("fingerprint", [])]
    assert len(issues) == 1, [e.get("fingerprint") for e in issues]


# -- R23 ------------------------------------------------------------------------------------

def test_r23_a_second_instance_on_the_same_state_exits_75_and_the_first_goes_on(
    rig: Rel2Rig,
) -> None:
    first = rig.run()
    wait_until(rig.ready, 30, "READY=1")
    second = rig.run()
    assert second.wait(60) == 75
    assert str(first.pid) in second.log_text()  # names the holder
    rig.wait_done(_trials(rig, "r23", 5))
    assert _workspaces(rig, "r23") == [f"r23-{i}" for i in range(5)]
    assert first.terminate(TIMEOUT_STOP_S) == 0
