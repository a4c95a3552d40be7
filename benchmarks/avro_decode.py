"""Avro decode speed on our own payloads: ``avro`` (Apache) vs ``fastavro``.

Builds the two topic schemas the daemon subscribes to (SelfServeTrialEvent__e and
LeadChangeEvent, exactly as the emulator serves them), encodes realistic records, then times
decoding each payload the way the subscriber does (schemaless, schema parsed once, cached).
Prints a table (one ``key  value`` line each), then with ``--json`` one JSON object as the
last line, like every benchmark.

    .venv/bin/python -m benchmarks.avro_decode [--events 20000] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import avro.io
import avro.schema
import fastavro

from benchmarks.common import emit, load_average, machine
from emulator.avro_schemas import change_event_schema, platform_event_schema
from emulator.catalog import ObjectKind
from emulator.schema import build_catalog


def _schemas() -> dict[str, dict[str, Any]]:
    catalog = build_catalog()
    out: dict[str, dict[str, Any]] = {}
    for obj in catalog:
        if obj.name == "SelfServeTrialEvent__e" and obj.kind is ObjectKind.PLATFORM_EVENT:
            out["SelfServeTrialEvent__e"] = platform_event_schema(obj)
        if obj.name == "Lead":
            out["LeadChangeEvent"] = change_event_schema(obj)
    return out


def _value(schema: Any, i: int) -> Any:
    """A plausible value for an Avro type (unions take their non-null branch)."""
    if isinstance(schema, list):
        return _value(next(s for s in schema if s != "null"), i)
    if isinstance(schema, dict):
        if schema["type"] == "record":
            return {f["name"]: _value(f["type"], i) for f in schema["fields"]}
        if schema["type"] == "array":
            return ["0x3FA4" if i % 2 else "006Dn00000AbCdEFGH"]
        if schema["type"] == "enum":
            return schema["symbols"][1]
    return {"string": f"value-{i}-lorem-ipsum", "long": 1_760_000_000_000 + i, "int": i,
            "double": i * 1.5, "boolean": bool(i % 2)}[schema]


def _payloads(schema: dict[str, Any], count: int) -> list[bytes]:
    parsed = fastavro.parse_schema(schema)
    out = []
    for i in range(count):
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, parsed, _value(schema, i))
        out.append(buf.getvalue())
    return out


def _fastavro(schema: dict[str, Any]) -> Callable[[bytes], Any]:
    parsed = fastavro.parse_schema(schema)
    return lambda payload: fastavro.schemaless_reader(io.BytesIO(payload), parsed)


def _avro(schema: dict[str, Any]) -> Callable[[bytes], Any]:
    reader = avro.io.DatumReader(avro.schema.parse(json.dumps(schema)))
    return lambda payload: reader.read(avro.io.BinaryDecoder(io.BytesIO(payload)))


def _rate(decode: Callable[[bytes], Any], payloads: list[bytes]) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for p in payloads:
            decode(p)
        best = min(best, time.perf_counter() - start)
    return len(payloads) / best


def measure(events: int) -> dict[str, Any]:
    """events/s per topic and library, and each topic's average payload size."""
    result: dict[str, Any] = {"events": events}
    for name, schema in _schemas().items():
        payloads = _payloads(schema, events)
        assert _fastavro(schema)(payloads[0]) == _avro(schema)(payloads[0])
        result[f"{name}_avg_payload_bytes"] = round(sum(map(len, payloads)) / len(payloads))
        for lib, make in (("fastavro", _fastavro), ("avro", _avro)):
            result[f"{name}_{lib}_events_per_s"] = round(_rate(make(schema), payloads))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.avro_decode", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20000, help="payloads per topic")
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON line (the table is printed first either way)")
    args = parser.parse_args(argv)
    before = load_average()
    result = measure(args.events)
    result.update(load_avg_before=before, load_avg_after=load_average(), machine=machine())
    emit(result, [k for k in result if k != "machine"], args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
