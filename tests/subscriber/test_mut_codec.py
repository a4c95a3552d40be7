"""Each way a payload fails to decode becomes poison with its own stable error class and a
message that says what went wrong (the class groups alerts; the message is for the operator)."""

from __future__ import annotations

import io
import json
from typing import Any

import fastavro

from subscriber.codec import UNKNOWN_SCHEMA_TTL_S, Decoder, SchemaCache
from subscriber.errors import Fatal
from subscriber.events import DecodedEvent, UndecodableEvent

TOPIC = "/event/E__e"
LONG = {"type": "record", "name": "E", "fields": [{"name": "a", "type": "long"}]}
NOT_A_RECORD = {"type": "array", "items": "long"}


def _decoder(schemas: dict[str, Any]) -> Decoder:
    return Decoder(SchemaCache(lambda schema_id: json.dumps(schemas[schema_id])))


def _avro(schema: Any, value: Any) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), value)
    return out.getvalue()


def _poison(schemas: dict[str, Any], schema_id: str, payload: bytes) -> UndecodableEvent:
    result = _decoder(schemas).decode(TOPIC, b"\x01" * 10, "u1", schema_id, payload)
    assert isinstance(result, UndecodableEvent)
    return result


def test_bytes_left_over_after_the_record_are_poison_of_their_own_class() -> None:
    poison = _poison({"v1": LONG}, "v1", _avro(LONG, {"a": 5}) + b"\x00\x00")
    assert poison.error_class == "trailing bytes"
    assert poison.error == "payload has 2 bytes left over after decoding with schema v1"


def test_a_payload_cut_short_names_its_size_the_schema_and_the_decoder_error() -> None:
    poison = _poison({"v1": LONG}, "v1", b"")
    assert poison.error_class == "undecodable payload"
    assert poison.error == "payload (0 bytes) does not decode with schema v1: EOFError"


def test_a_schema_that_is_not_a_record_makes_poison_saying_so() -> None:
    poison = _poison({"arr": NOT_A_RECORD}, "arr", _avro(NOT_A_RECORD, [1, 2]))
    assert poison.error_class == "not a record"
    assert poison.error == "schema arr is not a record schema"


def test_each_getschema_is_counted_and_an_unknown_schema_is_asked_again_at_its_ttl() -> None:
    asked: list[str] = []

    def fetch(schema_id: str) -> str:
        asked.append(schema_id)
        if schema_id == "gone":
            raise Fatal("GetSchema gone failed: NOT_FOUND")
        return json.dumps(LONG)

    now = [0.0]
    cache = SchemaCache(fetch)
    decoder = Decoder(cache, clock=lambda: now[0])
    decoder.decode(TOPIC, b"\x01" * 10, "u1", "v1", _avro(LONG, {"a": 1}))
    assert cache.fetches == 1
    decoder.decode(TOPIC, b"\x02" * 10, "u2", "gone", b"\x02")
    now[0] = UNKNOWN_SCHEMA_TTL_S - 0.5
    decoder.decode(TOPIC, b"\x03" * 10, "u3", "gone", b"\x02")
    assert asked == ["v1", "gone"]
    now[0] = UNKNOWN_SCHEMA_TTL_S  # remembered for the TTL, not a moment longer
    decoder.decode(TOPIC, b"\x04" * 10, "u4", "gone", b"\x02")
    assert asked == ["v1", "gone", "gone"]


def test_a_decoded_event_keeps_the_payload_it_was_decoded_from() -> None:
    """The bytes become the poison entry's raw if the decoded values cannot be stored."""
    payload = _avro(LONG, {"a": 7})
    result = _decoder({"v1": LONG}).decode(TOPIC, b"\x01" * 10, "u1", "v1", payload)
    assert isinstance(result, DecodedEvent)
    assert (result.payload, result.raw) == ({"a": 7}, payload)
