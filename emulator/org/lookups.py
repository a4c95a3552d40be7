"""One object's rows as a transaction sees them, answered from indexes where they exist.

The SOQL evaluator and :meth:`RecordTransaction.find` read through a :class:`TableView`:
``scan()`` gives every row (committed rows with the transaction's own writes laid over them,
in the store's order); ``equal`` and ``prefixed`` give candidate IDs from the committed
index merged with the transaction's overlay index, so uncommitted inserts, updates, deletes
and rolled-back savepoints are seen exactly as a scan would see them. ``rows_for`` turns
candidate IDs into rows in scan order, so an indexed query returns rows in the same order
as a scan (a LIMIT without ORDER BY picks the same rows).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable
from typing import TYPE_CHECKING, Any

from emulator.catalog import FieldDef, ObjectDef
from emulator.org.indexes import ObjectIndex
from emulator.soql.keys import equality_key

if TYPE_CHECKING:
    from emulator.org.records import RecordTransaction

Record = dict[str, Any]


class TableView:
    """Rows of ``obj`` inside ``tx`` (live rows are never copied: do not mutate them)."""

    def __init__(self, tx: RecordTransaction, obj: ObjectDef) -> None:
        self.tx = tx
        self.obj = obj
        self._committed = tx.store.committed(obj.name)
        self._index = tx.store.index(obj.name)

    def scan(self) -> list[Record]:
        """Every row, deleted ones included, in the store's order then the transaction's."""
        merged = dict(self._committed)
        for record_id, (name, record) in self.tx.pending.items():
            if name == self.obj.name:
                merged[record_id] = record
        return list(merged.values())

    def find(self, field_name: str, value: Any) -> list[Record]:
        """Live rows whose field equals ``value`` as Salesforce compares (case-insensitive text)."""
        field = self.obj.field(field_name)
        if field is None or value is None:
            return []
        exact = field.case_sensitive
        wanted = _fold(value, exact)
        return [r for r in self._may_equal(field, value)
                if not r.get("IsDeleted") and _fold(r.get(field.name), exact) == wanted]

    def _may_equal(self, field: FieldDef, value: Any) -> list[Record]:
        """Rows that may equal ``value``: the index's bucket when there is one, else all."""
        if not self.indexed(field.name):
            return self.scan()
        try:
            key = equality_key(value, field)
        except (ArithmeticError, ValueError, TypeError):
            return self.scan()
        return self.rows_for(self.equal(field.name, (key,)))

    def indexed(self, field_name: str) -> bool:
        return self._index.has(field_name)

    def equal(self, field_name: str, keys: Collection[Hashable]) -> set[str]:
        """IDs of rows whose ``field_name`` has one of the equality ``keys`` (a superset)."""
        found = self._index.equal(field_name, keys)
        overlay = self.tx.overlay(self.obj.name)
        if overlay is None:
            return found
        return (found - overlay.ids) | overlay.equal(field_name, keys)

    def prefixed(self, field_name: str, folded_prefix: str) -> set[str]:
        """IDs of rows whose ``field_name`` folds to text starting with ``folded_prefix``."""
        found = self._index.prefixed(field_name, folded_prefix)
        overlay = self.tx.overlay(self.obj.name)
        if overlay is None:
            return found
        return (found - overlay.ids) | overlay.prefixed(field_name, folded_prefix)

    def rows_for(self, ids: Collection[str]) -> list[Record]:
        """The current rows of ``ids`` (deleted ones included), in :meth:`scan` order."""
        pending = self.tx.pending
        position = self.tx.store.position
        late: list[str] = []
        early: list[tuple[int, str]] = []
        for record_id in ids:
            at = position(record_id) if record_id in self._committed else None
            if at is None:
                late.append(record_id)
            else:
                early.append((at, record_id))
        early.sort()
        ordered = [record_id for _, record_id in early]
        if late:
            order = {record_id: n for n, record_id in enumerate(pending)}
            ordered += sorted((i for i in late if i in order), key=order.__getitem__)
        return [row for row in map(self._row, ordered) if row is not None]

    def _row(self, record_id: str) -> Record | None:
        found = self.tx.pending.get(record_id)
        if found is not None:
            return found[1] if found[0] == self.obj.name else None
        return self._committed.get(record_id)


def _fold(value: Any, case_sensitive: bool) -> Any:
    if isinstance(value, str):
        return value if case_sensitive else value.casefold()
    return value


def build_overlay(obj: ObjectDef, pending: dict[str, tuple[str, Record]]) -> ObjectIndex:
    """An index over a transaction's uncommitted rows of ``obj``."""
    overlay = ObjectIndex(obj)
    for record_id, (name, record) in pending.items():
        if name == obj.name:
            overlay.replace(record_id, None, record)
    return overlay
