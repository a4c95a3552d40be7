"""The PostgreSQL backend's schema: numbered migrations, applied only by ``db upgrade``.

A shared database is not a file the daemon owns: several daemons (active and standbys) and
perhaps a DBA use it, so the daemon never changes its schema on start. ``lifecycle-sync db
upgrade`` applies the missing migrations in order, each in its own transaction under a
transaction-scoped advisory lock (two upgrades at once wait for each other, and a failed one
leaves the previous version intact). ``run`` checks the version and refuses, with the command
to run, when the database is behind (or ahead: an older daemon must not write a newer schema).

Tables carry the ``lsync_`` prefix so the daemon can live in a database (or schema) with others.
The ``lsync_lease`` table is a normal (logged) table: its epoch must survive a PostgreSQL
failover, which an UNLOGGED table or an advisory lock would not.
"""

from __future__ import annotations

from typing import Any

import psycopg

from subscriber.errors import Fatal

__all__ = ["LATEST_VERSION", "MIGRATIONS", "current_version", "require_current", "upgrade"]

_LOCK_KEY = 0x6C73796E63  # "lsync": serialises concurrent `db upgrade` runs

MIGRATIONS: tuple[str, ...] = (
    # 1: the inbox (same columns as the SQLite file, plus the epochs that wrote each row) and
    # the fenced lease.
    """
    CREATE TABLE lsync_meta (key text PRIMARY KEY, value text NOT NULL);
    CREATE TABLE lsync_checkpoints (
        topic text PRIMARY KEY, replay_id bytea NOT NULL,
        updated_at double precision NOT NULL, epoch bigint NOT NULL DEFAULT 0);
    CREATE TABLE lsync_entries (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        topic text NOT NULL, dedupe_key text NOT NULL, kind text NOT NULL, status text NOT NULL,
        replay_id bytea NOT NULL, event_id text NOT NULL, schema_id text NOT NULL,
        payload text, change text, error text NOT NULL DEFAULT '', raw bytea,
        received_at double precision NOT NULL, applied_at double precision,
        landed_epoch bigint NOT NULL DEFAULT 0, applied_epoch bigint,
        UNIQUE (topic, dedupe_key));
    CREATE INDEX lsync_entries_by_status ON lsync_entries (status, id);
    CREATE INDEX lsync_entries_by_applied ON lsync_entries (applied_at)
        WHERE applied_at IS NOT NULL;
    CREATE TABLE lsync_lease (
        name text PRIMARY KEY, holder text NOT NULL, epoch bigint NOT NULL,
        expires_at timestamptz NOT NULL, acquired_at timestamptz NOT NULL);
    INSERT INTO lsync_meta VALUES
        ('inbox_id', gen_random_uuid()::text),
        ('created_at', extract(epoch FROM now())::text);
    """,
    # 2: the scheduler's run records and erasure log (scheduler.runs_pg), written under the
    # same fence, so a failover neither skips nor doubles a run.
    """
    CREATE TABLE lsync_job_state (
        job text PRIMARY KEY, last_started_at double precision,
        last_finished_at double precision, last_result text, last_summary text,
        next_run_at double precision, runs integer NOT NULL DEFAULT 0,
        failures integer NOT NULL DEFAULT 0);
    CREATE TABLE lsync_job_runs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, job text NOT NULL,
        started_at double precision NOT NULL, finished_at double precision,
        result text NOT NULL, summary text NOT NULL DEFAULT '', epoch bigint NOT NULL);
    CREATE TABLE lsync_erasures (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at double precision NOT NULL,
        email_sha256 text NOT NULL, summary text NOT NULL);
    """,
)
LATEST_VERSION = len(MIGRATIONS)


def current_version(conn: psycopg.Connection[Any]) -> int:
    """The schema version the database is at; 0 for a database never upgraded."""
    found = conn.execute("SELECT to_regclass('lsync_schema') IS NOT NULL").fetchone()
    if not found or not found[0]:
        return 0
    row = conn.execute("SELECT max(version) FROM lsync_schema").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def upgrade(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    """Apply every missing migration, one transaction each; returns (from, to) versions."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute("CREATE TABLE IF NOT EXISTS lsync_schema ("
                     "version integer PRIMARY KEY, applied_at timestamptz NOT NULL)")
        start = current_version(conn)
    _check_not_ahead(start)
    for version in range(start + 1, LATEST_VERSION + 1):
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            if current_version(conn) >= version:  # another upgrade got there first
                continue
            conn.execute(MIGRATIONS[version - 1])
            conn.execute("INSERT INTO lsync_schema VALUES (%s, now())", (version,))
    return start, LATEST_VERSION


def require_current(conn: psycopg.Connection[Any], where: str) -> None:
    """Raise :class:`Fatal` unless the schema is exactly the one this version writes."""
    found = current_version(conn)
    _check_not_ahead(found)
    if found < LATEST_VERSION:
        raise Fatal(
            f"the PostgreSQL inbox at {where} has schema version {found}, this version of "
            f"lifecycle-sync needs {LATEST_VERSION}. Run `lifecycle-sync db upgrade --config "
            "FILE` once (from any node), then start the daemons again; schema changes are "
            "never made implicitly at start, since other daemons share this database")


def _check_not_ahead(found: int) -> None:
    if found > LATEST_VERSION:
        raise Fatal(f"the PostgreSQL inbox has schema version {found}, newer than this "
                    f"version of lifecycle-sync knows ({LATEST_VERSION}): upgrade the "
                    "package on this node, never downgrade a shared schema")
