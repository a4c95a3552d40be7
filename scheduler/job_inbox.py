"""What the jobs read and rewrite in the inbox directly, for the PostgreSQL backend.

On SQLite the jobs open the inbox file themselves (:mod:`scheduler.local_inbox`,
:func:`scheduler.erasure.erase_from_inbox`, :func:`scheduler.retention.redact_poison`, each
given the file's path). On PostgreSQL they are given a :class:`PgJobInbox` instead, which
answers the same three needs with SQL on the shared tables; its writes are fenced by the lease
like every other write. :data:`InboxPlace` is either.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # psycopg is the optional "postgres" extra
    from psycopg_pool import ConnectionPool

    from subscriber.inbox_pg import Fence

_KEY_SQL = {"event_id": "event_id",
            "workspace": "lower(payload::jsonb ->> 'Workspace_ID__c')"}


class JobInbox(Protocol):
    def payloads(self, column: str, values: list[str]) -> list[tuple[str, dict[str, Any]]]: ...

    def rewrite(self, hit: Scrub) -> int: ...

    def redact_poison(self, before: dt.datetime) -> int: ...


class Scrub(Protocol):
    """The erasure's rewrite of one entry: None when it does not mention the address."""

    def __call__(self, payload: str | None, change: str | None, error: str | None,
                 raw: bytes | None) -> tuple[str | None, str | None, str] | None: ...


InboxPlace = Path | JobInbox


class PgJobInbox:
    def __init__(self, pool: ConnectionPool, fence: Fence | None) -> None:
        self._pool = pool
        self._fence = fence

    def payloads(self, column: str, values: list[str]) -> list[tuple[str, dict[str, Any]]]:
        """(key, payload) of entries whose ``column`` is one of ``values``."""
        key = _KEY_SQL[column]
        with self._pool.connection() as conn:
            rows = conn.execute(f"SELECT {key}, payload FROM lsync_entries "  # noqa: S608
                                f"WHERE payload IS NOT NULL AND {key} = ANY(%s)",
                                (values,)).fetchall()
        out = []
        for found, payload in rows:
            try:
                out.append((str(found), dict(json.loads(payload))))
            except (ValueError, TypeError):
                continue
        return out

    def rewrite(self, hit: Scrub) -> int:
        """Apply the erasure's rewrite to every entry it concerns, in one fenced transaction."""
        changed = 0
        with self._pool.connection() as conn, conn.transaction():
            if self._fence is not None:
                self._fence.check(conn)
            rows = conn.execute("SELECT id, payload, change, error, raw FROM lsync_entries "
                                "FOR UPDATE").fetchall()
            for id_, payload, change, error, raw in rows:
                new = hit(payload, change, error, None if raw is None else bytes(raw))
                if new is not None:
                    conn.execute("UPDATE lsync_entries SET payload = %s, change = %s, "
                                 "error = %s, raw = NULL WHERE id = %s", (*new, id_))
                    changed += 1
        return changed

    def redact_poison(self, before: dt.datetime) -> int:
        with self._pool.connection() as conn, conn.transaction():
            if self._fence is not None:
                self._fence.check(conn)
            cur = conn.execute("UPDATE lsync_entries SET payload = NULL, raw = NULL "
                               "WHERE status = 'poison' AND received_at < %s "
                               "AND (payload IS NOT NULL OR raw IS NOT NULL)",
                               (before.timestamp(),))
            return cur.rowcount

