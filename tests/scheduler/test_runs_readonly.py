"""``RunStore`` read-only on a ``jobs.db`` the daemon has only just created."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from scheduler.runs import JobState, RunStore


def test_a_readonly_open_before_the_tables_exist_sees_no_runs(tmp_path: Path) -> None:
    """The daemon sets WAL on a new file before it creates the tables; ``status`` opening
    it read-only in that gap must see "no runs yet", not crash on "no such table"."""
    path = tmp_path / "jobs.db"
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")
    store = RunStore(path, readonly=True)
    try:
        assert store.state("retention") == JobState("retention")
        assert store.erasures() == []
    finally:
        store.close()
    writer = RunStore(path)  # the daemon then creates the tables in the same file
    writer.close()
    with closing(sqlite3.connect(path)) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"job_state", "job_runs", "erasures"} <= tables
