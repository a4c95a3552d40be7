"""Decoding: schemas cached by schema ID, one refetch before poison, transient errors raised."""

from __future__ import annotations

import io
import json
from typing import Any

import fastavro
import pytest

from subscriber.codec import Decoder, SchemaCache
from subscriber.errors import Fatal, RetryLater
from subscriber.events import DecodedEvent, EntryKind, UndecodableEvent

V1 = {"type": "record", "name": "E", "fields": [{"name": "a", "type": "long"}]}
V2 = {"type": "record", "name": "E", "fields": [{"name": "a", "type": "long"},
                                                {"name": "b", "type": ["null", "string"]}]}


class Registry:
    def __init__(self, schemas: dict[str, dict[str, Any]]) -> None:
        self.schemas = schemas
        self.calls: list[str] = []
        self.error: Exception | None = None

    def __call__(self, schema_id: str) -> str:
        self.calls.append(schema_id)
        if self.error is not None:
            raise self.error
        if schema_id not in self.schemas:
            raise Fatal(f"GetSchema {schema_id} failed: NOT_FOUND")
        return json.dumps(self.schemas[schema_id])


def encode(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(schema), record)
    return buf.getvalue()


def test_events_decode_with_the_schema_their_id_names() -> None:
    registry = Registry({"v1": V1, "v2": V2})
    decoder = Decoder(SchemaCache(registry))
    old = decoder.decode("/event/E__e", b"\x01" * 10, "u1", "v1", encode(V1, {"a": 1}))
    new = decoder.decode("/event/E__e", b"\x02" * 10, "u2", "v2", encode(V2, {"a": 2, "b": "x"}))
    again = decoder.decode("/event/E__e", b"\x03" * 10, "u3", "v1", encode(V1, {"a": 3}))
    assert isinstance(old, DecodedEvent)
    assert old.payload == {"a": 1}
    assert isinstance(new, DecodedEvent)
    assert new.payload == {"a": 2, "b": "x"}
    assert isinstance(again, DecodedEvent)
    assert again.kind is EntryKind.EVENT
    assert registry.calls == ["v1", "v2"]


def test_undecodable_payloads_refetch_once_then_become_poison() -> None:
    registry = Registry({"v1": V1})
    decoder = Decoder(SchemaCache(registry))
    results = [decoder.decode("/event/E__e", bytes([i]) * 10, f"u{i}", "v1", b"\xff\xff")
               for i in range(3)]
    assert all(isinstance(r, UndecodableEvent) for r in results)
    assert registry.calls == ["v1", "v1"], "one refetch, not one per event"
    poison = results[0]
    assert isinstance(poison, UndecodableEvent)
    assert poison.raw == b"\xff\xff"
    assert "v1" in poison.error
    assert "ffff" not in poison.error


def test_unknown_schema_is_poison_but_outage_is_raised() -> None:
    registry = Registry({})
    decoder = Decoder(SchemaCache(registry))
    result = decoder.decode("/event/E__e", b"\x01" * 10, "u1", "gone", b"\x02")
    assert isinstance(result, UndecodableEvent)
    assert "NOT_FOUND" in result.error
    registry.error = RetryLater("GetSchema: UNAVAILABLE")
    with pytest.raises(RetryLater):
        decoder.decode("/event/E__e", b"\x01" * 10, "u1", "other", b"\x02")


def test_change_header_that_does_not_fit_is_poison() -> None:
    header = {"type": "record", "name": "ChangeEventHeader", "fields": [
        {"name": n, "type": t} for n, t in [
            ("entityName", "string"), ("recordIds", {"type": "array", "items": "string"}),
            ("changeType", "string"), ("changeOrigin", "string"), ("transactionKey", "string"),
            ("sequenceNumber", "int"), ("commitTimestamp", "long"), ("commitNumber", "long"),
            ("commitUser", "string"), ("nulledFields", {"type": "array", "items": "string"}),
            ("diffFields", {"type": "array", "items": "string"}),
            ("changedFields", {"type": "array", "items": "string"})]]}
    schema = {"type": "record", "name": "LeadChangeEvent", "fields": [
        {"name": "ChangeEventHeader", "type": header},
        {"name": "Email", "type": ["null", "string"]}]}
    base = {"entityName": "Lead", "recordIds": ["00Q"], "changeType": "UPDATE",
            "changeOrigin": "", "transactionKey": "t", "sequenceNumber": 1, "commitTimestamp": 1,
            "commitNumber": 1, "commitUser": "005", "nulledFields": [], "diffFields": []}
    decoder = Decoder(SchemaCache(Registry({"c": schema})))
    good = decoder.decode("/data/LeadChangeEvent", b"\x01" * 10, "", "c", encode(
        schema, {"ChangeEventHeader": {**base, "changedFields": ["0x02"]}, "Email": "a@b"}))
    assert isinstance(good, DecodedEvent)
    assert good.change is not None
    assert good.change.changed_fields == ("Email",)
    assert good.kind is EntryKind.CHANGE
    bad = decoder.decode("/data/LeadChangeEvent", b"\x02" * 10, "", "c", encode(
        schema, {"ChangeEventHeader": {**base, "changedFields": ["0x80"]}, "Email": None}))
    assert isinstance(bad, UndecodableEvent)
    assert "beyond" in bad.error
    assert bad.dedupe_key == "replay:" + "02" * 10


def test_a_schema_that_cannot_be_had_costs_one_getschema_not_one_per_event() -> None:
    registry = Registry({"bad": {"type": "no-such-type"}})
    clock = [0.0]
    decoder = Decoder(SchemaCache(registry), clock=lambda: clock[0])
    results = [decoder.decode("/event/E__e", bytes([i]) * 10, f"u{i}", sid, b"\x02")
               for i in range(20) for sid in ("gone", "bad")]
    assert all(isinstance(r, UndecodableEvent) for r in results)
    assert sorted(registry.calls) == ["bad", "gone"]
    classes = {r.error_class for r in results if isinstance(r, UndecodableEvent)}
    assert classes == {"unknown schema", "unparseable schema"}
    clock[0] += 3600.0  # remembered for a while only: a schema may become readable
    decoder.decode("/event/E__e", b"\x01" * 10, "u", "gone", b"\x02")
    assert sorted(registry.calls) == ["bad", "gone", "gone"]
