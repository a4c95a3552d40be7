"""An independent decoder for CDC bitmap fields, checked against Salesforce's published examples.

The emulator's tests decode ``changedFields``/``nulledFields``/``diffFields`` with this module,
working from the Avro schema JSON a subscriber gets from GetSchema (not from the emulator's
own layout code), the way Salesforce's sample decoders do: element ``0x…`` is a bitmap over the
top-level record fields; ``{i}-0x…`` is a bitmap over the nested record of field i (the record
inside its ``["null", record]`` union). Compound components are reported as ``Parent.Child``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest


def decode_bitmap(schema: dict[str, Any] | str, entries: list[str]) -> list[str]:
    """Field names the bitmap entries stand for, in schema order within each entry."""
    record = json.loads(schema) if isinstance(schema, str) else schema
    fields = record["fields"]
    names: list[str] = []
    for entry in entries:
        if entry.startswith("0x"):
            names += _names(fields, int(entry, 16))
            continue
        parent_index, _, bits = entry.partition("-")
        parent = fields[int(parent_index)]
        nested = _record_of(parent["type"])
        names += [f"{parent['name']}.{n}" for n in _names(nested["fields"], int(bits, 16))]
    return names


def _names(fields: list[dict[str, Any]], bits: int) -> list[str]:
    if bits >> len(fields):
        raise ValueError(f"bitmap {bits:#x} has bits beyond the {len(fields)} fields")
    return [f["name"] for i, f in enumerate(fields) if bits >> i & 1]


def _record_of(avro_type: Any) -> dict[str, Any]:
    """The record schema inside a field type (Salesforce wraps compounds in a union)."""
    candidates = avro_type if isinstance(avro_type, list) else [avro_type]
    for candidate in candidates:
        if isinstance(candidate, dict) and candidate.get("type") == "record":
            return candidate
    raise ValueError(f"not a compound field type: {avro_type!r}")


def _schema(*names: str, compound: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """A change-event-shaped schema; ``compound`` maps a field name to its components."""
    compound = compound or {}
    fields: list[dict[str, Any]] = [{"name": "ChangeEventHeader", "type": "string"}]
    for name in names:
        if name in compound:
            nested = {"type": "record", "name": name + "Rec",
                      "fields": [{"name": c, "type": ["null", "string"]} for c in compound[name]]}
            fields.append({"name": name, "type": ["null", nested]})
        else:
            fields.append({"name": name, "type": ["null", "string"]})
    return {"type": "record", "name": "X", "fields": fields}


# Account as Salesforce's worked example numbers it: BillingAddress at 4, LastModifiedDate at 22.
_ACCOUNT_NAMES = ["Name", "Type", "ParentId", "BillingAddress", *[f"F{i}" for i in range(5, 22)],
                  "LastModifiedDate"]
_ADDRESS = ["Street", "City", "State", "PostalCode", "Country", "Latitude", "Longitude",
            "GeocodeAccuracy"]


def test_decodes_the_documented_account_example() -> None:
    schema = _schema(*_ACCOUNT_NAMES, compound={"BillingAddress": _ADDRESS})
    assert decode_bitmap(schema, ["0x400000", "4-0x01"]) == [
        "LastModifiedDate", "BillingAddress.Street",
    ]


def test_decodes_a_nested_only_entry_and_accepts_schema_text() -> None:
    schema = _schema(*_ACCOUNT_NAMES, compound={"BillingAddress": _ADDRESS})
    assert decode_bitmap(json.dumps(schema), ["4-0x06"]) == [
        "BillingAddress.City", "BillingAddress.State",
    ]


def test_rejects_bits_past_the_schema() -> None:
    with pytest.raises(ValueError, match="beyond"):
        decode_bitmap(_schema("A", "B"), ["0x08"])


def test_rejects_a_nested_entry_on_a_plain_field() -> None:
    with pytest.raises(ValueError, match="not a compound"):
        decode_bitmap(_schema("A", "B"), ["1-0x01"])
