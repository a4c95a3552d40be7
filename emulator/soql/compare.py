"""How one stored value compares with one literal, and how values sort.

The rules are Salesforce's, not Python's: text compares case-insensitively unless the field
is case-sensitive, IDs match on their case-sensitive 15-character form (so the 15- and
18-character spellings of an ID are equal), ``!=`` and ``NOT IN`` keep rows whose value is
null, relative date literals are ranges, and picklists sort in their defined order.
Values reach this module already type-checked against the field (see :mod:`schema`).
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from emulator.catalog import NUMBER_TYPES, FieldDef, FieldType
from emulator.soql import dates
from emulator.soql.nodes import NullLit, RangeLit, StringLit, Value

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ID_TYPES = frozenset({FieldType.ID, FieldType.LOOKUP, FieldType.MASTER_DETAIL})


def is_null(value: Any) -> bool:
    """Salesforce stores no empty strings: an empty text value is a null."""
    return value is None or value == ""


def compare(value: Any, op: str, literal: Value, leaf: FieldDef, now: dt.datetime) -> bool:
    """Whether ``value`` (a stored value of ``leaf``) satisfies ``value op literal``.

    ``''`` is null to SOQL: Salesforce stores no empty strings, so ``Email = ''`` finds the
    records without an e-mail, as ``Email = null`` does.
    """
    if isinstance(literal, NullLit) and leaf.type is FieldType.CHECKBOX:
        # SOQL guide, "Use null in WHERE": on a boolean field null matches false.
        return _OPS[op](bool(value), False) if op in ("=", "!=") else False
    if isinstance(literal, NullLit) or (isinstance(literal, StringLit) and literal.value == ""
                                        and op in ("=", "!=")):
        return {"=": is_null(value), "!=": not is_null(value)}.get(op, False)
    if is_null(value):
        return op == "!="
    if isinstance(literal, StringLit) and op == "LIKE":
        return re.fullmatch(literal.like, str(value), re.IGNORECASE | re.DOTALL) is not None
    if isinstance(literal, RangeLit):
        return _in_range(value, op, literal, leaf, now)
    return _OPS[op](normalize(value, leaf), normalize(literal.value, leaf))


def normalize(value: Any, leaf: FieldDef) -> Any:
    """The form in which two values of ``leaf`` compare the way Salesforce compares them."""
    if leaf.type in _ID_TYPES:
        return str(value)[:15]
    if isinstance(value, str):
        return value if leaf.case_sensitive else value.casefold()
    if leaf.type in NUMBER_TYPES:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _in_range(value: Any, op: str, literal: RangeLit, leaf: FieldDef, now: dt.datetime) -> bool:
    """Compare with a date literal's ``[start, end)``: ``=`` inside, ``<`` before, ``>`` after."""
    days = dates.day_range(literal.name, literal.n, now)
    bounds: tuple[Any, Any] = days
    if leaf.type is FieldType.DATETIME:
        bounds = dates.datetime_range(days)
        value = normalize(value, leaf)
    start, end = bounds
    inside = bool(start <= value < end)
    results = {
        "=": inside,
        "!=": not inside,
        "<": value < start,
        "<=": value < end,
        ">": value >= end,
        ">=": value >= start,
    }
    return bool(results[op])


def sort_key(value: Any, leaf: FieldDef) -> Any:
    """Key for ORDER BY on non-null values: picklists by position, text case-insensitively."""
    if leaf.type is FieldType.PICKLIST:
        positions = {v.casefold(): i for i, v in enumerate(leaf.picklist_values)}
        folded = str(value).casefold()
        return (positions.get(folded, len(positions)), folded)
    if leaf.type in _ID_TYPES:
        return str(value)
    return normalize(value, leaf)
