"""``--backend sqlite|postgres`` for the benchmarks: where the daemon's inbox lives.

``postgres`` starts a throwaway PostgreSQL from the installed binaries (benchmarks.pg_server,
the same one the tests use), creates the schema as ``db upgrade`` would and points the daemon
at it (``LIFECYCLE_SYNC_INBOX_*``). The single daemon takes the free lease at once; its
takeover wait is set to 0 (there is no former active whose request could be in flight), so
the figures compare the inbox engines, not the failover protocol.
"""

from __future__ import annotations

import argparse
import contextlib
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import InboxReader as SqliteEntries
from benchmarks.pg_server import PgServer, find_bindir
from service.config import inbox_path
from subscriber.inbox import Inbox
from subscriber.inbox_api import InboxReader

BACKENDS = ("sqlite", "postgres")


def add_backend_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite",
                        help="the inbox engine (postgres: a throwaway server from the "
                             "installed PostgreSQL binaries; needs the postgres extra)")


@dataclass
class Backend:
    name: str
    env: dict[str, str] = field(default_factory=dict)
    dsn: str = ""
    _pg: Any = None  # one PgInbox for every poll (a connection per poll would skew timing)
    _server: PgServer | None = None
    _made: list[Backend] = field(default_factory=list)

    def fresh(self) -> Backend:
        """A backend with an empty inbox of its own (postgres: a new schema, upgraded), for
        a benchmark that runs the daemon more than once; closed with this one."""
        if self._server is None:
            return self
        made = _pg_backend(self._server)
        self._made.append(made)
        return made

    def entries(self, state: Path) -> SqliteEntries | PgEntries:
        """A read-only ``query(sql, args)`` over the inbox's entries (benchmarks.common)."""
        return PgEntries(self.dsn) if self.name == "postgres" else SqliteEntries(state)

    def exists(self, state: Path) -> bool:
        return self.name == "postgres" or inbox_path(state).exists()

    def reader(self, state: Path) -> AbstractContextManager[InboxReader]:
        if self.name == "sqlite":
            return Inbox.open_readonly(inbox_path(state))
        if self._pg is None:
            from subscriber.inbox_pg import open_pg_inbox

            self._pg = open_pg_inbox(self.dsn, pool_size=1)
        return contextlib.nullcontext(self._pg)

    def pg_rows(self, topic: str) -> list[tuple[str, str, float | None, str]]:
        """(event_id, status, applied_at, error) of every entry of ``topic`` (postgres)."""
        self.reader(Path())
        with self._pg.pool.connection() as conn:
            return list(conn.execute("SELECT event_id, status, applied_at, error FROM "
                                     "lsync_entries WHERE topic = %s", (topic,)).fetchall())

    def close(self) -> None:
        for made in self._made:
            made.close()
        if self._pg is not None:
            self._pg.close()


class PgEntries:
    """benchmarks.common.InboxReader's ``query`` on the PostgreSQL inbox: the same SQL, with
    ``entries`` read from ``lsync_entries`` and ``?`` placeholders as ``%s``."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: Any = None

    def query(self, sql: str, args: tuple[object, ...] = ()) -> list[Any]:
        import psycopg

        if self._conn is None:
            self._conn = psycopg.connect(self._dsn, autocommit=True)
        sql = re.sub(r"\bentries\b", "lsync_entries", sql).replace("?", "%s")
        return list(self._conn.execute(sql, args).fetchall())

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


@contextlib.contextmanager
def backend(name: str) -> Iterator[Backend]:
    """The backend's setup for one run; a PostgreSQL server is stopped afterwards."""
    if name == "sqlite":
        yield Backend("sqlite")
        return
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("--backend postgres: no PostgreSQL binaries (initdb, pg_ctl) found")
    server = PgServer(bindir, durable=True)  # fsync on, like SQLite's synchronous=FULL
    try:
        server.start()
        made = _pg_backend(server)
        try:
            yield made
        finally:
            made.close()
    finally:
        server.destroy()


def _pg_backend(server: PgServer) -> Backend:
    """A fresh schema on ``server``, created as ``db upgrade`` would, and the daemon's env."""
    dsn = server.new_schema()
    import psycopg

    from subscriber.pg_schema import upgrade

    with psycopg.connect(dsn, autocommit=True) as conn:
        upgrade(conn)
    return Backend("postgres", {"LIFECYCLE_SYNC_INBOX_BACKEND": "postgres",
                                "LIFECYCLE_SYNC_INBOX_DSN": dsn,
                                "LIFECYCLE_SYNC_INBOX_TAKEOVER_WAIT_S": "0"}, dsn,
                   _server=server)
