"""The inbox in PostgreSQL: the same semantics as the SQLite file, shared by an active/standby
pair, every write fenced by the lease.

A batch and its topic's replay ID commit in one transaction; duplicates are dropped at the door
(``ON CONFLICT DO NOTHING`` on the topic and dedupe key); consumers mark entries done only after
Salesforce confirmed. When a :class:`Fence` is given (the daemon always gives one), every write
transaction first checks, inside itself, that this process still holds the deployment's lease
at its epoch (``SELECT … FOR SHARE`` on the lease row, Temporal's pattern); if not, the
transaction is rolled back and :class:`~subscriber.errors.LeaseLost` raised. Rows record the
epoch that landed and applied them, so a stale writer shows in the data.

A failed read or write raises :class:`~subscriber.errors.InboxFailed` (rolled back: nothing
lost, checkpoint unmoved), exactly as the SQLite backend does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import psycopg
from psycopg_pool import ConnectionPool

from subscriber import inbox_pg_sql as sql
from subscriber import rows
from subscriber.errors import InboxFailed, InboxFull, LeaseLost
from subscriber.events import (
    BatchStats,
    Checkpoint,
    EntryStatus,
    InboxEntry,
    Jump,
    Received,
    TopicCounts,
    UndecodableEvent,
)
from subscriber.inbox_shell import DEFAULT_RETENTION_S, InboxShell
from subscriber.pg_connect import open_pool, where
from subscriber.pg_schema import require_current

__all__ = ["Fence", "PgInbox", "open_pg_inbox"]


class Fence(Protocol):
    """Checks, inside a write transaction, that this process may still write."""

    def check(self, conn: psycopg.Connection[Any]) -> int:
        """The epoch this process holds; raises :class:`LeaseLost` when it holds none."""
        ...


class PgInbox(InboxShell):
    """Thread-safe (a connection pool); the PostgreSQL backend of ``InboxStore``."""

    _IDENTITY_QUERY = ("SELECT key, value FROM lsync_meta "
                       "WHERE key IN ('inbox_id', 'created_at')")

    def __init__(self, pool: ConnectionPool, *, where: str,
                 applied_retention_s: float = DEFAULT_RETENTION_S,
                 clock: Callable[[], float] = time.time, fence: Fence | None = None,
                 owns_pool: bool = True) -> None:
        self.pool = pool
        self._owns_pool = owns_pool  # False: the caller closes it (it outlives the inbox)
        self.where = where  # host/port/dbname for messages; never the password
        self.applied_retention_s = applied_retention_s
        self._clock = clock
        self.fence = fence

    def __repr__(self) -> str:
        return f"PgInbox({self.where!r})"

    def close(self) -> None:
        if self._owns_pool:
            self.pool.close()

    # -- the subscriber's side ----------------------------------------------------------

    def store_batch(self, topic: str, events: Sequence[Received], replay_id: bytes) -> BatchStats:
        """Add new events and move the topic's checkpoint, in one fenced transaction."""
        now = self._clock()
        landed: list[Received] = []
        poisoned: list[UndecodableEvent] = []
        encoded = [rows.encode(event, now) for event in events]
        with self._transaction() as (cur, epoch):
            stored = _insert_entries(cur, [(*row.values, epoch) for row in encoded])
            _write_checkpoint(cur, topic, replay_id, now, epoch)
        for event, row, new in zip(events, encoded, stored, strict=True):
            if new:
                landed.append(row.poison if row.poison is not None else event)
                if row.poison is not None:
                    poisoned.append(row.poison)
        return BatchStats(stored=len(landed), duplicates=len(events) - len(landed),
                          poison=len(poisoned), poisoned=tuple(poisoned), landed=tuple(landed))

    def advance_checkpoint(self, topic: str, replay_id: bytes) -> bool:
        """Move the checkpoint with no events (a keepalive); False when it is unchanged."""
        if not replay_id or self.checkpoint(topic).replay_id == replay_id:
            return False
        self.set_checkpoint(topic, replay_id)
        return True

    def set_checkpoint(self, topic: str, replay_id: bytes) -> None:
        """Put the checkpoint at ``replay_id``; clears any pending jump."""
        with self._transaction() as (cur, epoch):
            _write_checkpoint(cur, topic, replay_id, self._clock(), epoch)

    def checkpoint(self, topic: str) -> Checkpoint:
        found = self._read("SELECT replay_id, updated_at FROM lsync_checkpoints "
                           "WHERE topic = %s", (topic,))
        if not found:
            return Checkpoint(None, None)
        return Checkpoint(bytes(found[0][0]), rows.utc(found[0][1]))

    def record_jump(self, topic: str, to: str, rejected: bytes, *, starting: bool) -> Jump:
        """Durably record that ``topic`` starts from preset ``to`` until its next checkpoint."""
        current = self.pending_jump(topic)
        if current is None or (current.to, current.rejected) != (to, rejected):
            current = Jump(to, rows.utc(self._clock()), rejected, 0)
        starts = current.starts + int(starting)
        value = json.dumps({"to": to, "at": current.at.timestamp(), "rejected": rejected.hex(),
                            "starts": starts})
        with self._transaction() as (cur, _):
            cur.execute(sql.UPSERT_META, (_jump_key(topic), value))
        return Jump(to, current.at, rejected, starts)

    def pending_jump(self, topic: str) -> Jump | None:
        found = self._read("SELECT value FROM lsync_meta WHERE key = %s", (_jump_key(topic),))
        if not found:
            return None
        try:
            data = json.loads(found[0][0])
            return Jump(str(data["to"]), rows.utc(float(data["at"])),
                        bytes.fromhex(data["rejected"]), int(data["starts"]))
        except (ValueError, KeyError, TypeError):
            return None

    # -- the consumers' side ------------------------------------------------------------

    def pending(self, limit: int = 100, topic: str | None = None,
                exclude: Iterable[int] = (), after_id: int = 0) -> list[InboxEntry]:
        """The oldest entries not yet applied, in arrival order."""
        return self.entries(EntryStatus.PENDING, limit=limit, topic=topic, exclude=exclude,
                            after_id=after_id)

    def entries(self, status: EntryStatus, *, limit: int = 100, topic: str | None = None,
                exclude: Iterable[int] = (), after_id: int = 0) -> list[InboxEntry]:
        skipped = [int(i) for i in exclude]
        found = self._read(sql.SELECT_ENTRIES,
                           (status.value, after_id, topic, topic, skipped, limit))
        return [rows.entry_from_row(r) for r in found]

    def recent(self, limit: int = 10) -> list[InboxEntry]:
        return [rows.entry_from_row(r) for r in self._read(sql.RECENT, (limit,))]

    def mark_applied(self, ids: Iterable[int]) -> int:
        return self.mark_done(ids, {})

    def mark_poison(self, ids: Iterable[int], error: str) -> int:
        return self._set_status([(int(i), error) for i in ids], EntryStatus.POISON)

    def mark_done(self, applied: Iterable[int], parked: Mapping[int, str]) -> int:
        """In one fenced transaction: entries applied, and entries parked in Salesforce."""
        done = [(int(i), "") for i in applied]
        done += [(int(i), note or "parked") for i, note in parked.items()]
        return self._set_status(done, EntryStatus.APPLIED)

    def meta(self, key: str) -> str | None:
        found = self._read("SELECT value FROM lsync_meta WHERE key = %s", (f"x:{key}",))
        return str(found[0][0]) if found else None

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction() as (cur, _):
            cur.execute(sql.UPSERT_META, (f"x:{key}", value))

    def counts_by_topic(self) -> dict[str, TopicCounts]:
        found = self._read(sql.COUNTS)
        known = [r[0] for r in self._read("SELECT topic FROM lsync_checkpoints")]
        now = self._clock()
        counts = {topic: TopicCounts(0, 0, 0, None) for topic in known}
        for topic, pending, applied, poison, oldest, parked in found:
            age = None if oldest is None else max(0.0, now - oldest)
            counts[topic] = TopicCounts(pending, applied, poison, age, parked or 0)
        return counts

    def prune(self) -> int:
        """Delete applied entries older than the retention; returns how many went."""
        with self._transaction() as (cur, _):
            cur.execute(sql.PRUNE, (self._clock() - self.applied_retention_s,))
            return cur.rowcount

    # -- internals ----------------------------------------------------------------------

    def _set_status(self, done: list[tuple[int, str]], status: EntryStatus) -> int:
        """One UPDATE per distinct note (most batches: one), all in one transaction."""
        by_note: dict[str, list[int]] = {}
        for entry_id, note in done:
            by_note.setdefault(note, []).append(entry_id)
        changed = 0
        with self._transaction() as (cur, epoch):
            for note, ids in by_note.items():
                cur.execute(sql.SET_STATUS, (status.value, self._clock(), note, epoch, ids))
                changed += cur.rowcount
        return changed

    def _read(self, query: str, args: Sequence[object] = ()) -> list[Any]:
        try:
            with self.pool.connection() as conn:
                return conn.execute(query, args).fetchall()
        except psycopg.Error as exc:
            raise InboxFailed(f"inbox read failed ({self.where}): {_brief(exc)}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[tuple[psycopg.Cursor[Any], int]]:
        """A write transaction, fenced first; rolled back on any error."""
        try:
            with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                epoch = self.fence.check(conn) if self.fence is not None else 0
                yield cur, epoch
        except LeaseLost:
            raise
        except psycopg.Error as exc:
            # disk_full (53100): pause and probe like SQLite's SQLITE_FULL; restarting
            # cannot make room, exiting 1 only crash-loops the unit (subscriber.inbox_full).
            kind = InboxFull if isinstance(exc, psycopg.errors.DiskFull) else InboxFailed
            raise kind(
                f"inbox write failed ({self.where}): {_brief(exc)}; nothing was lost; the "
                "checkpoint did not move (the transaction was rolled back)") from exc


def _insert_entries(cur: psycopg.Cursor[Any], params: list[tuple[Any, ...]]) -> list[bool]:
    """Insert a batch's entries in one round trip (psycopg pipelines ``executemany``), each
    row saying whether it was new (a duplicate is dropped at the door). One INSERT per event
    and a round trip each made landing PostgreSQL's slowest step: the apply loop then claimed
    every small landing as its own cycle, spending more Salesforce calls per event."""
    if not params:
        return []
    cur.executemany(sql.INSERT_ENTRY + " RETURNING 1", params, returning=True)
    stored = []
    while True:
        stored.append(cur.fetchone() is not None)
        if not cur.nextset():
            return stored


def _write_checkpoint(cur: psycopg.Cursor[Any], topic: str, replay_id: bytes, now: float,
                      epoch: int) -> None:
    cur.execute(sql.UPSERT_CHECKPOINT, (topic, bytes(replay_id), now, epoch))
    cur.execute("DELETE FROM lsync_meta WHERE key = %s", (_jump_key(topic),))


def _jump_key(topic: str) -> str:
    return f"jump:{topic}"


def _brief(exc: BaseException) -> str:
    """The error's first line (psycopg adds context lines that may quote statement text)."""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def open_pg_inbox(dsn: str, *, applied_retention_s: float = DEFAULT_RETENTION_S,
                  clock: Callable[[], float] = time.time, fence: Fence | None = None,
                  pool_size: int = 8) -> PgInbox:
    """A PgInbox on ``dsn`` whose schema is current (else :class:`Fatal`, naming
    ``db upgrade``); the pool is closed again when the check fails."""
    pool = open_pool(dsn, max_size=pool_size)
    try:
        with pool.connection() as conn:
            require_current(conn, where(dsn))
    except BaseException:
        pool.close()
        raise
    return PgInbox(pool, where=where(dsn), applied_retention_s=applied_retention_s,
                   clock=clock, fence=fence)
