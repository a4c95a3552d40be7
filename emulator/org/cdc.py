"""Change Data Capture: turn committed record changes into ``<Object>ChangeEvent`` messages.

The record store calls :class:`ChangeDataCapture` with every committed
:class:`~emulator.org.changes.Transaction`. For each change of a CDC-enabled object it publishes
one change event shaped as Salesforce's Pub/Sub API delivers it: a ``ChangeEventHeader`` whose
``changedFields``/``nulledFields``/``diffFields`` are hex bitmaps over the Avro schema's field
positions, and a body where only what the change carries is non-null. Subscribers written
against this emulator must decode the same bitmaps they will meet in a real org.

``sequenceNumber`` counts every change in the transaction, published or not: a lead
conversion creates an Account, a Contact and an Opportunity before updating the Lead, so the
Lead event is number 4 even when only Lead is CDC-enabled (CDC guide, "Change Events for Lead
Conversion").
"""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import fastavro

from emulator.avro_schemas import avro_value, change_event_layout
from emulator.catalog import Catalog, FieldDef, FieldType, ObjectDef
from emulator.org.cdc_diff import diff_value
from emulator.org.changes import RecordChange, Transaction
from emulator.pubsub.bus import EventBus
from emulator.pubsub.store import NewEvent

Layout = list[tuple[str, list[FieldDef]]]
DIFFABLE_TYPES = frozenset({FieldType.LONG_TEXT_AREA})
_FULL_BODY = frozenset({"CREATE", "UNDELETE"})


class ChangeDataCapture:
    """The commit listener that publishes change events; one per running emulator.

    It keeps the last ``commitNumber`` so numbers only grow, as a system change number does.
    """

    def __init__(self, bus: EventBus, catalog: Catalog) -> None:
        self._bus = bus
        self._catalog = catalog
        self._lock = threading.Lock()
        self._last_commit_number = 0

    def __call__(self, transaction: Transaction) -> None:
        """Publish the transaction's change events, each topic's events in one append.

        One append per topic keeps a transaction's events contiguous and all-or-nothing for
        subscribers, as a commit is.
        """
        if not transaction.changes:
            return
        by_topic: dict[str, list[dict[str, Any]]] = {}
        for topic, event in self.events_for(transaction):
            by_topic.setdefault(topic, []).append(event)
        for topic, events in by_topic.items():
            self._append(topic, events)

    def events_for(self, transaction: Transaction) -> list[tuple[str, dict[str, Any]]]:
        """(topic, event record) for the CDC-enabled changes, in sequence order, merged.

        Identical changes to several records of one object in the transaction become one event
        whose ``recordIds`` lists them all (CDC guide, "Merged Change Events": "change events for
        one transaction are merged into one event if the same change occurred in multiple
        records of the same object type during one second"). A merged event takes the first
        change's position: its place and sequence number. The "one second" never separates
        changes here: a :class:`~emulator.org.records.RecordTransaction` fixes one time for
        every write it makes, so all its changes carry the same LastModifiedDate.
        """
        return merge_identical(self._unmerged(transaction))

    def _unmerged(self, transaction: Transaction) -> list[tuple[str, dict[str, Any]]]:
        commit_number = self._next_commit_number(transaction.changes[0].commit_timestamp_ms)
        out: list[tuple[str, dict[str, Any]]] = []
        for seq, change in enumerate(transaction.changes, start=1):
            obj = self._catalog.get(change.object_name)
            if obj is None or not obj.cdc_enabled or obj.topic is None:
                continue
            header = {
                "transactionKey": transaction.transaction_key,
                "sequenceNumber": seq,
                "commitNumber": commit_number,
            }
            out.append((obj.topic, change_event(obj, change, header)))
        return out

    def _next_commit_number(self, commit_ms: int) -> int:
        """A system change number: shared by a transaction, growing across transactions."""
        with self._lock:
            self._last_commit_number = max(commit_ms * 1000, self._last_commit_number + 1)
            return self._last_commit_number

    def _append(self, topic: str, events: list[dict[str, Any]]) -> None:
        """Encode and append in one store call, so the batch gets consecutive replay IDs."""
        info = self._bus.store.topic(topic)
        if info is None:
            raise KeyError(f"change event topic {topic} is not defined")
        schema = self._bus.parsed_schema(info[1])
        batch = []
        for event in events:
            buf = io.BytesIO()
            fastavro.schemaless_writer(buf, schema, event)
            batch.append(NewEvent(str(uuid.uuid4()), info[1], buf.getvalue()))
        self._bus.store.append(topic, batch)


def merge_identical(
    events: list[tuple[str, dict[str, Any]]]
) -> list[tuple[str, dict[str, Any]]]:
    """One event per run of identical changes; the records sharing it are listed in its
    ``recordIds``, in the order their changes were made.

    A change joins the latest identical event only when no change to its own record was made
    since that event's first change: the merged event takes the first change's position, so
    joining across a change to the same record would replay the record's changes out of order
    (and could list the record twice).
    """
    out: list[tuple[str, dict[str, Any]]] = []
    latest: dict[str, tuple[int, dict[str, Any]]] = {}  # change key -> (position, event)
    last_change_at: dict[str, int] = {}  # record ID -> position of its latest change
    for position, (topic, event) in enumerate(events):
        key = topic + _change_key(event)
        record_ids = event["ChangeEventHeader"]["recordIds"]
        group = latest.get(key)
        if group is not None and all(last_change_at.get(r, -1) < group[0] for r in record_ids):
            group[1]["ChangeEventHeader"]["recordIds"].extend(record_ids)
        else:
            latest[key] = (position, event)
            out.append((topic, event))
        last_change_at.update(dict.fromkeys(record_ids, position))
    return out


def _change_key(event: dict[str, Any]) -> str:
    """The event minus what differs between records sharing one change."""
    header = {k: v for k, v in event["ChangeEventHeader"].items()
              if k not in ("recordIds", "sequenceNumber")}
    return json.dumps({**event, "ChangeEventHeader": header}, sort_keys=True, default=str)


def publish_change_events(bus: EventBus, catalog: Catalog, transaction: Transaction) -> None:
    """One-shot form of :class:`ChangeDataCapture` (commit numbers start afresh per call)."""
    ChangeDataCapture(bus, catalog)(transaction)


def change_event(obj: ObjectDef, change: RecordChange, header: Mapping[str, Any]) -> dict[str, Any]:
    """The change event record for one change; ``header`` supplies the transaction's part."""
    layout = change_event_layout(obj)
    changed = _changed_names(obj, change)
    after = change.after or {}
    before = change.before or {}
    diffs = _diffs(obj, changed, before, after)
    nulled = {name for name in changed if after.get(name) is None}
    event: dict[str, Any] = {
        "ChangeEventHeader": {
            "entityName": obj.name,
            "recordIds": [change.record_id],
            "changeType": change.change_type,
            "changeOrigin": change.origin,
            "commitTimestamp": change.commit_timestamp_ms,
            "commitUser": change.user_id,
            **header,
            "nulledFields": encode_bitmap(layout, nulled),
            "diffFields": encode_bitmap(layout, diffs),
            "changedFields": encode_bitmap(layout, changed),
        }
    }
    if change.change_type in _FULL_BODY:
        carried = {name for name, value in after.items() if value is not None}
    else:
        carried = changed
    values = {name: diffs.get(name, after.get(name)) for name in carried}
    event.update(_body(layout, values, raw=set(diffs)))
    return event


def _changed_names(obj: ObjectDef, change: RecordChange) -> set[str]:
    """Canonical names of the fields an UPDATE changed, LastModifiedDate always among them.

    Only fields whose value really differs count, whatever the store lists: Salesforce's
    lead-conversion event (``0x08F81000``) has LastModifiedDate but not LastModifiedById, which
    the store rewrites on every update with the same user.
    """
    if change.change_type != "UPDATE":
        return set()
    before, after = change.before or {}, change.after or {}
    names = {
        f.name for n in change.changed_fields
        if (f := obj.field(n)) is not None and before.get(f.name) != after.get(f.name)
    }
    if obj.field("LastModifiedDate") is not None:
        names.add("LastModifiedDate")
    return names


def _diffs(
    obj: ObjectDef, changed: set[str], before: Mapping[str, Any], after: Mapping[str, Any]
) -> dict[str, str]:
    """Large text fields whose update goes out as a unified diff, with that diff."""
    out: dict[str, str] = {}
    for name in changed:
        field = obj.field(name)
        if field is None or field.type not in DIFFABLE_TYPES:
            continue
        diff = diff_value(before.get(name), after.get(name))
        if diff is not None:
            out[name] = diff
    return out


def _body(layout: Layout, values: Mapping[str, Any], raw: set[str]) -> dict[str, Any]:
    """Every body field of the schema: carried values converted, everything else null."""
    body: dict[str, Any] = {}
    for name, members in layout[1:]:
        if len(members) == 1 and members[0].compound is None:
            body[name] = _carried(members[0], values, raw)
        elif any(m.name in values for m in members):
            body[name] = {m.name: _carried(m, values, raw) for m in members}
        else:
            body[name] = None
    return body


def _carried(field: FieldDef, values: Mapping[str, Any], raw: set[str]) -> Any:
    value = values.get(field.name)
    return value if field.name in raw else avro_value(field, value)


def encode_bitmap(layout: Layout, names: Iterable[str]) -> list[str]:
    """Salesforce's bitmap strings for ``names``.

    Element 0 (``0x…``, omitted when empty) has bit n set for layout entry n when it is a plain
    field; a compound field's components go in ``"{n}-0x…"`` entries, bit k for component k.
    Hex is upper-case and whole bytes, as in ``0x08F81000`` and ``4-0x01``.
    """
    wanted = set(names)
    top = 0
    nested: list[str] = []
    for index, (_, members) in enumerate(layout):
        if not members:
            continue
        if len(members) == 1 and members[0].compound is None:
            top |= (members[0].name in wanted) << index
            continue
        bits = sum(1 << k for k, m in enumerate(members) if m.name in wanted)
        if bits:
            nested.append(f"{index}-{_hex(bits)}")
    return ([_hex(top)] if top else []) + nested


def _hex(bits: int) -> str:
    width = max(1, (bits.bit_length() + 7) // 8) * 2
    return f"0x{bits:0{width}X}"
