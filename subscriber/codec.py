"""Avro payloads → :class:`DecodedEvent`, or an :class:`UndecodableEvent` kept as poison.

Schemas are cached by ``schema_id`` (never by topic: a backlog may hold events written with an
older schema than the topic's current one). Decoding uses fastavro (4-8x faster than the Apache
``avro`` package on our payloads; see ``benchmarks/avro_decode.py``). A payload that fails to
decode triggers one fresh GetSchema for its schema ID; if it still fails it becomes an
:class:`UndecodableEvent` with the error, and the stream goes on. A schema that cannot be had
(GetSchema refuses it, or it does not parse) is remembered for ``UNKNOWN_SCHEMA_TTL_S``: a
backlog of events naming it costs one GetSchema, not one per event. Transient failures fetching
a schema (:class:`RetryLater`) propagate: the batch is not stored and is fetched again.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fastavro

from subscriber.bitmaps import BitmapError, FieldLayout, field_names
from subscriber.errors import Fatal
from subscriber.events import ChangeHeader, DecodedEvent, EntryKind, Received, UndecodableEvent

SchemaFetcher = Callable[[str], str]
"""Returns the schema JSON for a schema ID (GetSchema)."""


UNKNOWN_SCHEMA_TTL_S = 600.0
_MAX_UNKNOWN = 1000


class DecodeError(ValueError):
    """The payload does not decode with its schema (message names no payload bytes).

    ``error_class`` is a short, stable category for reporting (the message varies per event).
    """

    def __init__(self, message: str, error_class: str = "undecodable payload") -> None:
        super().__init__(message)
        self.error_class = error_class


@dataclass(frozen=True)
class Schema:
    """A parsed writer schema and the field layout its CDC bitmaps refer to."""

    schema_id: str
    parsed: Any
    layout: FieldLayout


class SchemaCache:
    """Parsed schemas by schema ID, fetched on first use; safe to share between threads."""

    def __init__(self, fetch: SchemaFetcher) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._schemas: dict[str, Schema] = {}
        self.fetches = 0

    def get(self, schema_id: str) -> Schema:
        with self._lock:
            found = self._schemas.get(schema_id)
        return found if found is not None else self.refetch(schema_id)

    def refetch(self, schema_id: str) -> Schema:
        """Fetch ``schema_id`` again, replacing any cached copy."""
        text = self._fetch(schema_id)
        self.fetches += 1
        try:
            raw = json.loads(text)
            schema = Schema(schema_id, fastavro.parse_schema(raw), FieldLayout.from_schema(raw))
        except Exception as exc:  # noqa: BLE001 - fastavro raises many types for a bad schema
            raise DecodeError(f"schema {schema_id} does not parse: {type(exc).__name__}",
                              "unparseable schema") from None
        with self._lock:
            self._schemas[schema_id] = schema
        return schema


class Decoder:
    """Decodes consumer events; one per stream (its memory of bad schemas is per stream)."""

    def __init__(self, cache: SchemaCache, clock: Callable[[], float] = time.monotonic) -> None:
        self._cache = cache
        self._clock = clock
        self._refetched: set[str] = set()
        self._unknown: dict[str, tuple[DecodeError, float]] = {}

    def decode(
        self, topic: str, replay_id: bytes, event_id: str, schema_id: str, payload: bytes
    ) -> Received:
        """Decode one event; never raises for a bad payload (returns poison instead)."""
        try:
            body, change = self._decode_retrying(schema_id, payload)
        except DecodeError as exc:
            return UndecodableEvent(topic, replay_id, event_id, schema_id, payload, str(exc),
                                    exc.error_class)
        kind = _kind(change)
        return DecodedEvent(topic, replay_id, event_id, schema_id, kind, body, change, payload)

    def _decode_retrying(
        self, schema_id: str, payload: bytes
    ) -> tuple[dict[str, Any], ChangeHeader | None]:
        try:
            return decode_payload(self._schema(schema_id, fresh=False), payload)
        except DecodeError:
            if schema_id in self._refetched or schema_id in self._unknown:
                raise
            self._refetched.add(schema_id)
        return decode_payload(self._schema(schema_id, fresh=True), payload)

    def _schema(self, schema_id: str, *, fresh: bool) -> Schema:
        """The schema, or the remembered reason it cannot be had (no GetSchema for that)."""
        known = self._unknown.get(schema_id)
        if known is not None and self._clock() < known[1]:
            raise DecodeError(str(known[0]), known[0].error_class)
        try:
            return self._cache.refetch(schema_id) if fresh else self._cache.get(schema_id)
        except (DecodeError, Fatal) as exc:
            error = exc if isinstance(exc, DecodeError) else DecodeError(
                f"schema {schema_id} unavailable: {exc}", "unknown schema")
            self._remember_unknown(schema_id, error)
            raise error from None

    def _remember_unknown(self, schema_id: str, error: DecodeError) -> None:
        now = self._clock()
        if len(self._unknown) >= _MAX_UNKNOWN:
            self._unknown = {k: v for k, v in self._unknown.items() if v[1] > now}
        self._unknown[schema_id] = (error, now + UNKNOWN_SCHEMA_TTL_S)


def decode_payload(schema: Schema, payload: bytes) -> tuple[dict[str, Any], ChangeHeader | None]:
    """The record and, for a change event, its decoded header."""
    stream = io.BytesIO(payload)
    try:
        record = fastavro.schemaless_reader(stream, schema.parsed)
    except Exception as exc:  # noqa: BLE001 - fastavro raises many types for a bad payload
        raise DecodeError(
            f"payload ({len(payload)} bytes) does not decode with schema {schema.schema_id}: "
            f"{type(exc).__name__}"
        ) from None
    if stream.tell() != len(payload):
        raise DecodeError(
            f"payload has {len(payload) - stream.tell()} bytes left over after decoding "
            f"with schema {schema.schema_id}", "trailing bytes"
        )
    if not isinstance(record, dict):
        raise DecodeError(f"schema {schema.schema_id} is not a record schema", "not a record")
    header = record.get("ChangeEventHeader")
    if not isinstance(header, dict):
        return record, None
    try:
        return record, change_header(header, schema.layout)
    except (BitmapError, KeyError, TypeError, ValueError) as exc:
        raise DecodeError(
            f"ChangeEventHeader does not fit schema {schema.schema_id}: {exc}",
            "bad change header"
        ) from None


def change_header(header: dict[str, Any], layout: FieldLayout) -> ChangeHeader:
    """A :class:`ChangeHeader` with the three bitmaps turned into field names."""
    return ChangeHeader(
        entity_name=str(header["entityName"]),
        change_type=str(header["changeType"]),
        change_origin=str(header.get("changeOrigin") or ""),
        record_ids=tuple(header.get("recordIds") or ()),
        transaction_key=str(header["transactionKey"]),
        sequence_number=int(header["sequenceNumber"]),
        commit_timestamp=int(header["commitTimestamp"]),
        commit_number=int(header["commitNumber"]),
        commit_user=str(header.get("commitUser") or ""),
        changed_fields=field_names(header.get("changedFields") or (), layout),
        nulled_fields=field_names(header.get("nulledFields") or (), layout),
        diff_fields=field_names(header.get("diffFields") or (), layout),
    )


def _kind(change: ChangeHeader | None) -> EntryKind:
    if change is None:
        return EntryKind.EVENT
    if change.is_overflow:
        return EntryKind.GAP_OVERFLOW
    return EntryKind.GAP if change.is_gap else EntryKind.CHANGE
