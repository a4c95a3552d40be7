"""Avro schemas for the org's topics, shaped the way Salesforce shapes them.

Platform events: ``CreatedDate`` (long, epoch ms) and ``CreatedById`` (string), then each custom
field as a nullable union with default null. Change events: a ``ChangeEventHeader`` record,
then every field of the object, nullable, with compound fields (Name, Address) as nested
records. Type mapping: text-like → string, DateTime → long (epoch ms), Date → long (epoch ms
at midnight UTC), Number/Currency/Percent → double, Checkbox → boolean.

Schema IDs are derived from the canonical schema text, so identical schemas always get the
same ID and any change gives a new one.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any

from emulator.catalog import NUMBER_TYPES, FieldDef, FieldType, ObjectDef, change_event_name

NAMESPACE = "com.sforce.eventbus"
CHANGE_TYPES = (
    "CREATE", "UPDATE", "DELETE", "UNDELETE",
    "GAP_CREATE", "GAP_UPDATE", "GAP_DELETE", "GAP_UNDELETE", "GAP_OVERFLOW",
)
# Fields that never appear in a change event body: the record ID travels in the header.
_NOT_IN_CHANGE_EVENTS = frozenset({"Id", "IsDeleted", "SystemModstamp"})
_COMPOUND_RECORD_NAMES = {"Name": "Switchable_PersonName", "Address": "Address"}

JsonSchema = dict[str, Any]


def avro_type(field: FieldDef) -> str:
    """The Avro primitive that carries a Salesforce field of this type."""
    if field.type is FieldType.CHECKBOX:
        return "boolean"
    if field.type in NUMBER_TYPES:
        return "double"
    if field.type in (FieldType.DATE, FieldType.DATETIME):
        return "long"
    return "string"


def _nullable(name: str, avro: str | JsonSchema, doc: str) -> JsonSchema:
    return {"name": name, "type": ["null", avro], "doc": doc, "default": None}


def _doc(field: FieldDef) -> str:
    return f"Data:{field.type.value}"


def platform_event_schema(obj: ObjectDef) -> JsonSchema:
    """The schema of a platform event's payload."""
    fields: list[JsonSchema] = [
        {"name": "CreatedDate", "type": "long", "doc": "CreatedDate:DateTime"},
        {"name": "CreatedById", "type": "string", "doc": "CreatedBy:EntityId"},
    ]
    for f in obj.fields:
        if f.name not in ("CreatedDate", "CreatedById"):
            fields.append(_nullable(f.name, avro_type(f), _doc(f)))
    return {"type": "record", "name": obj.name, "namespace": NAMESPACE, "fields": fields}


def change_event_header_schema() -> JsonSchema:
    """The ``ChangeEventHeader`` record every change event starts with."""
    strings = {"type": "array", "items": "string"}
    return {
        "type": "record",
        "name": "ChangeEventHeader",
        "namespace": NAMESPACE,
        "fields": [
            {"name": "entityName", "type": "string"},
            {"name": "recordIds", "type": strings},
            {
                "name": "changeType",
                "type": {"type": "enum", "name": "ChangeType", "namespace": NAMESPACE,
                         "symbols": list(CHANGE_TYPES)},
            },
            {"name": "changeOrigin", "type": "string"},
            {"name": "transactionKey", "type": "string"},
            {"name": "sequenceNumber", "type": "int"},
            {"name": "commitTimestamp", "type": "long"},
            {"name": "commitNumber", "type": "long"},
            {"name": "commitUser", "type": "string"},
            {"name": "nulledFields", "type": strings},
            {"name": "diffFields", "type": strings},
            {"name": "changedFields", "type": strings},
        ],
    }


def change_event_layout(obj: ObjectDef) -> list[tuple[str, list[FieldDef]]]:
    """Top-level change-event fields in order, each with the object fields it carries.

    A plain field maps to itself; a compound field (``Name``) maps to its components. Index 0
    is the header (no object fields). Bitmap bit n refers to entry n of this list. Derived
    fields (a Lead's top-level ``Name``) are not in change events: their components are.
    """
    layout: list[tuple[str, list[FieldDef]]] = [("ChangeEventHeader", [])]
    by_name: dict[str, list[FieldDef]] = {}
    for f in obj.fields:
        if f.name in _NOT_IN_CHANGE_EVENTS or f.derived:
            continue
        if f.compound:
            if f.compound not in by_name:
                by_name[f.compound] = []
                layout.append((f.compound, by_name[f.compound]))
            by_name[f.compound].append(f)
        else:
            layout.append((f.name, [f]))
    return layout


def change_event_schema(obj: ObjectDef) -> JsonSchema:
    """The schema of ``<Object>ChangeEvent``."""
    fields: list[JsonSchema] = [
        {
            "name": "ChangeEventHeader",
            "type": change_event_header_schema(),
            "doc": "Data:EventHeader",
        }
    ]
    for name, members in change_event_layout(obj)[1:]:
        if len(members) == 1 and members[0].compound is None:
            fields.append(_nullable(name, avro_type(members[0]), _doc(members[0])))
            continue
        record = {
            "type": "record",
            "name": _COMPOUND_RECORD_NAMES.get(name, name),
            "namespace": NAMESPACE,
            "fields": [_nullable(m.name, avro_type(m), _doc(m)) for m in members],
        }
        fields.append(_nullable(name, record, "Data:Compound"))
    return {
        "type": "record",
        "name": change_event_name(obj.name),
        "namespace": NAMESPACE,
        "fields": fields,
    }


def canonical_json(schema: JsonSchema) -> str:
    """The schema text served by GetSchema: compact and key-sorted, so IDs are stable."""
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))


def schema_id(schema_json: str) -> str:
    """A 22-character ID derived from the schema text (Salesforce's IDs look like this)."""
    digest = hashlib.sha256(schema_json.encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def avro_value(field: FieldDef, value: Any) -> Any:
    """A stored field value as an event payload carries it (platform and change events alike):
    DateTime and Date as epoch milliseconds, numbers as doubles, checkboxes as booleans."""
    if value is None:
        return None
    if field.type is FieldType.DATETIME:
        return _epoch_ms_datetime(value)
    if field.type is FieldType.DATE:
        return _epoch_ms_date(value)
    if field.type is FieldType.CHECKBOX:
        return bool(value)
    if field.type in NUMBER_TYPES:
        return float(value)
    return str(value)


def _epoch_ms_datetime(value: Any) -> int:
    """DateTime as epoch milliseconds; a naive value is taken as UTC, as the store keeps UTC."""
    if isinstance(value, int):
        return value
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def _epoch_ms_date(value: Any) -> int:
    """Date as epoch milliseconds at midnight UTC, as Pub/Sub events carry dates."""
    if isinstance(value, int):
        return value
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).date()
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)
