"""How inbox entries map to SQLite rows and back (JSON for payloads, raw bytes for IDs).

Avro logical types decode to values JSON has no type for; they are stored as text: ``decimal``
as its exact decimal string (``"12.50"``), ``date``/``time``/``timestamp-*`` as ISO 8601,
``uuid`` as its canonical string, ``bytes``/``fixed`` as base64. The payload's schema ID is kept
with every entry, so a consumer knows which fields to read back as what. An event whose values
still cannot be encoded is stored as a poison entry (with its raw Avro bytes and the error),
never raised: one odd event must not stop the stream behind it.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import json
import uuid
from typing import Any

from subscriber.events import (
    ChangeHeader,
    EntryKind,
    EntryStatus,
    InboxEntry,
    Received,
    UndecodableEvent,
)

UNSTORABLE = "unstorable payload"

COLUMNS = (
    "id, topic, kind, status, replay_id, event_id, schema_id, dedupe_key, received_at, "
    "payload, change, error, raw"
)
INSERT_ENTRY = (
    "INSERT OR IGNORE INTO entries (topic, dedupe_key, kind, status, replay_id, event_id,"
    " schema_id, payload, change, error, raw, received_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
UPSERT_CHECKPOINT = (
    "INSERT INTO checkpoints VALUES (?, ?, ?) ON CONFLICT (topic) DO UPDATE"
    " SET replay_id = excluded.replay_id, updated_at = excluded.updated_at"
)
SET_STATUS = (
    "UPDATE entries SET status = ?, applied_at = ?, error = ? WHERE id = ? AND status = 'pending'"
)
COUNTS = """
SELECT topic,
       SUM(status = 'pending'), SUM(status = 'applied'), SUM(status = 'poison'),
       MIN(CASE WHEN status = 'pending' THEN received_at END),
       SUM(status = 'applied' AND error != '')
FROM entries GROUP BY topic
"""


@dataclasses.dataclass(frozen=True)
class EncodedRow:
    """The INSERT_ENTRY parameters for one event, and the poison entry it makes, if any."""

    values: tuple[object, ...]
    poison: UndecodableEvent | None


def encode(event: Received, now: float) -> EncodedRow:
    """The row for a received event; a decoded event that cannot be encoded becomes poison
    (under its own dedupe key, so a redelivery of it is still dropped at the door)."""
    if isinstance(event, UndecodableEvent):
        return EncodedRow(_poison_values(event, event.dedupe_key, now), event)
    try:
        payload = json.dumps(event.payload, default=_json_default)
        change = None if event.change is None else json.dumps(dataclasses.asdict(event.change))
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        poison = UndecodableEvent(
            event.topic, event.replay_id, event.event_id, event.schema_id, event.raw,
            f"decoded with schema {event.schema_id} but cannot be stored as JSON: "
            f"{type(exc).__name__}: {exc}", UNSTORABLE)
        return EncodedRow(_poison_values(poison, event.dedupe_key, now), poison)
    return EncodedRow((
        event.topic, event.dedupe_key, event.kind.value, EntryStatus.PENDING.value,
        bytes(event.replay_id), event.event_id, event.schema_id, payload, change, "", None, now,
    ), None)


def _poison_values(event: UndecodableEvent, dedupe_key: str, now: float) -> tuple[object, ...]:
    return (
        event.topic, dedupe_key, EntryKind.UNDECODABLE.value, EntryStatus.POISON.value,
        bytes(event.replay_id), event.event_id, event.schema_id,
        None, None, event.error, bytes(event.raw), now,
    )


def entry_from_row(row: tuple[Any, ...]) -> InboxEntry:
    (id_, topic, kind, status, replay_id, event_id, schema_id, dedupe_key, received_at,
     payload, change, error, raw) = row
    return InboxEntry(
        id=int(id_), topic=topic, kind=EntryKind(kind), status=EntryStatus(status),
        replay_id=bytes(replay_id), event_id=event_id, schema_id=schema_id,
        dedupe_key=dedupe_key, received_at=utc(received_at),
        payload=None if payload is None else json.loads(payload),
        change=None if change is None else _change(json.loads(change)),
        error=error, raw=None if raw is None else bytes(raw),
    )


def utc(epoch_s: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC)


def _change(data: dict[str, Any]) -> ChangeHeader:
    for name in ("record_ids", "changed_fields", "nulled_fields", "diff_fields"):
        data[name] = tuple(data[name])
    return ChangeHeader(**data)


def _json_default(value: object) -> object:
    """Text for the values Avro (logical types included) decodes to and JSON lacks."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot store a {type(value).__name__} in the inbox")
