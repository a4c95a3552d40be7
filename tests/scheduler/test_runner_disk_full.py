"""A disk that refuses the run store's writes (R13's full disk, as the scheduler sees it): each
run is skipped quietly, one WARNING per episode, never an exception out of the runner (which
APScheduler logs as an ERROR with a traceback on every run, each a Sentry issue). The refusal
is SQLite's own SQLITE_FULL, from ``PRAGMA max_page_count`` on the store's connection."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from pathlib import Path

import pytest
from sched_rig import FakeClock

from scheduler.runner import JobRunner
from scheduler.runs import RunStore
from scheduler.settings import RetrySettings, SchedulerSettings
from scheduler.timing import triggers


def _fill(store: RunStore) -> None:
    """Cap the store at its pages and fill them: the next run record does not fit."""
    db = store._db  # the store's own connection: the limit is per connection
    with store._lock:
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count={int(pages)}")
    for _ in range(100_000):
        try:
            store.started("filler", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        except sqlite3.OperationalError as exc:
            if "full" not in str(exc):
                raise
            return
    raise AssertionError("the capped store never filled")


def test_runs_are_skipped_quietly_while_the_disk_refuses_their_record(
        tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    settings = SchedulerSettings(retry=RetrySettings(interval_min=5))
    store = RunStore(tmp_path / "jobs.db")
    calls: list[dt.datetime] = []
    runner = JobRunner({"retry-parked": lambda now: calls.append(now) or "fine"},
                       triggers(settings), store, clock)
    caplog.set_level(logging.DEBUG, "lifecycle_sync.jobs")
    try:
        _fill(store)
        outcomes = [runner.run("retry-parked") for _ in range(3)]
        assert [o.ran for o in outcomes] == [False] * 3
        assert all("the disk refused its run record" in o.summary for o in outcomes)
        assert calls == [], "a run that cannot record its start does not run"
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        with store._lock:
            store._db.execute("PRAGMA max_page_count=1000000")
        assert runner.run("retry-parked").ok
        assert store.state("retry-parked").last_result == "ok"
        _fill(store)  # a new episode is reported again
        runner.run("retry-parked")
        assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 2
    finally:
        store.close()
