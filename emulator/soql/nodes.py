"""The parsed form of a query: immutable, schema-free, positioned.

The parser knows nothing about the catalog, so names are kept exactly as written; the
evaluator resolves them. Every node that can be wrong against the schema keeps the offset
of its token so schema errors can point at it the way Salesforce does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class FieldRef:
    """A field as written: ``("Email",)`` or ``("ConvertedAccount", "Name")``."""

    path: tuple[str, ...]
    offset: int

    @property
    def text(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class StringLit:
    """A quoted string: ``value`` for equality, ``like`` a regex for LIKE (see lexer)."""

    value: str
    like: str
    offset: int


@dataclass(frozen=True)
class NumberLit:
    """An integer or decimal, kept exact so ``0.1`` compares as written."""

    value: Decimal
    offset: int


@dataclass(frozen=True)
class BoolLit:
    value: bool
    offset: int


@dataclass(frozen=True)
class NullLit:
    offset: int


@dataclass(frozen=True)
class DateLit:
    """An unquoted ``YYYY-MM-DD``; only Date fields accept it."""

    value: dt.date
    offset: int


@dataclass(frozen=True)
class DateTimeLit:
    """An unquoted dateTime with zone; only DateTime fields accept it. Always tz-aware."""

    value: dt.datetime
    offset: int


@dataclass(frozen=True)
class RangeLit:
    """A relative date literal (``TODAY``, ``LAST_N_DAYS:7``): a range resolved at run time."""

    name: str
    n: int | None
    offset: int


Value = StringLit | NumberLit | BoolLit | NullLit | DateLit | DateTimeLit | RangeLit


@dataclass(frozen=True)
class Comparison:
    """``field op value``; ``op`` is one of ``= != < <= > >= LIKE`` (``<>`` becomes ``!=``)."""

    field: FieldRef
    op: str
    value: Value


@dataclass(frozen=True)
class InList:
    """``field [NOT] IN (v, ...)``."""

    field: FieldRef
    values: tuple[Value, ...]
    negated: bool


@dataclass(frozen=True)
class Not:
    operand: Condition


@dataclass(frozen=True)
class And:
    operands: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Condition, ...]


Condition = Comparison | InList | Not | And | Or


@dataclass(frozen=True)
class OrderItem:
    """One ORDER BY key; ``nulls_first`` already holds Salesforce's default when omitted."""

    field: FieldRef
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class Query:
    """A whole SELECT. ``count`` is true for ``SELECT COUNT()`` (then ``fields`` is empty).

    ``source`` is the original text, kept so that schema errors raised later by the
    evaluator can quote it with a caret.
    """

    source: str
    fields: tuple[FieldRef, ...]
    count: bool
    sobject: str
    sobject_offset: int
    where: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None
