"""Salesforce's checks on a client's field values, in the two stages Salesforce has.

1. Deserialization (:func:`parse_body`): an unknown field is ``INVALID_FIELD`` and a value of
   the wrong JSON type is ``JSON_PARSER_ERROR``. Both refuse the whole request (HTTP 400), even
   in sObject Collections, because the body never becomes records.
2. Record rules (:func:`field_errors`, :func:`missing_required`): read-only fields, lengths,
   e-mail syntax, restricted picklists, numeric range, required fields. These fail one record
   (``DmlError``); messages follow Salesforce's ``<label>: <reason>: <value>`` layout.

Rules that need other records (lookups, uniqueness, converted leads) are in :mod:`dml`.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from emulator.catalog import NUMBER_TYPES, FieldDef, FieldType, ObjectDef
from emulator.org.errors import ApiError, ErrorItem, no_such_column
from emulator.org.values import as_float, from_json, java_double

# Help 000001145 and 000384328: the local part takes letters, digits and
# !#$%&'*/=?^_+-`{|}~ and dots (not first; '..' allowed in the middle and at the end); the domain
# takes letters, digits, '-' and dots. Internationalised addresses (EAI) need an org setting.
# Comments, "denoted by matched parentheses", are allowed in the local and the domain part and
# ignored: john.doe@(comment)example.com is john.doe@example.com. As RFC 2822's CFWS, a comment
# (with the blanks around it) may open or close either part.
_LOCAL = r"[A-Za-z0-9!#$%&'*/=?^_+\-`{|}~][A-Za-z0-9!#$%&'*/=?^_+\-`{|}~.]*"
_DOMAIN = r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_COMMENT = "\x00"  # stands for one comment once its text is set aside
_CFWS = rf"(?:[ \t]*{_COMMENT}[ \t]*)*"
_EMAIL = re.compile(rf"{_CFWS}({_LOCAL}){_CFWS}@{_CFWS}({_DOMAIN}){_CFWS}")
_INNERMOST_COMMENT = re.compile(r"\([^()]*\)")
_TEXT_TYPES = frozenset({
    FieldType.TEXT, FieldType.TEXT_AREA, FieldType.LONG_TEXT_AREA, FieldType.EMAIL,
    FieldType.PHONE, FieldType.URL, FieldType.PICKLIST,
})
_UNWRITABLE = (
    "Unable to create/update fields: {names}. Please check the security settings of this field "
    "and verify that it is read/write for your profile or permission set."
)


def parse_body(obj: ObjectDef, body: Any) -> dict[str, Any]:
    """Client JSON → ``{canonical field name: Python value}``; raises ApiError 400 (stage 1).

    ``attributes`` is ignored, as Salesforce ignores it in record bodies.
    """
    if not isinstance(body, dict):
        raise ApiError(
            400, "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {obj.name} from {_token_name(body)} value",
        )
    values: dict[str, Any] = {}
    for key, raw in body.items():
        if key == "attributes":
            continue
        field = obj.field(str(key))
        if field is None:
            raise no_such_column(obj, str(key))
        values[field.name] = from_json(field, raw)
    return values


def _token_name(body: Any) -> str:
    return "START_ARRAY" if isinstance(body, list) else "VALUE_STRING"


def unwritable(obj: ObjectDef, values: dict[str, Any]) -> ErrorItem | None:
    """INVALID_FIELD_FOR_INSERT_UPDATE for every system field the client tried to set."""
    names = [n for n in values if (f := obj.field(n)) is not None and f.system and n != "Id"]
    if not names:
        return None
    return ErrorItem("INVALID_FIELD_FOR_INSERT_UPDATE", _UNWRITABLE.format(names=", ".join(names)),
                     tuple(names))


def field_errors(obj: ObjectDef, values: dict[str, Any]) -> list[ErrorItem]:
    """Per-value rule violations, in field order; normalises numbers and e-mail addresses
    (comments dropped) in ``values`` in place."""
    errors: list[ErrorItem] = []
    for field in obj.fields:
        if field.name not in values or values[field.name] is None:
            continue
        if field.type in NUMBER_TYPES:
            values[field.name], error = _checked_number(field, values[field.name])
        elif field.type is FieldType.EMAIL and (address := email_address(values[field.name])):
            values[field.name] = address
            error = _value_error(obj, field, address)
        else:
            error = _value_error(obj, field, values[field.name])
        if error is not None:
            errors.append(error)
    return errors


def _value_error(obj: ObjectDef, field: FieldDef, value: Any) -> ErrorItem | None:
    label = field.label or field.name
    where = (field.name,)
    if field.type in _TEXT_TYPES and field.length and len(str(value)) > field.length:
        reason = f"data value too large: {value} (max length={field.length})"
        return ErrorItem("STRING_TOO_LONG", f"{label}: {reason}", where)
    if field.type is FieldType.EMAIL and email_address(value) is None:
        return ErrorItem("INVALID_EMAIL_ADDRESS", f"{label}: invalid email address: {value}", where)
    if field.type is FieldType.PICKLIST and is_restricted(obj, field) \
            and value not in field.picklist_values:
        return ErrorItem("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                         f"{label}: bad value for restricted picklist field: {value}", where)
    return None


def email_address(value: Any) -> str | None:
    """The address without its comments, or None when Salesforce refuses it.

    Stored without comments: stackexchange 41361 reports an address saved through the API
    (Apex DML) losing its parenthesised part; what REST stores is the emulator's guess.
    """
    text = str(value)
    if _COMMENT in text:
        return None
    while (shorter := _INNERMOST_COMMENT.sub(_COMMENT, text)) != text:
        text = shorter
    match = _EMAIL.fullmatch(text)
    return f"{match.group(1)}@{match.group(2)}" if match else None


def is_restricted(obj: ObjectDef, field: FieldDef) -> bool:
    """Whether only the defined values are allowed (from the metadata's ``restricted``)."""
    return field.restricted


def _checked_number(field: FieldDef, value: Any) -> tuple[Any, ErrorItem | None]:
    """The value rounded to the field's scale, or NUMBER_OUTSIDE_VALID_RANGE.

    Out of range: more whole digits than the field's precision allows (before or after
    rounding), or beyond a double altogether (``1e400`` parses as infinity).
    """
    rounded = _rounded(field, value) if _fits(field, value) else None
    if rounded is not None and _fits(field, rounded):
        return rounded, None
    shown = java_double(as_float(value))
    message = f"{field.label or field.name}: value outside of valid range on numeric field: {shown}"
    return value, ErrorItem("NUMBER_OUTSIDE_VALID_RANGE", message, (field.name,))


def _rounded(field: FieldDef, value: Any) -> float | int | None:
    """Salesforce rounds half up to the field's scale before storing; whole numbers are ints."""
    if field.scale is None:
        return as_float(value)
    step = Decimal(1).scaleb(-field.scale)
    try:
        exact = Decimal(repr(as_float(value))).quantize(step, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than any field holds
        return None
    return int(exact) if field.is_integer else float(exact)


def _fits(field: FieldDef, value: Any) -> bool:
    number = as_float(value)
    if not math.isfinite(number):
        return False
    if field.precision is None:
        return True
    whole_digits = field.precision - (field.scale or 0)
    return abs(number) < 10.0**whole_digits


def missing_required(obj: ObjectDef, record: dict[str, Any]) -> ErrorItem | None:
    """REQUIRED_FIELD_MISSING listing every empty required field of ``record``."""
    names = [f.name for f in obj.fields if f.required and record.get(f.name) in (None, "")]
    if not names:
        return None
    return ErrorItem("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(names)}]",
                     tuple(names))
