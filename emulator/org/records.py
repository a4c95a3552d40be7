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

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from emulator.catalog import Catalog, ObjectDef
from emulator.org.changes import Transaction
from emulator.org.indexes import ObjectIndex
from emulator.org.lookups import TableView, build_overlay
from emulator.org.org_db import OrgDatabase
from emulator.org.writes import (
    PendingChange,
    Record,
    Savepoint,
    build_insert,
    build_update,
    now_utc,
)

log = logging.getLogger(__name__)
Listener = Callable[[Transaction], None]

class RecordStore:
    """All records of the org, keyed by object and 18-character ID."""

    def __init__(self, path: Path, catalog: Catalog) -> None:
        self.catalog = catalog
        self._db = OrgDatabase(path, catalog)
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._rows: dict[str, dict[str, Record]] = {o.name: {} for o in catalog}
        self._indexes = {o.name: ObjectIndex(o) for o in catalog}
        self._positions: dict[str, int] = {}  # load/insert order: the order of a scan
        self._serials = self._db.serials()
        for object_name, record_id, record in self._db.rows():
            self._install(object_name, record_id, record)

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

    def index(self, object_name: str) -> ObjectIndex:
        """The index over one object's committed rows (read-only, like :meth:`committed`)."""
        return self._indexes[object_name]

    def position(self, record_id: str) -> int | None:
        """Where a committed record comes in a scan of its object (first commit order)."""
        return self._positions.get(record_id)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- internals ----------------------------------------------------------------------

    def _install(self, object_name: str, record_id: str, record: Record) -> None:
        """Make ``record`` the committed version of its row, in memory and in the indexes."""
        rows = self._rows[object_name]
        old = rows.get(record_id)
        if old is None:
            self._positions[record_id] = len(self._positions)
        self._indexes[object_name].replace(record_id, old, record)
        rows[record_id] = record

    def _commit(self, tx: RecordTransaction) -> None:
        if not tx.pending:
            tx.run_after_commit()
            return
        commit_ms = int(time.time() * 1000)
        self._db.save(tx.pending, self._serials)
        for record_id, (object_name, record) in tx.pending.items():
            self._install(object_name, record_id, record)
        if self._listeners:  # no one listens while a state directory is seeded in bulk
            self._notify(tx, commit_ms)
        tx.run_after_commit()

    def _notify(self, tx: RecordTransaction, commit_ms: int) -> None:
        changes = tuple(c.freeze(tx.user_id, tx.origin, commit_ms) for c in tx.changes)
        transaction = Transaction(str(uuid.uuid4()), changes)
        for listener in self._listeners:
            try:
                listener(transaction)
            except Exception:  # a listener must not undo a commit
                log.exception("record-change listener %r failed", listener)


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
        self._overlays: dict[str, ObjectIndex] = {}  # built on first lookup, then kept current
        self._written: set[str] = set()  # objects with rows in ``pending``
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
        return self.table(object_name).scan()

    def table(self, object_name: str) -> TableView:
        """The object's rows with index lookups, as this transaction sees them (for SOQL)."""
        return TableView(self, self._object(object_name))

    def find(self, object_name: str, field_name: str, value: Any) -> list[Record]:
        """Live rows whose field equals ``value`` as Salesforce compares (case-insensitive text)."""
        return [dict(r) for r in self.table(object_name).find(field_name, value)]

    def overlay(self, object_name: str) -> ObjectIndex | None:
        """The index over this transaction's uncommitted rows of the object; None if none."""
        found = self._overlays.get(object_name)
        if found is None and object_name in self._written:
            found = self._overlays[object_name] = build_overlay(
                self._object(object_name), self.pending)
        return found

    # -- writes -------------------------------------------------------------------------

    def insert(self, object_name: str, values: dict[str, Any], record_id: str | None = None) -> str:
        """Create a record from trusted ``values``; returns its new 18-character ID.

        Sets Id (or uses ``record_id``, for seeding), IsDeleted, audit fields, OwnerId (the
        transaction's user when not given) and field defaults.
        """
        obj = self._object(object_name)
        record = build_insert(self.store, obj, values, self.user_id, record_id, self.now)
        new_id = str(record["Id"])
        self._stage(obj.name, new_id, record)
        self.changes.append(PendingChange(obj.name, "CREATE", new_id, None, dict(record)))
        return new_id

    def update(self, object_name: str, record_id: str, values: dict[str, Any]) -> Record:
        """Apply trusted ``values`` to a live record, bump its audit fields; returns the result."""
        obj = self._object(object_name)
        before = self.get(obj.name, record_id)
        if before is None:
            raise KeyError(f"{obj.name} {record_id} does not exist")
        after, changed = build_update(obj, before, values, self.user_id, self.now)
        self._stage(obj.name, record_id, after)
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
        self._stage(obj.name, record_id, after)
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
        self._overlays.clear()
        self._written = {name for name, _ in self.pending.values()}
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

    def _stage(self, object_name: str, record_id: str, record: Record) -> None:
        """Make ``record`` this transaction's version of the row, keeping its overlay current."""
        old = self.pending.get(record_id)
        self.pending[record_id] = (object_name, record)
        self._written.add(object_name)
        overlay = self._overlays.get(object_name)
        if overlay is not None:
            overlay.replace(record_id, None if old is None else old[1], record)

    def _object(self, object_name: str) -> ObjectDef:
        obj = self.catalog.get(object_name)
        if obj is None:
            raise KeyError(f"no object {object_name}")
        return obj
