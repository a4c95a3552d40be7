"""Durable event log and schema registry of the emulated event bus (one SQLite file).

Every topic keeps its events in publish order with a sequence number; replay IDs are derived
from it (:mod:`emulator.pubsub.replay`). Schemas are kept for ever, so events keep the schema
ID they were published with after a topic's schema changes. Subscribers wait on
:attr:`EventStore.changed`, which is notified on every append.
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from emulator.pubsub.replay import ReplayCodec

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS schemas (
    schema_id TEXT PRIMARY KEY, topic TEXT NOT NULL, schema_json TEXT NOT NULL,
    created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS topics (
    topic TEXT PRIMARY KEY COLLATE NOCASE, schema_id TEXT NOT NULL, replay_base INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    topic TEXT NOT NULL COLLATE NOCASE, seq INTEGER NOT NULL, event_id TEXT NOT NULL,
    schema_id TEXT NOT NULL, payload BLOB NOT NULL, created_ms INTEGER NOT NULL,
    PRIMARY KEY (topic, seq));
"""


@dataclass(frozen=True)
class StoredEvent:
    """One event as the bus keeps it."""

    topic: str
    seq: int
    event_id: str
    schema_id: str
    payload: bytes
    created_ms: int
    replay_id: bytes


@dataclass(frozen=True)
class NewEvent:
    """An event to append: its client-chosen ID, schema and Avro payload."""

    event_id: str
    schema_id: str
    payload: bytes


def now_ms() -> int:
    return int(time.time() * 1000)


class EventStore:
    """Thread-safe access to the event log; one connection guarded by a lock."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.RLock()
        self.changed = threading.Condition(threading.Lock())
        self._codec = ReplayCodec(self._secret())
        self._topics: dict[str, tuple[str, str, int]] = {}
        self._max_seq: dict[str, int] = {}
        self._load_topics()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- topics and schemas -------------------------------------------------------------

    def register_schema(self, topic: str, schema_id: str, schema_json: str) -> None:
        """Make ``schema_id`` the topic's current schema, creating the topic if needed."""
        with self._lock, self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO schemas VALUES (?, ?, ?, ?)",
                (schema_id, topic, schema_json, now_ms()),
            )
            base = secrets.randbelow(1 << 40) + (1 << 32)
            self._db.execute(
                "INSERT INTO topics VALUES (?, ?, ?) ON CONFLICT(topic) DO UPDATE SET"
                " schema_id = excluded.schema_id",
                (topic, schema_id, base),
            )
        self._load_topics()

    def topic(self, name: str) -> tuple[str, str, int] | None:
        """(canonical name, current schema ID, replay base) of a topic, matched ignoring case."""
        return self._topics.get(name.lower())

    def topic_names(self) -> list[str]:
        return [t[0] for t in self._topics.values()]

    def schema(self, schema_id: str) -> tuple[str, str] | None:
        """(topic, schema JSON) for a schema ID, current or historical."""
        with self._lock:
            row = self._db.execute(
                "SELECT topic, schema_json FROM schemas WHERE schema_id = ?", (schema_id,)
            ).fetchone()
        return (row[0], row[1]) if row else None

    # -- events -------------------------------------------------------------------------

    def append(self, topic: str, events: list[NewEvent]) -> list[StoredEvent]:
        """Append events in order; returns them with their sequence numbers and replay IDs."""
        name, _, base = self._require(topic)
        created = now_ms()
        with self._lock, self._transaction():
            seq = self._max_seq.get(name.lower(), 0)
            rows = []
            for ev in events:
                seq += 1
                rows.append((name, seq, ev.event_id, ev.schema_id, ev.payload, created))
            self._db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", rows)
            self._max_seq[name.lower()] = seq
        with self.changed:
            self.changed.notify_all()
        return [self._stored(name, base, r[1:]) for r in rows]

    def read_after(self, topic: str, seq: int, limit: int) -> list[StoredEvent]:
        """Up to ``limit`` events with a sequence number greater than ``seq``, in order."""
        name, _, base = self._require(topic)
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, event_id, schema_id, payload, created_ms FROM events"
                " WHERE topic = ? AND seq > ? ORDER BY seq LIMIT ?",
                (name, seq, limit),
            ).fetchall()
        return [self._stored(name, base, r) for r in rows]

    def max_seq(self, topic: str) -> int:
        name = self._require(topic)[0]
        return self._max_seq.get(name.lower(), 0)

    def first_seq_since(self, topic: str, since_ms: int) -> int:
        """The sequence number just before the oldest event created at or after ``since_ms``."""
        name = self._require(topic)[0]
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(seq) FROM events WHERE topic = ? AND created_ms >= ?",
                (name, since_ms),
            ).fetchone()
        return (row[0] - 1) if row and row[0] is not None else self.max_seq(topic)

    def created_ms(self, topic: str, seq: int) -> int | None:
        name = self._require(topic)[0]
        with self._lock:
            row = self._db.execute(
                "SELECT created_ms FROM events WHERE topic = ? AND seq = ?", (name, seq)
            ).fetchone()
        return int(row[0]) if row else None

    def replay_id(self, topic: str, seq: int) -> bytes:
        name, _, base = self._require(topic)
        return self._codec.encode(name, base, seq)

    def decode_replay_id(self, topic: str, replay_id: bytes) -> int | None:
        name, _, base = self._require(topic)
        seq = self._codec.decode(name, base, replay_id)
        if seq is None or seq > self.max_seq(topic):
            return None
        return seq

    # -- internals ----------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One SQLite transaction. The connection autocommits (``isolation_level=None``), where
        ``with connection:`` opens none: an append of 200 events was 200 commits, and not
        all-or-nothing."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _require(self, topic: str) -> tuple[str, str, int]:
        info = self.topic(topic)
        if info is None:
            raise KeyError(topic)
        return info

    def _stored(self, name: str, base: int, row: tuple[object, ...]) -> StoredEvent:
        seq, event_id, schema_id, payload, created = row
        assert isinstance(seq, int)
        assert isinstance(created, int)
        assert isinstance(payload, bytes)
        return StoredEvent(
            topic=name, seq=seq, event_id=str(event_id), schema_id=str(schema_id),
            payload=payload, created_ms=created, replay_id=self._codec.encode(name, base, seq),
        )

    def shift_replay_base(self, topic: str, shift: int) -> None:
        """Lower the topic's replay base (``emulator.admin_reliability``'s org migration)."""
        with self._lock, self._transaction():
            self._db.execute("UPDATE topics SET replay_base = replay_base - ? WHERE topic = ?",
                             (shift, topic))
        self._load_topics()

    def _secret(self) -> bytes:
        with self._lock, self._transaction():
            row = self._db.execute("SELECT value FROM meta WHERE key = 'replay_secret'").fetchone()
            if row:
                return bytes(row[0])
            secret = secrets.token_bytes(32)
            self._db.execute("INSERT INTO meta VALUES ('replay_secret', ?)", (secret,))
            return secret

    def _load_topics(self) -> None:
        # Under the lock, so a concurrent append's sequence number is never overwritten.
        with self._lock:
            rows = self._db.execute("SELECT topic, schema_id, replay_base FROM topics").fetchall()
            seqs = dict(
                self._db.execute("SELECT lower(topic), MAX(seq) FROM events GROUP BY lower(topic)")
            )
            self._topics = {r[0].lower(): (r[0], r[1], int(r[2])) for r in rows}
            self._max_seq = {k: int(v) for k, v in seqs.items()}
