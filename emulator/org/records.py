"""The org's records: durable in SQLite (``org.db``), served from memory, written in transactions.

Every writer (REST, sObject Collections, Composite, SOAP ``convertLead``) goes through one
transaction API, so change events come out the same whatever the API::

    with store.transaction(user_id, origin) as tx:
        account_id = tx.insert("Account", {"Name": "Acme"})
        tx.update("Lead", lead_id, {"IsConverted": True, "ConvertedAccountId": account_id})

A clean exit commits every write at once and then hands listeners one
:class:`~emulator.org.changes.Transaction` with a :class:`~emulator.org.changes.RecordChange`
per write, in order (CDC subscribes this way). An exception rolls everything back and
propagates; :meth:`RecordTransaction.rollback_only` discards without raising, and
:meth:`RecordTransaction.savepoint` / :meth:`RecordTransaction.rollback_to` undo part of it
(per-record ``allOrNone=false`` semantics).

Transactions are serialised by one lock: the org behaves as if every call locked every row,
which keeps the emulator simple and its results deterministic. ``tx`` methods trust their
caller: they set system fields (Id, audit fields, defaults) but enforce no client rule — the
client-facing rules live in :mod:`emulator.org.dml`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from emulator.catalog import Catalog, ObjectDef
from emulator.org.changes import Transaction
from emulator.org.values import from_storage, to_storage
from emulator.org.writes import (
    PendingChange,
    Record,
    Savepoint,
    backfill,
    build_insert,
    build_update,
    now_utc,
)

log = logging.getLogger(__name__)
Listener = Callable[[Transaction], None]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY, object TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sequences (prefix TEXT PRIMARY KEY, last INTEGER NOT NULL);
"""


class RecordStore:
    """All records of the org, keyed by object and 18-character ID."""

    def __init__(self, path: Path, catalog: Catalog) -> None:
        self.catalog = catalog
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._rows: dict[str, dict[str, Record]] = {o.name: {} for o in catalog}
        self._serials: dict[str, int] = dict(self._db.execute("SELECT prefix, last FROM sequences"))
        self._load()

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with every committed transaction that changed records, in commit order.

        Listeners run after the commit, one transaction at a time; an exception in one is
        logged and does not undo the commit.
        """
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    @contextmanager
    def transaction(self, user_id: str, origin: str = "") -> Iterator[RecordTransaction]:
        """A transaction run by ``user_id``; ``origin`` becomes each change's ``changeOrigin``."""
        with self._lock:
            tx = RecordTransaction(self, user_id, origin)
            yield tx
            if not tx.abandoned:
                self._commit(tx)

    def next_serial(self, prefix: str) -> int:
        """The next record number for a key prefix (IDs are never reused, even after rollback)."""
        with self._lock:
            self._serials[prefix] = self._serials.get(prefix, 0) + 1
            return self._serials[prefix]

    def committed(self, object_name: str) -> dict[str, Record]:
        """The committed rows of one object (read-only; callers must hold a transaction)."""
        return self._rows[object_name]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- internals ----------------------------------------------------------------------

    def _load(self) -> None:
        rows = self._db.execute("SELECT id, object, body FROM records")
        for record_id, object_name, body in rows:
            obj = self.catalog.get(object_name)
            if obj is not None:
                self._rows[obj.name][record_id] = _decode(obj, json.loads(body))

    def _commit(self, tx: RecordTransaction) -> None:
        if not tx.pending:
            tx.run_after_commit()
            return
        commit_ms = int(time.time() * 1000)
        self._persist(tx)
        for record_id, (object_name, record) in tx.pending.items():
            self._rows[object_name][record_id] = record
        changes = tuple(c.freeze(tx.user_id, tx.origin, commit_ms) for c in tx.changes)
        transaction = Transaction(str(uuid.uuid4()), changes)
        for listener in self._listeners:
            try:
                listener(transaction)
            except Exception:  # a listener must not undo a commit
                log.exception("record-change listener %r failed", listener)
        tx.run_after_commit()

    def _persist(self, tx: RecordTransaction) -> None:
        rows = []
        for record_id, (object_name, record) in tx.pending.items():
            obj = self.catalog.get(object_name)
            assert obj is not None
            rows.append((record_id, obj.name, json.dumps(_encode(obj, record))))
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?)", rows)
            self._db.executemany(
                "INSERT OR REPLACE INTO sequences VALUES (?, ?)", list(self._serials.items())
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise


class RecordTransaction:
    """Reads and writes inside one transaction; reads see the transaction's own writes.

    Records are dicts keyed by canonical field API name holding Python values (see
    :mod:`emulator.org.values`). Every record carries every field of its object (None when
    empty). Records returned by :meth:`get` are copies; :meth:`rows` returns live rows that
    must not be mutated.
    """

    def __init__(self, store: RecordStore, user_id: str, origin: str) -> None:
        self.store = store
        self.user_id = user_id
        self.origin = origin
        self.pending: dict[str, tuple[str, Record]] = {}
        self.changes: list[PendingChange] = []
        self.abandoned = False
        self._after_commit: list[Callable[[], None]] = []
        self.now = now_utc()  # one time for the audit fields of every write in the transaction

    @property
    def catalog(self) -> Catalog:
        return self.store.catalog

    # -- reads --------------------------------------------------------------------------

    def get(self, object_name: str, record_id: str, include_deleted: bool = False) -> Record | None:
        """A copy of the record, or None when absent (or deleted, unless ``include_deleted``)."""
        obj = self._object(object_name)
        found = self.pending.get(record_id)
        record = found[1] if found else self.store.committed(obj.name).get(record_id)
        if found and found[0] != obj.name:
            record = None
        if record is None or (record.get("IsDeleted") and not include_deleted):
            return None
        return dict(record)

    def rows(self, object_name: str) -> list[Record]:
        """Every row of the object, deleted ones included (their ``IsDeleted`` is true)."""
        obj = self._object(object_name)
        merged = dict(self.store.committed(obj.name))
        for record_id, (name, record) in self.pending.items():
            if name == obj.name:
                merged[record_id] = record
        return list(merged.values())

    def find(self, object_name: str, field_name: str, value: Any) -> list[Record]:
        """Live rows whose field equals ``value`` as Salesforce compares (case-insensitive text)."""
        obj = self._object(object_name)
        field = obj.field(field_name)
        if field is None or value is None:
            return []
        wanted = _fold(value, field.case_sensitive)
        return [
            dict(r) for r in self.rows(obj.name)
            if not r.get("IsDeleted") and _fold(r.get(field.name), field.case_sensitive) == wanted
        ]

    # -- writes -------------------------------------------------------------------------

    def insert(self, object_name: str, values: dict[str, Any], record_id: str | None = None) -> str:
        """Create a record from trusted ``values``; returns its new 18-character ID.

        Sets Id (or uses ``record_id``, for seeding), IsDeleted, audit fields, OwnerId (the
        transaction's user when not given) and field defaults.
        """
        obj = self._object(object_name)
        record = build_insert(self.store, obj, values, self.user_id, record_id, self.now)
        new_id = str(record["Id"])
        self.pending[new_id] = (obj.name, record)
        self.changes.append(PendingChange(obj.name, "CREATE", new_id, None, dict(record)))
        return new_id

    def update(self, object_name: str, record_id: str, values: dict[str, Any]) -> Record:
        """Apply trusted ``values`` to a live record, bump its audit fields; returns the result."""
        obj = self._object(object_name)
        before = self.get(obj.name, record_id)
        if before is None:
            raise KeyError(f"{obj.name} {record_id} does not exist")
        after, changed = build_update(obj, before, values, self.user_id, self.now)
        self.pending[record_id] = (obj.name, after)
        change = PendingChange(obj.name, "UPDATE", record_id, before, dict(after), changed)
        self.changes.append(change)
        return dict(after)

    def delete(self, object_name: str, record_id: str) -> None:
        """Move a live record to the recycle bin: ``IsDeleted`` true, still seen by queryAll."""
        obj = self._object(object_name)
        before = self.get(obj.name, record_id)
        if before is None:
            raise KeyError(f"{obj.name} {record_id} does not exist")
        after, _ = build_update(obj, before, {"IsDeleted": True}, self.user_id, self.now)
        self.pending[record_id] = (obj.name, after)
        self.changes.append(PendingChange(obj.name, "DELETE", record_id, before, None))

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the transaction commits (platform events publish after commit)."""
        self._after_commit.append(callback)

    # -- partial and whole rollback -----------------------------------------------------

    def savepoint(self) -> Savepoint:
        return Savepoint(dict(self.pending), len(self.changes), len(self._after_commit))

    def rollback_to(self, savepoint: Savepoint) -> None:
        """Undo every write made since ``savepoint``."""
        self.pending = dict(savepoint.pending)
        del self.changes[savepoint.changes:]
        del self._after_commit[savepoint.callbacks:]

    def rollback_only(self) -> None:
        """Discard the whole transaction when the ``with`` block ends, without raising."""
        self.abandoned = True

    def run_after_commit(self) -> None:
        for callback in self._after_commit:
            try:
                callback()
            except Exception:  # the commit stands whatever a callback does
                log.exception("after-commit callback failed")

    def _object(self, object_name: str) -> ObjectDef:
        obj = self.catalog.get(object_name)
        if obj is None:
            raise KeyError(f"no object {object_name}")
        return obj


def _fold(value: Any, case_sensitive: bool) -> Any:
    if isinstance(value, str):
        return value if case_sensitive else value.casefold()
    return value


def _encode(obj: ObjectDef, record: Record) -> dict[str, Any]:
    return {f.name: to_storage(f, record[f.name]) for f in obj.fields
            if record.get(f.name) is not None}


def _decode(obj: ObjectDef, body: dict[str, Any]) -> Record:
    return backfill(obj, {f.name: from_storage(f, body.get(f.name)) for f in obj.fields})

