"""The durable inbox: every fetched event, and each topic's checkpoint, in one SQLite file.

A fetched batch and the topic's new replay ID are committed in one transaction (WAL,
``synchronous=FULL``) before more events are requested, so after any crash the checkpoint
never runs ahead of what the inbox holds: at worst the last batch is fetched again, and the
duplicates are dropped at the door (platform events by EventUuid, change events by
transactionKey + sequenceNumber). Consumers read :meth:`Inbox.pending` and call
:meth:`Inbox.mark_applied`; applied entries are pruned after ``applied_retention_s`` (keep it
above the 72-hour replay window so dedupe still sees replays). Another process may open the
same file (e.g. ``lifecycle-sync status`` via :meth:`Inbox.open_readonly`) while the daemon runs.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from subscriber import rows
from subscriber.errors import Fatal, RetryLater
from subscriber.events import (
    BatchStats,
    Checkpoint,
    EntryStatus,
    InboxEntry,
    Received,
    TopicCounts,
    UndecodableEvent,
)

SCHEMA_VERSION = "1"
DEFAULT_RETENTION_S = 7 * 24 * 3600.0
_BUSY_TIMEOUT_MS = 10_000

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (
    topic TEXT PRIMARY KEY, replay_id BLOB NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL, dedupe_key TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
    replay_id BLOB NOT NULL, event_id TEXT NOT NULL, schema_id TEXT NOT NULL,
    payload TEXT, change TEXT, error TEXT NOT NULL DEFAULT '', raw BLOB,
    received_at REAL NOT NULL, applied_at REAL,
    UNIQUE (topic, dedupe_key));
CREATE INDEX IF NOT EXISTS entries_by_status ON entries (status, id);
CREATE INDEX IF NOT EXISTS entries_by_applied ON entries (applied_at) WHERE applied_at IS NOT NULL;
"""


class Inbox:
    """Thread-safe access to the inbox file; one connection guarded by a lock."""

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
        self._db = _connect(self.path, _readonly)
        if not _readonly:
            self._init_schema()
        self._check_version()

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

    def __enter__(self) -> Inbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the subscriber's side ----------------------------------------------------------

    def store_batch(self, topic: str, events: Sequence[Received], replay_id: bytes) -> BatchStats:
        """Add new events and move the topic's checkpoint to ``replay_id``, atomically."""
        now = self._clock()
        stored = poison = 0
        with self._transaction() as db:
            for event in events:
                cur = db.execute(rows.INSERT_ENTRY, rows.entry_values(event, now))
                if cur.rowcount:
                    stored += 1
                    poison += isinstance(event, UndecodableEvent)
            db.execute(rows.UPSERT_CHECKPOINT, (topic, bytes(replay_id), now))
        return BatchStats(stored=stored, duplicates=len(events) - stored, poison=poison)

    def advance_checkpoint(self, topic: str, replay_id: bytes) -> bool:
        """Move the checkpoint with no events (a keepalive); False when it is unchanged."""
        if not replay_id or self.checkpoint(topic).replay_id == replay_id:
            return False
        with self._transaction() as db:
            db.execute(rows.UPSERT_CHECKPOINT, (topic, bytes(replay_id), self._clock()))
        return True

    def checkpoint(self, topic: str) -> Checkpoint:
        """Where ``topic`` resumes: (replay ID, time written), or (None, None) if never."""
        with self._lock:
            row = self._db.execute(
                "SELECT replay_id, updated_at FROM checkpoints WHERE topic = ?", (topic,)
            ).fetchone()
        if row is None:
            return Checkpoint(None, None)
        return Checkpoint(bytes(row[0]), rows.utc(row[1]))

    # -- the consumers' side ------------------------------------------------------------

    def pending(self, limit: int = 100, topic: str | None = None) -> list[InboxEntry]:
        """The oldest entries not yet applied, in arrival order (per topic: replay order)."""
        return self.entries(EntryStatus.PENDING, limit=limit, topic=topic)

    def entries(
        self, status: EntryStatus, *, limit: int = 100, topic: str | None = None
    ) -> list[InboxEntry]:
        """Entries with ``status``, oldest first (e.g. POISON for review)."""
        sql = f"SELECT {rows.COLUMNS} FROM entries WHERE status = ?"
        args: list[object] = [status.value]
        if topic is not None:
            sql += " AND topic = ?"
            args.append(topic)
        sql += " ORDER BY id LIMIT ?"
        args.append(limit)
        with self._lock:
            found = self._db.execute(sql, args).fetchall()
        return [rows.entry_from_row(r) for r in found]

    def mark_applied(self, ids: Iterable[int]) -> int:
        """Mark pending entries applied; returns how many changed."""
        return self._set_status(ids, EntryStatus.APPLIED, "")

    def mark_poison(self, ids: Iterable[int], error: str) -> int:
        """Park pending entries that can never be applied, with the reason."""
        return self._set_status(ids, EntryStatus.POISON, error)

    def counts_by_topic(self) -> dict[str, TopicCounts]:
        """Pending, applied and poison counts and the oldest pending age, per topic."""
        with self._lock:
            found = self._db.execute(rows.COUNTS).fetchall()
            known = [r[0] for r in self._db.execute("SELECT topic FROM checkpoints")]
        now = self._clock()
        counts = {topic: TopicCounts(0, 0, 0, None) for topic in known}
        for topic, pending, applied, poison, oldest in found:
            age = None if oldest is None else max(0.0, now - oldest)
            counts[topic] = TopicCounts(pending, applied, poison, age)
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

    def _set_status(self, ids: Iterable[int], status: EntryStatus, error: str) -> int:
        id_list = [(status.value, self._clock(), error, int(i)) for i in ids]
        with self._transaction() as db:
            changed = 0
            for values in id_list:
                changed += db.execute(rows.SET_STATUS, values).rowcount
        return changed

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
                    self._db.execute("ROLLBACK")
                raise RetryLater(f"inbox write failed ({self.path}): {exc}") from exc

    def _init_schema(self) -> None:
        script = (
            "BEGIN IMMEDIATE;" + _DDL
            + f"INSERT OR IGNORE INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}');COMMIT;"
        )
        with self._lock:
            try:
                self._db.executescript(script)
            except sqlite3.Error as exc:
                raise Fatal(f"cannot initialise inbox {self.path}: {exc}") from None

    def _check_version(self) -> None:
        with self._lock:
            try:
                row = self._db.execute(
                    "SELECT value FROM meta WHERE key = 'schema_version'"
                ).fetchone()
            except sqlite3.Error as exc:
                raise Fatal(f"{self.path} is not a readable inbox: {exc}") from None
        if row is None or row[0] != SCHEMA_VERSION:
            found = None if row is None else row[0]
            raise Fatal(f"{self.path} has inbox schema {found}, expected {SCHEMA_VERSION}")


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    try:
        if readonly:
            db = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
            )
        else:
            db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    except sqlite3.Error as exc:
        raise Fatal(f"cannot open inbox {path}: {exc}") from None
    return db
