"""The durable inbox: every fetched event, and each topic's checkpoint, in one SQLite file.

A fetched batch and the topic's new replay ID are committed in one transaction (WAL,
``synchronous=FULL``) before more events are requested, so after any crash the checkpoint
never runs ahead of what the inbox holds: at worst the last batch is fetched again, and the
duplicates are dropped at the door (platform events by EventUuid, change events by
transactionKey + sequenceNumber). Consumers read :meth:`Inbox.pending` and call
:meth:`Inbox.mark_applied`; applied entries are pruned after ``applied_retention_s`` (keep it
above the 72-hour replay window so dedupe still sees replays). Another process may open the
same file (e.g. ``lifecycle-sync status`` via :meth:`Inbox.open_readonly`) while the daemon runs.

A failed read or write raises :class:`InboxFailed` (the transaction is rolled back: nothing is
lost and the checkpoint does not move); the intake stops on it rather than refetch the batch.
An event whose decoded values cannot be stored becomes a poison entry, never an error.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from subscriber import rows
from subscriber.errors import Fatal, InboxFailed
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
from subscriber.inbox_api import InboxIdentity
from subscriber.inbox_file import SCHEMA_VERSION, open_db
from subscriber.inbox_shell import DEFAULT_RETENTION_S, InboxShell

__all__ = ["DEFAULT_RETENTION_S", "SCHEMA_VERSION", "Inbox", "InboxIdentity"]

_UPSERT_META = (
    "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


class Inbox(InboxShell):
    """Thread-safe access to the inbox file; one connection guarded by a lock (the SQLite
    backend of :class:`~subscriber.inbox_api.InboxStore`)."""

    def __init__(
        self,
        path: Path | str,
        *,
        applied_retention_s: float = DEFAULT_RETENTION_S,
        clock: Callable[[], float] = time.time,
        _readonly: bool = False,
    ) -> None:
        self.path = Path(path)
        self.applied_retention_s = applied_retention_s
        self._clock = clock
        self._lock = threading.Lock()
        self._db = open_db(self.path, _readonly)

    @classmethod
    def open_readonly(cls, path: Path | str) -> Inbox:
        """Open an existing inbox for reading only (safe beside a running daemon)."""
        if not Path(path).exists():
            raise Fatal(f"no inbox at {path}")
        return cls(path, _readonly=True)

    def __repr__(self) -> str:
        return f"Inbox({str(self.path)!r})"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- the subscriber's side ----------------------------------------------------------

    def store_batch(self, topic: str, events: Sequence[Received], replay_id: bytes) -> BatchStats:
        """Add new events and move the topic's checkpoint to ``replay_id``, atomically.

        An event that cannot be encoded is stored as poison; it never fails the batch."""
        now = self._clock()
        landed: list[Received] = []
        poisoned: list[UndecodableEvent] = []
        with self._transaction() as db:
            for event in events:
                row = rows.encode(event, now)
                if db.execute(rows.INSERT_ENTRY, row.values).rowcount:
                    landed.append(row.poison if row.poison is not None else event)
                    if row.poison is not None:
                        poisoned.append(row.poison)
            self._write_checkpoint(db, topic, replay_id, now)
        return BatchStats(stored=len(landed), duplicates=len(events) - len(landed),
                          poison=len(poisoned), poisoned=tuple(poisoned), landed=tuple(landed))

    def advance_checkpoint(self, topic: str, replay_id: bytes) -> bool:
        """Move the checkpoint with no events (a keepalive); False when it is unchanged."""
        if not replay_id or self.checkpoint(topic).replay_id == replay_id:
            return False
        with self._transaction() as db:
            self._write_checkpoint(db, topic, replay_id, self._clock())
        return True

    def set_checkpoint(self, topic: str, replay_id: bytes) -> None:
        """Put the checkpoint at ``replay_id`` (``lifecycle-sync replay``); clears any
        pending jump, as every checkpoint write does."""
        with self._transaction() as db:
            self._write_checkpoint(db, topic, replay_id, self._clock())

    def checkpoint(self, topic: str) -> Checkpoint:
        """Where ``topic`` resumes: (replay ID, time written), or (None, None) if never."""
        found = self._read(
            "SELECT replay_id, updated_at FROM checkpoints WHERE topic = ?", (topic,))
        if not found:
            return Checkpoint(None, None)
        return Checkpoint(bytes(found[0][0]), rows.utc(found[0][1]))

    def record_jump(self, topic: str, to: str, rejected: bytes, *, starting: bool) -> Jump:
        """Durably record that ``topic`` starts from preset ``to`` until its next checkpoint.

        The same decision already pending keeps its original time. ``starting``: a subscription
        starts from it now (counted in ``starts``). Returns the record in force."""
        current = self.pending_jump(topic)
        if current is None or (current.to, current.rejected) != (to, rejected):
            current = Jump(to, rows.utc(self._clock()), rejected, 0)
        starts = current.starts + int(starting)
        value = json.dumps({"to": to, "at": current.at.timestamp(), "rejected": rejected.hex(),
                            "starts": starts})
        with self._transaction() as db:
            db.execute(_UPSERT_META, (_jump_key(topic), value))
        return Jump(to, current.at, rejected, starts)

    def pending_jump(self, topic: str) -> Jump | None:
        """The jump recorded for ``topic`` and not yet followed by a checkpoint, if any."""
        found = self._read("SELECT value FROM meta WHERE key = ?", (_jump_key(topic),))
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
        """The oldest entries not yet applied, in arrival order (per topic: replay order).

        ``exclude``: entry IDs to skip (an applier's entries waiting out a retry backoff);
        ``after_id``: only entries stored after this one (shadow mode's watermark)."""
        return self.entries(EntryStatus.PENDING, limit=limit, topic=topic, exclude=exclude,
                            after_id=after_id)

    def entries(
        self, status: EntryStatus, *, limit: int = 100, topic: str | None = None,
        exclude: Iterable[int] = (), after_id: int = 0,
    ) -> list[InboxEntry]:
        """Entries with ``status``, oldest first (e.g. POISON for review)."""
        sql = f"SELECT {rows.COLUMNS} FROM entries WHERE status = ? AND id > ?"
        args: list[object] = [status.value, after_id]
        if topic is not None:
            sql += " AND topic = ?"
            args.append(topic)
        skipped = [int(i) for i in exclude]
        if skipped:
            sql += f" AND id NOT IN ({', '.join('?' * len(skipped))})"
            args.extend(skipped)
        sql += " ORDER BY id LIMIT ?"
        args.append(limit)
        return [rows.entry_from_row(r) for r in self._read(sql, args)]

    def recent(self, limit: int = 10) -> list[InboxEntry]:
        """The ``limit`` most recently stored entries of any status, newest first."""
        sql = f"SELECT {rows.COLUMNS} FROM entries ORDER BY id DESC LIMIT ?"
        return [rows.entry_from_row(r) for r in self._read(sql, [limit])]

    def mark_applied(self, ids: Iterable[int]) -> int:
        """Mark pending entries applied; returns how many changed."""
        return self._set_status(ids, EntryStatus.APPLIED, "")

    def mark_poison(self, ids: Iterable[int], error: str) -> int:
        """Park pending entries that can never be applied, with the reason."""
        return self._set_status(ids, EntryStatus.POISON, error)

    def mark_done(self, applied: Iterable[int], parked: Mapping[int, str]) -> int:
        """In one transaction: entries applied, and entries parked in Salesforce (with the
        note saying why; they count as applied, see :attr:`TopicCounts.parked`)."""
        now = self._clock()
        values = [(EntryStatus.APPLIED.value, now, "", int(i)) for i in applied]
        values += [(EntryStatus.APPLIED.value, now, note or "parked", int(i))
                   for i, note in parked.items()]
        with self._transaction() as db:
            return sum(db.execute(rows.SET_STATUS, v).rowcount for v in values)

    def meta(self, key: str) -> str | None:
        """A value an inbox user stored with :meth:`set_meta` (e.g. the apply loop's state)."""
        found = self._read("SELECT value FROM meta WHERE key = ?", (f"x:{key}",))
        return str(found[0][0]) if found else None

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction() as db:
            db.execute(_UPSERT_META, (f"x:{key}", value))

    def counts_by_topic(self) -> dict[str, TopicCounts]:
        """Pending, applied and poison counts and the oldest pending age, per topic."""
        found = self._read(rows.COUNTS)
        known = [r[0] for r in self._read("SELECT topic FROM checkpoints")]
        now = self._clock()
        counts = {topic: TopicCounts(0, 0, 0, None) for topic in known}
        for topic, pending, applied, poison, oldest, parked in found:
            age = None if oldest is None else max(0.0, now - oldest)
            counts[topic] = TopicCounts(pending, applied, poison, age, parked or 0)
        return counts

    def prune(self) -> int:
        """Delete applied entries older than the retention; returns how many went."""
        cutoff = self._clock() - self.applied_retention_s
        with self._transaction() as db:
            cur = db.execute(
                "DELETE FROM entries WHERE status = 'applied' AND applied_at < ?", (cutoff,)
            )
        return cur.rowcount

    # -- internals ----------------------------------------------------------------------

    @staticmethod
    def _write_checkpoint(db: sqlite3.Connection, topic: str, replay_id: bytes, now: float
                          ) -> None:
        """Move the checkpoint; a pending jump is done once a checkpoint exists."""
        db.execute(rows.UPSERT_CHECKPOINT, (topic, bytes(replay_id), now))
        db.execute("DELETE FROM meta WHERE key = ?", (_jump_key(topic),))

    def _set_status(self, ids: Iterable[int], status: EntryStatus, error: str) -> int:
        id_list = [(status.value, self._clock(), error, int(i)) for i in ids]
        with self._transaction() as db:
            changed = 0
            for values in id_list:
                changed += db.execute(rows.SET_STATUS, values).rowcount
        return changed

    def _read(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise InboxFailed(f"inbox read failed ({self.path}): {exc}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    with suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise InboxFailed(
                    f"inbox write failed ({self.path}): {exc}; nothing was lost; the checkpoint "
                    "did not move (the transaction was rolled back)") from exc


def _jump_key(topic: str) -> str:
    return f"jump:{topic}"
