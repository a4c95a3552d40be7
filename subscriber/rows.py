"""How inbox entries map to SQLite rows and back (JSON for payloads, raw bytes for IDs)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from typing import Any

from subscriber.events import (
    ChangeHeader,
    DecodedEvent,
    EntryKind,
    EntryStatus,
    InboxEntry,
    Received,
)

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
       MIN(CASE WHEN status = 'pending' THEN received_at END)
FROM entries GROUP BY topic
"""


def entry_values(event: Received, now: float) -> tuple[object, ...]:
    """The INSERT_ENTRY parameters for a received event."""
    if isinstance(event, DecodedEvent):
        change = None if event.change is None else json.dumps(dataclasses.asdict(event.change))
        return (
            event.topic, event.dedupe_key, event.kind.value, EntryStatus.PENDING.value,
            bytes(event.replay_id), event.event_id, event.schema_id,
            json.dumps(event.payload, default=_json_default), change, "", None, now,
        )
    return (
        event.topic, event.dedupe_key, EntryKind.UNDECODABLE.value, EntryStatus.POISON.value,
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
    """Avro ``bytes``/``fixed`` values are stored as base64 text."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot store a {type(value).__name__} in the inbox")
