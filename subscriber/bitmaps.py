"""CDC ``changedFields`` / ``nulledFields`` / ``diffFields`` bitmaps → field names.

Each list holds hex bitmaps over the positions of the change event schema's fields:

- ``"0x…"``: bit n (least significant = 0) set means top-level field n;
- ``"{n}-0x…"``: bit k set means field k of the record inside compound field n, reported as
  ``Parent.Child`` (e.g. ``"4-0x01"`` → ``BillingAddress.Street``).

Hex may be upper or lower case. A list may hold only nested entries (no top-level bitmap), as
``nulledFields`` does when only compound sub-fields were nulled. A bit beyond the schema, or an
entry of any other shape, raises :class:`BitmapError`: the event was decoded with the wrong
schema, and guessing would name the wrong fields.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class BitmapError(ValueError):
    """A bitmap entry that does not fit the schema."""


@dataclass(frozen=True)
class FieldLayout:
    """Top-level field names in schema order, and the sub-field names of compound fields."""

    fields: tuple[str, ...]
    nested: dict[int, tuple[str, ...]]

    @classmethod
    def from_schema(cls, schema: dict[str, Any]) -> FieldLayout:
        """The layout of an Avro record schema (unions are unwrapped to their record branch)."""
        fields = tuple(f["name"] for f in schema.get("fields", ()))
        nested: dict[int, tuple[str, ...]] = {}
        named: dict[str, dict[str, Any]] = {}
        for index, f in enumerate(schema.get("fields", ())):
            record = _record_branch(f["type"], named)
            if record is not None:
                nested[index] = tuple(sub["name"] for sub in record["fields"])
        return cls(fields, nested)


def field_names(entries: Sequence[str], layout: FieldLayout) -> tuple[str, ...]:
    """The field names a bitmap list stands for, top-level fields first, in schema order."""
    top: list[str] = []
    nested: list[str] = []
    for entry in entries:
        parent, sep, bitmap = entry.partition("-")
        if not sep:
            top.extend(layout.fields[i] for i in _bits(entry, len(layout.fields), entry))
            continue
        index = _parent_index(parent, layout, entry)
        children = layout.nested[index]
        parent_name = layout.fields[index]
        nested.extend(f"{parent_name}.{children[k]}" for k in _bits(bitmap, len(children), entry))
    return tuple(top + nested)


def _parent_index(text: str, layout: FieldLayout, entry: str) -> int:
    if not text.isdigit():
        raise BitmapError(f"bitmap entry {entry!r}: parent index is not a number")
    index = int(text)
    if index not in layout.nested:
        raise BitmapError(f"bitmap entry {entry!r}: field {index} is not a compound field")
    return index


def _bits(text: str, width: int, entry: str) -> list[int]:
    """Indexes of the set bits of a ``0x…`` bitmap, lowest first; each must be < ``width``."""
    if text[:2].lower() != "0x":
        raise BitmapError(f"bitmap entry {entry!r} does not start with 0x")
    digits = text[2:]
    if not digits or not all(c in string.hexdigits for c in digits):
        raise BitmapError(f"bitmap entry {entry!r} is not hexadecimal")
    value = int(digits, 16)
    if value >> width:
        raise BitmapError(f"bitmap entry {entry!r} names a field beyond the {width} in the schema")
    return [i for i in range(value.bit_length()) if value >> i & 1]


def _record_branch(avro_type: Any, named: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The record inside a field type: itself, the record branch of a union, or a named
    reference to a record defined earlier (Salesforce reuses ``Address`` this way)."""
    branches = avro_type if isinstance(avro_type, list) else [avro_type]
    for branch in branches:
        if isinstance(branch, str) and branch in named:
            return named[branch]
        if isinstance(branch, dict) and branch.get("type") == "record":
            name, namespace = branch["name"], branch.get("namespace", "")
            named[name] = branch
            named[f"{namespace}.{name}" if namespace else name] = branch
            return branch
    return None
