"""Field values at the org's edges: client JSON in, Salesforce JSON out, SQLite storage.

Inside the org a value is a plain Python value of the field's type (str, bool, float or, for a
whole-number field, int, ``date``, UTC-aware ``datetime``, or None), the same values
:class:`~emulator.org.changes.RecordChange` and the SOQL engine use. Parsing a client value
fails the way Salesforce's JSON deserializer fails (``JSON_PARSER_ERROR``), before any record
rule runs.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from typing import Any

from emulator.catalog import NUMBER_TYPES, STRING_TYPES, FieldDef, FieldType
from emulator.org.errors import json_parser_error

_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?"
)
# A number written as a JSON string: plain decimal notation only (no "NaN", "inf", "1_000").
_NUMERIC_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_TYPE_WORDS = {
    FieldType.CHECKBOX: "boolean",
    FieldType.DATE: "date",
    FieldType.DATETIME: "datetime",
}


def format_datetime(moment: dt.datetime) -> str:
    """Salesforce's dateTime form: milliseconds and an offset without a colon."""
    utc = moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def to_json(value: Any) -> Any:
    """A stored value as Salesforce writes it in JSON responses."""
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def parse_datetime(text: str) -> dt.datetime | None:
    """An ISO 8601 dateTime (zone optional, UTC assumed) or a bare date, as UTC; else None."""
    match = _DATETIME.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = dt.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0),
            int(second or 0), int((fraction or "0").ljust(6, "0")[:6]), tzinfo=dt.UTC,
        )
    except ValueError:
        return None
    return moment - _offset(zone)


def _offset(zone: str | None) -> dt.timedelta:
    if not zone or zone == "Z":
        return dt.timedelta(0)
    digits = zone[1:].replace(":", "")
    delta = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return delta if zone[0] == "+" else -delta


def from_json(field: FieldDef, raw: Any) -> Any:
    """The client's JSON value for ``field`` as a Python value; JSON_PARSER_ERROR if it can't be."""
    if raw is None:
        return None
    if isinstance(raw, dict | list):
        raise _cannot(field, raw)
    if field.type in STRING_TYPES:
        if isinstance(raw, bool):
            return "true" if raw else "false"
        text = str(raw)
        if field.type is FieldType.EMAIL:
            text = text.lower()  # Help 000384328: "Addresses are stored as lower case"
        return text if text != "" else None
    if field.type in NUMBER_TYPES:
        return _number(field, raw)
    if field.type is FieldType.CHECKBOX:
        return _boolean(field, raw)
    if field.type is FieldType.DATE:
        moment = parse_datetime(raw) if isinstance(raw, str) else None
        if moment is None:
            raise _cannot(field, raw)
        return dt.date.fromisoformat(raw.strip()[:10])
    moment = parse_datetime(raw) if isinstance(raw, str) else None
    if moment is None:
        raise _cannot(field, raw)
    return moment


def _number(field: FieldDef, raw: Any) -> float:
    """A number as a float; too large for a double is infinity, refused later as out of range."""
    if isinstance(raw, int | float) and not isinstance(raw, bool) and not _is_nan(raw):
        return as_float(raw)
    if isinstance(raw, str) and _NUMERIC_TEXT.fullmatch(raw.strip()):
        return float(raw.strip())
    raise _cannot(field, raw)


def _is_nan(value: float) -> bool:
    return isinstance(value, float) and math.isnan(value)


def as_float(value: Any) -> float:
    """``float(value)``, with integers beyond a double's range as signed infinity."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def java_double(value: float) -> str:
    """A double as Java prints it (Salesforce's messages do): ``1.0E30``, ``12.5``, ``Infinity``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(value)
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    shown = "".join(map(str, digits))
    mantissa = f"{shown[0]}.{shown[1:] or '0'}"
    return f"{'-' if sign else ''}{mantissa}E{exponent + len(digits) - 1}"


def _boolean(field: FieldDef, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    raise _cannot(field, raw)


def _cannot(field: FieldDef, raw: Any) -> Exception:
    """Salesforce's deserializer message (minus the line/column it adds)."""
    word = "double" if field.type in NUMBER_TYPES else _TYPE_WORDS.get(field.type, "string")
    token, shown = _token(raw)
    return json_parser_error(
        f"Cannot deserialize instance of {word} from {token} value {shown} "
        "or request may be missing a required field"
    )


def _token(raw: Any) -> tuple[str, str]:
    if isinstance(raw, bool):
        return ("VALUE_TRUE" if raw else "VALUE_FALSE"), str(raw).lower()
    if isinstance(raw, int):
        return "VALUE_NUMBER_INT", str(raw)
    if isinstance(raw, float):
        return "VALUE_NUMBER_FLOAT", str(raw)
    if isinstance(raw, dict):
        return "START_OBJECT", "{"
    if isinstance(raw, list):
        return "START_ARRAY", "["
    return "VALUE_STRING", str(raw)


def to_storage(field: FieldDef, value: Any) -> Any:
    """A JSON-safe form for SQLite; :func:`from_storage` reverses it using the field's type."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def from_storage(field: FieldDef, raw: Any) -> Any:
    if raw is None:
        return None
    if field.type is FieldType.DATETIME:
        return dt.datetime.fromisoformat(raw)
    if field.type is FieldType.DATE:
        return dt.date.fromisoformat(raw)
    if field.type in NUMBER_TYPES:
        return int(raw) if field.is_integer else float(raw)
    return raw
