"""Where a test's inbox lives, on either backend, so one test body runs on both.

``SqlitePlace``: the inbox file. ``PgPlace``: a fresh schema on the session's throwaway
PostgreSQL, upgraded as ``db upgrade`` would, with the deployment's lease taken by this test
process: every inbox it opens is *fenced* by that lease, as the daemon's always is, so each
write runs the same in-transaction lease check production runs. The lease's TTL outlives any
test, so nothing renews it. ``open()`` may be called again for the same inbox (a restart).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from subscriber.inbox import Inbox
from subscriber.inbox_api import InboxStore

BACKENDS = ("sqlite", "postgres")
# ``pytestmark = BOTH_BACKENDS``: every test of a module runs once per backend (the
# ``inbox_backend`` fixture of tests/conftest.py; ``inbox_place`` is the inbox itself)
BOTH_BACKENDS = pytest.mark.parametrize("inbox_backend", BACKENDS, indirect=True)
# ``pytestmark = RIG_ON_BOTH_BACKENDS`` in tests/handlers: the module's apply rig (one daemon
# per module) once per backend
RIG_ON_BOTH_BACKENDS = pytest.mark.parametrize("rig", BACKENDS, indirect=True, scope="module")


def upgraded_schema(server: Any) -> str:
    """A DSN on a fresh schema of ``server`` (a :class:`helpers.postgres.PgServer`), upgraded
    as ``lifecycle-sync db upgrade`` would; no lease taken (a daemon will take it)."""
    import psycopg

    from subscriber.pg_schema import upgrade

    dsn = str(server.new_schema())
    with psycopg.connect(dsn, autocommit=True) as conn:
        upgrade(conn)
    return dsn
TEST_LEASE_TTL_S = 3600.0


class SqlitePlace:
    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._opened: list[InboxStore] = []

    def open(self, **kwargs: Any) -> InboxStore:
        self._opened.append(Inbox(self.path, **kwargs))
        return self._opened[-1]

    def close(self) -> None:
        """Closes what the test left open (closing twice is harmless)."""
        for inbox in self._opened:
            inbox.close()


class PgPlace:
    backend = "postgres"

    def __init__(self, dsn: str) -> None:
        import psycopg

        from subscriber.pg_connect import open_pool
        from subscriber.pg_lease import Lease
        from subscriber.pg_schema import upgrade

        self.dsn = dsn
        with psycopg.connect(dsn, autocommit=True) as conn:
            upgrade(conn)  # the fixture's DSN is a fresh schema
        self._pool = open_pool(dsn, max_size=2)
        self.lease = Lease(self._pool, ttl_s=TEST_LEASE_TTL_S)
        self._opened: list[InboxStore] = []
        assert self.lease.try_acquire() == 1, "a fresh schema's lease starts at epoch 1"

    def open(self, **kwargs: Any) -> InboxStore:
        from subscriber.inbox_pg import open_pg_inbox

        self._opened.append(open_pg_inbox(self.dsn, fence=self.lease, pool_size=2, **kwargs))
        return self._opened[-1]

    def raw(self) -> AbstractContextManager[Any]:
        """A plain autocommit connection to the schema (for a test's own DDL)."""
        import psycopg

        return psycopg.connect(self.dsn, autocommit=True)

    def close(self) -> None:
        """Closes what the test left open (its pools' threads), then the lease's pool."""
        for inbox in self._opened:
            inbox.close()
        self._pool.close()


InboxPlace = SqlitePlace | PgPlace


def refuse_inserts(place: InboxPlace, *, disk_full: bool = False) -> str:
    """Make the backend refuse every new entry mid-transaction, with a full disk's text;
    returns that text. :func:`allow_inserts` undoes it. On PostgreSQL ``disk_full`` sends the
    real disk_full SQLSTATE (53100) from the server, otherwise a plain raise_exception (P0001),
    which is not a full disk; SQLite's trigger can only ever send the text, never the code."""
    if isinstance(place, SqlitePlace):
        import sqlite3

        with sqlite3.connect(place.path) as db:
            db.execute("CREATE TRIGGER no_room BEFORE INSERT ON entries "
                       "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
        return "database or disk is full"
    code = "disk_full" if disk_full else "raise_exception"
    with place.raw() as conn:
        conn.execute("CREATE FUNCTION no_room() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     f"RAISE EXCEPTION USING ERRCODE = '{code}', MESSAGE = 'could not extend "
                     "file: No space left on device'; END $$")
        conn.execute("CREATE TRIGGER no_room BEFORE INSERT ON lsync_entries "
                     "FOR EACH ROW EXECUTE FUNCTION no_room()")
    return "No space left on device"


def allow_inserts(place: InboxPlace) -> None:
    if isinstance(place, SqlitePlace):
        import sqlite3

        with sqlite3.connect(place.path) as db:
            db.execute("DROP TRIGGER no_room")
        return
    with place.raw() as conn:
        conn.execute("DROP TRIGGER no_room ON lsync_entries")
        conn.execute("DROP FUNCTION no_room()")
