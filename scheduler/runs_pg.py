"""The scheduler's run records and erasure log in PostgreSQL, for an active/standby pair.

APScheduler itself keeps its in-memory job store and runs only on the active (its 3.x job
stores must never be shared between schedulers: duplicate or missed runs). What must cross a
failover is what :class:`scheduler.runs.RunStore` keeps in ``jobs.db``: when each job last ran
and how that went. Here it lives beside the inbox, every write fenced by the lease in the same
transaction, so the new active computes its first runs (:func:`scheduler.timing.first_run_at`)
from what the old one recorded: a run missed during the failover happens once, a run already
recorded is not repeated, and a former active that lost the lease cannot record anything.
(A run cut off mid-way is recorded as ``running`` and treated as missed, as on one node; the
jobs themselves are idempotent: trial alerts keep their markers in Salesforce.)

The erasure hashes are keyed with the node's own ``STATE/erasure.key``; ``path`` points into
the state directory for that reason only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from scheduler.runs import JOBS_FILE, SUMMARY_MAX_CHARS, JobState
from subscriber.inbox_pg import Fence

_STATE = ("SELECT job, last_started_at, last_finished_at, last_result, last_summary, "
          "next_run_at, runs, failures FROM lsync_job_state WHERE job = %s")


class PgRunStore:
    """Same methods as :class:`scheduler.runs.RunStore`; thread-safe (a pool)."""

    def __init__(self, pool: ConnectionPool, state_dir: Path, fence: Fence | None) -> None:
        self._pool = pool
        self._fence = fence
        self.path = state_dir / JOBS_FILE  # where the erasure key lives (its parent)

    def close(self) -> None:
        """The pool belongs to the inbox; nothing of our own to close."""

    def started(self, job: str, at: dt.datetime) -> int:
        with self._tx() as (cur, epoch):
            cur.execute("INSERT INTO lsync_job_state (job) VALUES (%s) "
                        "ON CONFLICT (job) DO NOTHING", (job,))
            cur.execute("UPDATE lsync_job_state SET last_started_at = %s, "
                        "last_result = 'running', last_summary = '' WHERE job = %s",
                        (at.timestamp(), job))
            cur.execute("INSERT INTO lsync_job_runs (job, started_at, result, epoch) "
                        "VALUES (%s, %s, 'running', %s) RETURNING id",
                        (job, at.timestamp(), epoch))
            row = cur.fetchone()
            return int(row[0]) if row else 0

    def finished(self, run_id: int, job: str, at: dt.datetime, ok: bool, summary: str) -> None:
        result = "ok" if ok else "failed"
        text = summary[:SUMMARY_MAX_CHARS]
        with self._tx() as (cur, _):
            cur.execute("UPDATE lsync_job_runs SET finished_at = %s, result = %s, summary = %s "
                        "WHERE id = %s", (at.timestamp(), result, text, run_id))
            cur.execute("UPDATE lsync_job_state SET last_finished_at = %s, last_result = %s, "
                        "last_summary = %s, runs = runs + 1, failures = failures + %s "
                        "WHERE job = %s", (at.timestamp(), result, text, int(not ok), job))

    def set_next(self, job: str, at: dt.datetime | None) -> None:
        with self._tx() as (cur, _):
            cur.execute("INSERT INTO lsync_job_state (job, next_run_at) VALUES (%s, %s) "
                        "ON CONFLICT (job) DO UPDATE SET next_run_at = excluded.next_run_at",
                        (job, None if at is None else at.timestamp()))

    def state(self, job: str) -> JobState:
        with self._pool.connection() as conn:
            row = conn.execute(_STATE, (job,)).fetchone()
        if row is None:
            return JobState(job)
        return JobState(row[0], _utc(row[1]), _utc(row[2]), row[3], row[4] or "",
                        _utc(row[5]), int(row[6]), int(row[7]))

    def prune_runs(self, before: dt.datetime) -> int:
        with self._tx() as (cur, _):
            cur.execute("DELETE FROM lsync_job_runs WHERE started_at < %s",
                        (before.timestamp(),))
            return cur.rowcount

    def record_erasure(self, at: dt.datetime, email_sha256: str, summary: str) -> None:
        with self._tx() as (cur, _):
            cur.execute("INSERT INTO lsync_erasures (at, email_sha256, summary) "
                        "VALUES (%s, %s, %s)",
                        (at.timestamp(), email_sha256, summary[:SUMMARY_MAX_CHARS]))

    def erasures(self) -> list[tuple[dt.datetime, str, str]]:
        with self._pool.connection() as conn:
            rows = conn.execute("SELECT at, email_sha256, summary FROM lsync_erasures "
                                "ORDER BY id").fetchall()
        return [(dt.datetime.fromtimestamp(a, dt.UTC), h, s) for a, h, s in rows]

    @contextmanager
    def _tx(self) -> Iterator[tuple[psycopg.Cursor[Any], int]]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur, (self._fence.check(conn) if self._fence is not None else 0)


def _utc(epoch_s: float | None) -> dt.datetime | None:
    return None if epoch_s is None else dt.datetime.fromtimestamp(epoch_s, dt.UTC)
