"""How a trusted write turns into a stored record and a pending change (used by the store).

Kept apart from :mod:`emulator.org.records` so the store reads as locking, durability and
notification, and this module as "what a new or updated row looks like".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from emulator.catalog import ObjectDef
from emulator.ids import make_id, to18
from emulator.org.changes import ChangeType, RecordChange

Record = dict[str, Any]
_AUDIT_UPDATE = ("LastModifiedDate", "LastModifiedById", "SystemModstamp")


class SerialSource(Protocol):
    def next_serial(self, prefix: str) -> int: ...


@dataclass(frozen=True)
class Savepoint:
    """Where a transaction stood; :meth:`RecordTransaction.rollback_to` returns there."""

    pending: dict[str, tuple[str, Record]]
    changes: int
    callbacks: int


@dataclass
class PendingChange:
    """A write not yet committed; it becomes a :class:`RecordChange` at commit time."""

    object_name: str
    change_type: ChangeType
    record_id: str
    before: Record | None
    after: Record | None
    changed: frozenset[str] = field(default_factory=frozenset)

    def freeze(self, user_id: str, origin: str, commit_ms: int) -> RecordChange:
        changed = self.changed
        if self.change_type == "CREATE" and self.after is not None:
            changed = frozenset(k for k, v in self.after.items() if v is not None)
        return RecordChange(
            object_name=self.object_name,
            change_type=self.change_type,
            record_id=self.record_id,
            before=self.before,
            after=self.after,
            changed_fields=changed,
            user_id=user_id,
            origin=origin,
            commit_timestamp_ms=commit_ms,
        )


def now_utc() -> dt.datetime:
    """The org's clock: UTC with whole seconds, as Salesforce stores audit dateTimes."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def build_insert(
    serials: SerialSource,
    obj: ObjectDef,
    values: dict[str, Any],
    user_id: str,
    record_id: str | None = None,
    now: dt.datetime | None = None,
) -> Record:
    """A complete new row: every field present, defaults and system fields filled in.

    ``now`` is the transaction's time: every record a transaction writes carries the same
    audit dateTimes, so identical changes in one transaction can merge into one change event.
    """
    record: Record = {f.name: f.default for f in obj.fields}
    for name, value in values.items():
        f = obj.field(name)
        if f is not None:
            record[f.name] = value
    serial = serials.next_serial(obj.key_prefix)
    record["Id"] = to18(record_id) if record_id else make_id(obj.key_prefix, serial)
    now = now or now_utc()
    system = {
        "IsDeleted": False,
        "CreatedDate": now,
        "CreatedById": user_id,
        "LastModifiedDate": now,
        "LastModifiedById": user_id,
        "SystemModstamp": now,
    }
    for name, value in system.items():
        if obj.field(name) is not None:
            record[name] = value
    if obj.field("OwnerId") is not None and record.get("OwnerId") is None:
        record["OwnerId"] = user_id
    derive_fields(obj, record, serial)
    return record


def build_update(
    obj: ObjectDef, before: Record, values: dict[str, Any], user_id: str,
    now: dt.datetime | None = None,
) -> tuple[Record, frozenset[str]]:
    """The row after applying ``values``, and the names of the fields whose value changed."""
    after = dict(before)
    for name, value in values.items():
        f = obj.field(name)
        if f is not None:
            after[f.name] = value
    now = now or now_utc()
    for name, value in zip(_AUDIT_UPDATE, (now, user_id, now), strict=True):
        if obj.field(name) is not None:
            after[name] = value
    derive_fields(obj, after)
    # Every update writes LastModifiedDate, so Salesforce lists it as changed even when the
    # clock has not moved on (dateTimes have whole seconds).
    changed = frozenset(
        k for k, v in after.items() if before.get(k) != v or k == "LastModifiedDate"
    )
    return after, changed


def derive_fields(obj: ObjectDef, record: Record, serial: int = 0) -> None:
    """What the org computes: whole numbers as integers, a person's Name ("First Last"), an
    auto-number Name on insert (``serial``)."""
    for f in obj.fields:
        value = record.get(f.name)
        if f.is_integer and isinstance(value, float) and value.is_integer():
            record[f.name] = int(value)
    name_field = obj.field("Name")
    if name_field is not None and name_field.derived:
        parts = (record.get("FirstName"), record.get("LastName"))
        record["Name"] = " ".join(str(p) for p in parts if p) or None
    elif serial and name_field is not None and name_field.system and record.get("Name") is None:
        record["Name"] = f"{serial:06d}"


def backfill(obj: ObjectDef, record: Record) -> Record:
    """A row stored by an older emulator, completed with fields added to the catalog since."""
    derive_fields(obj, record)
    if obj.field("SystemModstamp") is not None and record.get("SystemModstamp") is None:
        record["SystemModstamp"] = record.get("LastModifiedDate")
    return record
