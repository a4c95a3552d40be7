"""``org.db``: where the record store keeps its rows between runs (SQLite, one JSON body a row).

Kept apart from :mod:`emulator.org.records` so the store reads as locking, indexes and
notification, and this module as "how rows reach the disk". Each commit is one SQLite
transaction holding every row it wrote and the ID serials it drew.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from emulator.catalog import Catalog, ObjectDef
from emulator.org.values import from_storage, to_storage
from emulator.org.writes import Record, backfill

log = logging.getLogger(__name__)
CHECKPOINT_BYTES = 4 * 1024 * 1024  # SQLite's own default: 1000 pages of 4 KiB
_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY, object TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sequences (prefix TEXT PRIMARY KEY, last INTEGER NOT NULL);
"""


class OrgDatabase:
    """The SQLite file behind the record store; not thread-safe (the store's lock guards it).

    WAL with ``synchronous=NORMAL``: a commit survives the emulator crashing, not the machine
    losing power, and waits for no fsync (as the event store). Checkpoints (copying the WAL
    back into the database) run on a short-lived thread of their own once about
    :data:`CHECKPOINT_BYTES` were written, instead of inside every thousandth-page commit
    where they tripled a commit's mean time (measured: 8 ms -> 2.4 ms for 200 rows).
    """

    def __init__(self, path: Path, catalog: Catalog) -> None:
        self.catalog = catalog
        self._path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._on_disk = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
        self._db.execute("PRAGMA synchronous=NORMAL")
        if self._on_disk:
            self._db.execute("PRAGMA wal_autocheckpoint=0")
        self._db.executescript(_SCHEMA)
        self._unchecked_bytes = 0
        self._checkpointer: threading.Thread | None = None

    def serials(self) -> dict[str, int]:
        """The last record number drawn per key prefix."""
        return dict(self._db.execute("SELECT prefix, last FROM sequences"))

    def rows(self) -> Iterator[tuple[str, str, Record]]:
        """Every stored row as (object name, ID, record), objects no longer in the catalog left
        out; rows written by an older emulator are completed with the fields added since."""
        stored = self._db.execute("SELECT id, object, body FROM records")
        for record_id, object_name, body in stored:
            obj = self.catalog.get(object_name)
            if obj is not None:
                record = _decode(obj, json.loads(body))
                same = record.get("Id") == record_id  # then keep one string for both
                yield obj.name, record["Id"] if same else record_id, record

    def save(self, rows: dict[str, tuple[str, Record]], serials: dict[str, int]) -> None:
        """Write ``rows`` (ID -> (object, record)) and the serials in one transaction."""
        encoded = []
        for record_id, (object_name, record) in rows.items():
            obj = self.catalog.get(object_name)
            assert obj is not None
            encoded.append((record_id, obj.name, json.dumps(_encode(obj, record))))
        self._db.execute("BEGIN IMMEDIATE")
        try:
            # Updated in place (not REPLACE's delete and re-insert): fewer pages written, and a
            # row keeps its place, so a reload lists rows in the order they were created.
            self._db.executemany(
                "INSERT INTO records VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
                " object = excluded.object, body = excluded.body", encoded)
            self._db.executemany(
                "INSERT INTO sequences VALUES (?, ?) ON CONFLICT(prefix) DO UPDATE SET"
                " last = excluded.last", list(serials.items()))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._unchecked_bytes += sum(len(body) for _, _, body in encoded)
        if self._unchecked_bytes >= CHECKPOINT_BYTES:
            self._start_checkpoint()

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.join()
        self._db.close()

    def _start_checkpoint(self) -> None:
        """Checkpoint in the background unless one is still running (then the next commit)."""
        if not self._on_disk or (self._checkpointer and self._checkpointer.is_alive()):
            return
        self._unchecked_bytes = 0
        self._checkpointer = threading.Thread(target=_checkpoint, args=(self._path,),
                                              name="org-db-checkpoint", daemon=True)
        self._checkpointer.start()


def _checkpoint(path: Path) -> None:
    """Copy what the WAL holds into the database without blocking the writer (PASSIVE)."""
    try:
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error:
        log.exception("checkpoint of %s failed; the next one will retry", path)


def _encode(obj: ObjectDef, record: Record) -> dict[str, Any]:
    return {f.name: to_storage(f, record[f.name]) for f in obj.fields
            if record.get(f.name) is not None}


def _decode(obj: ObjectDef, body: dict[str, Any]) -> Record:
    return backfill(obj, {f.name: from_storage(f, body.get(f.name)) for f in obj.fields})
