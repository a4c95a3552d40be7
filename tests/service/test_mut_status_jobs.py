"""``status`` reads ``STATE/jobs.db`` read-only, safe while the daemon runs: the file keeps
its size, time stamps and mode, and nothing is written to its WAL, while the last run shows
(mutation testing found the read-only open unpinned)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from scheduler.runs import RunStore
from service.cli import main
from subscriber.inbox import Inbox


def test_status_shows_job_runs_and_leaves_jobs_db_as_it_was(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Inbox(tmp_path / "inbox.db").close()
    store = RunStore(tmp_path / "jobs.db")
    try:
        at = dt.datetime(2026, 11, 30, 3, 30, tzinfo=dt.UTC)
        store.finished(store.started("retention", at), "retention", at, True, "0 deleted")
    finally:
        store.close()
    (tmp_path / "jobs.db").chmod(0o640)  # an admin's copy: status must not touch it

    def snapshot() -> dict[str, tuple[int, int, int]]:  # SQLite readers may add -wal/-shm
        return {p.name: (p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_mode)
                for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))}

    before = snapshot()
    assert main(["status", "--state", str(tmp_path)]) == 0
    assert "job retention: ok (0 deleted); last run 2026-11-30T03:30:00+00:00" in \
        capsys.readouterr().out
    assert snapshot() == before
    assert [p.name for p in tmp_path.glob("*-wal") if p.stat().st_size] == []
