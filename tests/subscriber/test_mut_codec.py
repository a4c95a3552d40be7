"""Each way a payload fails to decode becomes poison with its own stable error class and a
message that says what went wrong (the class groups alerts; the message is for the operator)."""

from __future__ import annotations

import io
import json
from typing import Any

import fastavro

from subscriber.codec import Decoder, SchemaCache
from subscriber.events import UndecodableEvent

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
