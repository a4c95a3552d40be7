"""``org.db``: where the record store keeps its rows between runs (SQLite, one JSON body a row).

Kept apart from :mod:`emulator.org.records` so the store reads as locking, indexes and
notification, and this module as "how rows reach the disk". Each commit is one SQLite
transaction holding every row it wrote and the ID serials it drew.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from emulator.catalog import Catalog, ObjectDef
from emulator.org.values import from_storage, to_storage
from emulator.org.writes import Record, backfill

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY, object TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sequences (prefix TEXT PRIMARY KEY, last INTEGER NOT NULL);
"""


class OrgDatabase:
    """The SQLite file behind the record store; not thread-safe (the store's lock guards it)."""

    def __init__(self, path: Path, catalog: Catalog) -> None:
        self.catalog = catalog
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives the emulator crashing, not the machine losing power,
        # and costs no fsync (as the event store); with FULL every commit waited for the disk.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

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
                yield obj.name, record_id, _decode(obj, json.loads(body))

    def save(self, rows: dict[str, tuple[str, Record]], serials: dict[str, int]) -> None:
        """Write ``rows`` (ID -> (object, record)) and the serials in one transaction."""
        encoded = []
        for record_id, (object_name, record) in rows.items():
            obj = self.catalog.get(object_name)
            assert obj is not None
            encoded.append((record_id, obj.name, json.dumps(_encode(obj, record))))
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?)", encoded)
            self._db.executemany("INSERT OR REPLACE INTO sequences VALUES (?, ?)",
                                 list(serials.items()))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()


def _encode(obj: ObjectDef, record: Record) -> dict[str, Any]:
    return {f.name: to_storage(f, record[f.name]) for f in obj.fields
            if record.get(f.name) is not None}


def _decode(obj: ObjectDef, body: dict[str, Any]) -> Record:
    return backfill(obj, {f.name: from_storage(f, body.get(f.name)) for f in obj.fields})
