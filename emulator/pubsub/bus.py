"""The event bus: topics, schemas, Avro validation and publishing, over :class:`EventStore`.

Both halves of the emulator publish through here: the gRPC ``Publish`` RPCs with client-made
Avro payloads, and the REST side (platform events over REST, Change Data Capture) with field
dictionaries that the bus encodes with the topic's current schema.
"""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass
from typing import Any

import fastavro

from emulator.avro_schemas import canonical_json, schema_id
from emulator.pubsub.store import EventStore, NewEvent, StoredEvent

MAX_EVENT_BYTES = 1024 * 1024


@dataclass(frozen=True)
class PublishOutcome:
    """The result for one published event: a replay ID, or an error message."""

    correlation_key: str
    replay_id: bytes = b""
    error: str = ""


class EventBus:
    """Publishing and schema lookup with parsed schemas cached by schema ID."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._parsed: dict[str, Any] = {}

    def define_topic(self, topic: str, schema: dict[str, Any]) -> str:
        """Register ``schema`` as the topic's current schema; returns its schema ID."""
        text = canonical_json(schema)
        sid = schema_id(text)
        current = self.store.topic(topic)
        if current is None or current[1] != sid:
            self.store.register_schema(topic, sid, text)
        return sid

    def parsed_schema(self, sid: str) -> Any:
        if sid not in self._parsed:
            found = self.store.schema(sid)
            if found is None:
                raise KeyError(sid)
            self._parsed[sid] = fastavro.parse_schema(json.loads(found[1]))
        return self._parsed[sid]

    def publish(self, topic: str, events: list[tuple[str, str, bytes]]) -> list[PublishOutcome]:
        """Validate and append (event_id, schema_id, payload) triples, keeping their order.

        Invalid events get a per-event error and are not stored; valid ones in the same request
        are stored.
        """
        outcomes: list[PublishOutcome | None] = []
        valid: list[NewEvent] = []
        for event_id, sid, payload in events:
            key = event_id or str(uuid.uuid4())
            error = self._validate(topic, sid, payload)
            outcomes.append(PublishOutcome(key, error=error) if error else None)
            if not error:
                valid.append(NewEvent(key, sid, payload))
        stored = iter(self.store.append(topic, valid)) if valid else iter(())
        return [o or _accepted(next(stored)) for o in outcomes]

    def publish_record(self, topic: str, record: dict[str, Any], event_id: str = "") -> StoredEvent:
        """Encode ``record`` with the topic's current schema and append it."""
        info = self.store.topic(topic)
        if info is None:
            raise KeyError(topic)
        sid = info[1]
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, self.parsed_schema(sid), record)
        key = event_id or str(uuid.uuid4())
        return self.store.append(topic, [NewEvent(key, sid, buf.getvalue())])[0]

    def decode(self, event: StoredEvent) -> dict[str, Any]:
        """The event's payload as a dict (for the admin API and tests)."""
        schema = self.parsed_schema(event.schema_id)
        result = fastavro.schemaless_reader(io.BytesIO(event.payload), schema)
        assert isinstance(result, dict)
        return result

    def _validate(self, topic: str, sid: str, payload: bytes) -> str:
        if len(payload) > MAX_EVENT_BYTES:
            return f"Event payload is {len(payload)} bytes; the maximum is {MAX_EVENT_BYTES}."
        found = self.store.schema(sid) if sid else None
        if found is None or found[0].lower() != topic.lower():
            return f"The schema ID {sid!r} isn't valid for topic {topic}."
        stream = io.BytesIO(payload)
        try:
            fastavro.schemaless_reader(stream, self.parsed_schema(sid))
        except Exception as exc:  # noqa: BLE001 - any decoder failure means a bad payload
            return (
                f"The event payload can't be deserialized with schema {sid}: "
                f"{type(exc).__name__}"
            )
        if stream.tell() != len(payload):
            return f"The event payload has {len(payload) - stream.tell()} trailing bytes."
        return ""


def _accepted(event: StoredEvent) -> PublishOutcome:
    return PublishOutcome(event.event_id, replay_id=event.replay_id)
