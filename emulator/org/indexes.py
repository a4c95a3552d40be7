"""In-memory indexes over an object's rows, on the fields Salesforce indexes.

Salesforce keeps indexes on Id, Name, external ID and unique fields, lookup and master-detail
fields, and Email on Lead and Contact (Large Data Volumes best practices, "Indexes":
https://developer.salesforce.com/docs/platform/salesforce-large-data-volumes-bp/guide/
ldv-deployments-infrastructure-indexes.html), so filters on them answer without reading
every row. The emulator does the same so that its own speed never bounds a benchmark of the
daemon: the record store keeps one :class:`ObjectIndex` per object over its committed rows,
and each transaction keeps another over its own uncommitted rows.

An index answers with candidate IDs, never with a verdict: the caller still checks each
candidate's current row with the real comparison. So an index must never leave out a row
that matches; returning extra ones only costs time. Deleted rows stay indexed (queryAll sees
them). Each key bucket holds one ID as a plain string, or a set when several rows share it,
which keeps unique fields cheap at 100,000 rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Hashable, Iterable, Iterator
from typing import Any

from sortedcontainers import SortedList

from emulator.catalog import FieldDef, ObjectDef
from emulator.soql.keys import equality_key, like_key
from emulator.soql.schema import LIKE_TYPES

Record = dict[str, Any]
PERSON_OBJECTS = frozenset({"Lead", "Contact"})


def indexed_fields(obj: ObjectDef) -> tuple[FieldDef, ...]:
    """The fields of ``obj`` Salesforce indexes (and so the emulator does)."""
    return tuple(
        f for f in obj.fields
        if f.name in ("Id", "Name") or f.external_id or f.unique or f.is_reference
        or (f.name == "Email" and obj.name in PERSON_OBJECTS)
    )


class FieldIndex:
    """One field's index: equality key -> IDs, and for text a sorted list for LIKE prefixes."""

    def __init__(self, field: FieldDef) -> None:
        self.field = field
        self.by_key: dict[Hashable, str | set[str]] = {}
        self.by_prefix: SortedList | None = SortedList() if field.type in LIKE_TYPES else None

    def add(self, record_id: str, value: Any) -> None:
        key = _shared(equality_key(value, self.field), value)
        held = self.by_key.get(key)
        if held is None:
            self.by_key[key] = record_id
        elif isinstance(held, set):
            held.add(record_id)
        elif held != record_id:
            self.by_key[key] = {held, record_id}
        if self.by_prefix is not None and isinstance(value, str) and value:
            self.by_prefix.add((_shared(like_key(value), value), record_id))

    def remove(self, record_id: str, value: Any) -> None:
        key = equality_key(value, self.field)
        held = self.by_key.get(key)
        if isinstance(held, set):
            held.discard(record_id)
            if len(held) == 1:
                self.by_key[key] = next(iter(held))
        elif held == record_id:
            del self.by_key[key]
        if self.by_prefix is not None and isinstance(value, str) and value:
            self.by_prefix.discard((like_key(value), record_id))

    def equal(self, keys: Iterable[Hashable]) -> set[str]:
        """IDs of rows whose key is one of ``keys``."""
        found: set[str] = set()
        for key in keys:
            held = self.by_key.get(key)
            if isinstance(held, set):
                found |= held
            elif held is not None:
                found.add(held)
        return found

    def prefixed(self, folded_prefix: str) -> set[str]:
        """IDs of rows whose :func:`like_key` starts with ``folded_prefix``."""
        if self.by_prefix is None:
            return set()
        entries: Iterator[tuple[str, str]] = self.by_prefix.irange((folded_prefix,))
        matching = itertools.takewhile(lambda e: e[0].startswith(folded_prefix), entries)
        return {record_id for _, record_id in matching}


def _shared(key: Any, value: Any) -> Any:
    """``value`` itself when the key equals it (lower-case e-mails, external IDs): one string
    kept instead of two, which is most of the indexes' memory at 100,000 rows."""
    return value if key == value and type(key) is type(value) else key


class ObjectIndex:
    """Every indexed field of one object, over some set of rows (committed, or one tx's)."""

    def __init__(self, obj: ObjectDef) -> None:
        self.fields = {f.name: FieldIndex(f) for f in indexed_fields(obj)}
        self.ids: set[str] = set()

    def replace(self, record_id: str, old: Record | None, new: Record | None) -> None:
        """Re-index one row whose stored version goes from ``old`` to ``new`` (None: absent)."""
        for name, index in self.fields.items():
            before = None if old is None else old.get(name)
            after = None if new is None else new.get(name)
            if old is not None and new is not None and before == after:
                continue
            if old is not None:
                index.remove(record_id, before)
            if new is not None:
                index.add(record_id, after)
        if new is None:
            self.ids.discard(record_id)
        else:
            self.ids.add(record_id)

    def has(self, field_name: str) -> bool:
        return field_name in self.fields

    def equal(self, field_name: str, keys: Collection[Hashable]) -> set[str]:
        return self.fields[field_name].equal(keys)

    def prefixed(self, field_name: str, folded_prefix: str) -> set[str]:
        return self.fields[field_name].prefixed(folded_prefix)
