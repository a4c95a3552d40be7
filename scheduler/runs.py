"""What must survive a restart of the scheduler: each job's runs, and the erasure log.

Job definitions are static (they come from the configuration at every start), so nothing
about them is stored; what must persist is when each job last ran, how that went and when it
runs next, so a restart knows whether a run was missed (and runs it once) and ``jobs list`` /
``status`` can show it. That is a few rows in ``STATE/jobs.db``, a SQLite file of our own
beside the inbox (WAL, ``synchronous=FULL``), rather than APScheduler's SQLAlchemyJobStore,
which pickles job callables and would need SQLAlchemy for three rows (README, "Scheduled jobs").

The erasure log holds a keyed hash (HMAC-SHA-256, :mod:`scheduler.erasure`) of each forgotten
address, never the address itself (the column keeps its first name, ``email_sha256``).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from subscriber.errors import Fatal
from subscriber.inbox_file import make_private, readonly_uri

JOBS_FILE = "jobs.db"
SUMMARY_MAX_CHARS = 500
_DDL = """
CREATE TABLE IF NOT EXISTS job_state (
    job TEXT PRIMARY KEY, last_started_at REAL, last_finished_at REAL, last_result TEXT,
    last_summary TEXT, next_run_at REAL, runs INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS job_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL, started_at REAL NOT NULL,
    finished_at REAL, result TEXT NOT NULL, summary TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS erasures (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, email_sha256 TEXT NOT NULL,
    summary TEXT NOT NULL);
"""


def jobs_path(state_dir: Path) -> Path:
    return state_dir / JOBS_FILE


@dataclass(frozen=True)
class JobState:
    """One job's last run and next run (times are aware UTC datetimes)."""

    job: str
    last_started_at: dt.datetime | None = None
    last_finished_at: dt.datetime | None = None
    last_result: str | None = None  # "ok", "failed" or "running" (a run that never finished)
    last_summary: str = ""
    next_run_at: dt.datetime | None = None
    runs: int = 0
    failures: int = 0


class DamagedJobsFile(Fatal):
    """``STATE/jobs.db`` cannot be read as a database. It holds only job-run records and the
    erasure log (hashes), nothing a restart needs to stay correct (trial-alerts' markers are
    in Salesforce), so the safe recovery is for the admin to move it aside: the next start
    creates a new one and the old one is kept for the audit."""

    def __init__(self, path: Path, cause: Exception) -> None:
        aside = path.with_name(path.name + ".damaged")
        super().__init__(
            f"{path} is damaged ({cause}). It only holds job-run records and erasure hashes: "
            f"stop lifecycle-sync, move it aside (mv {path} {aside}) and start again; a new "
            "one is created, the old one is kept for the erasure audit")


class RunLog(Protocol):
    """What the scheduler records (``RunStore`` here; ``scheduler.runs_pg.PgRunStore`` on
    the PostgreSQL backend)."""

    path: Path

    def started(self, job: str, at: dt.datetime) -> int: ...

    def finished(self, run_id: int, job: str, at: dt.datetime, ok: bool, summary: str
                 ) -> None: ...

    def set_next(self, job: str, at: dt.datetime | None) -> None: ...

    def state(self, job: str) -> JobState: ...

    def prune_runs(self, before: dt.datetime) -> int: ...

    def record_erasure(self, at: dt.datetime, email_sha256: str, summary: str) -> None: ...

    def close(self) -> None: ...


class RunStore:
    """Thread-safe access to ``STATE/jobs.db``; one connection guarded by a lock.
    :class:`DamagedJobsFile` when the file is not a readable database."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        try:
            self._open(path, readonly)
        except sqlite3.DatabaseError as exc:
            raise DamagedJobsFile(path, exc) from None

    def _open(self, path: Path, readonly: bool) -> None:
        self.path = path
        self._lock = threading.Lock()
        if readonly:
            self._db = sqlite3.connect(readonly_uri(path), uri=True,
                                       check_same_thread=False, isolation_level=None)
        else:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            make_private(path, "jobs file")  # 0600 like the inbox, whatever the umask
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            with self._tx() as db:
                for statement in _DDL.split(";"):
                    if statement.strip():
                        db.execute(statement)
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # damaged: raises
        if readonly and not self._has_tables():
            self._db.close()
            self._db = _empty_store()

    def _has_tables(self) -> bool:
        """False in the moment between the daemon creating the file (its WAL pragma) and
        its tables: a read-only reader then sees "no runs yet", not "no such table"."""
        found = self._db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                                 "AND name = 'job_state'").fetchone()
        return bool(found[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def started(self, job: str, at: dt.datetime) -> int:
        """Record that ``job`` started; returns the run's ID for :meth:`finished`."""
        with self._tx() as db:
            db.execute("INSERT INTO job_state (job) VALUES (?) ON CONFLICT (job) DO NOTHING",
                       (job,))
            db.execute("UPDATE job_state SET last_started_at = ?, last_result = 'running', "
                       "last_summary = '' WHERE job = ?", (at.timestamp(), job))
            cur = db.execute("INSERT INTO job_runs (job, started_at, result) "
                             "VALUES (?, ?, 'running')", (job, at.timestamp()))
            return int(cur.lastrowid or 0)

    def finished(self, run_id: int, job: str, at: dt.datetime, ok: bool, summary: str) -> None:
        result = "ok" if ok else "failed"
        text = summary[:SUMMARY_MAX_CHARS]
        with self._tx() as db:
            db.execute("UPDATE job_runs SET finished_at = ?, result = ?, summary = ? "
                       "WHERE id = ?", (at.timestamp(), result, text, run_id))
            db.execute("UPDATE job_state SET last_finished_at = ?, last_result = ?, "
                       "last_summary = ?, runs = runs + 1, failures = failures + ? "
                       "WHERE job = ?", (at.timestamp(), result, text, int(not ok), job))

    def set_next(self, job: str, at: dt.datetime | None) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO job_state (job, next_run_at) VALUES (?, ?) "
                       "ON CONFLICT (job) DO UPDATE SET next_run_at = excluded.next_run_at",
                       (job, None if at is None else at.timestamp()))

    def state(self, job: str) -> JobState:
        with self._lock:
            row = self._db.execute(
                "SELECT job, last_started_at, last_finished_at, last_result, last_summary, "
                "next_run_at, runs, failures FROM job_state WHERE job = ?", (job,)).fetchone()
        if row is None:
            return JobState(job)
        return JobState(row[0], _utc(row[1]), _utc(row[2]), row[3], row[4] or "", _utc(row[5]),
                        int(row[6]), int(row[7]))

    def prune_runs(self, before: dt.datetime) -> int:
        """Forget run records older than ``before`` (the retention job's own housekeeping)."""
        with self._tx() as db:
            return db.execute("DELETE FROM job_runs WHERE started_at < ?",
                              (before.timestamp(),)).rowcount

    def record_erasure(self, at: dt.datetime, email_sha256: str, summary: str) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO erasures (at, email_sha256, summary) VALUES (?, ?, ?)",
                       (at.timestamp(), email_sha256, summary[:SUMMARY_MAX_CHARS]))

    def erasures(self) -> list[tuple[dt.datetime, str, str]]:
        with self._lock:
            rows = self._db.execute("SELECT at, email_sha256, summary FROM erasures "
                                    "ORDER BY id").fetchall()
        return [(dt.datetime.fromtimestamp(a, dt.UTC), h, s) for a, h, s in rows]

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:  # SQLITE_FULL already rolled it back: the
                    self._db.execute("ROLLBACK")  # ROLLBACK's error would hide the cause
                raise
            self._db.execute("COMMIT")


def _empty_store() -> sqlite3.Connection:
    """An in-memory database with the tables and no rows, for a file not set up yet."""
    db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    db.executescript(_DDL)
    return db


def _utc(epoch_s: float | None) -> dt.datetime | None:
    return None if epoch_s is None else dt.datetime.fromtimestamp(epoch_s, dt.UTC)
