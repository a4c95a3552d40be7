"""Every SOQL literal the daemon sends is escaped here, and nowhere else.

Values are quoted with Salesforce's escape sequences (``\\' \\" \\\\ \\n \\r \\t \\b \\f``; SOQL
reference, "Quoted String Escape Sequences"). ``LIKE`` patterns also escape ``%`` and ``_``.
:func:`in_queries` splits long ``IN`` lists so that every statement stays within the documented
limits (statement length, URI length once URL-encoded, 4,000 characters per literal), however
many or however odd the values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from handlers.limits import (
    SOQL_MAX_CHARS,
    SOQL_MAX_LITERAL_CHARS,
    URI_HEADER_ALLOWANCE_BYTES,
    URI_MAX_BYTES,
)

_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "\b": "\\b", "\f": "\\f"}
_LIKE_ESCAPES = {**_ESCAPES, "%": "\\%", "_": "\\_"}


class LiteralTooLong(ValueError):
    """A value longer than SOQL allows in one literal (callers validate lengths first)."""


def quote_literal(value: str) -> str:
    """``O'Brien`` → ``'O\\'Brien'``."""
    return "'" + _escape(value, _ESCAPES) + "'"


def like_literal(pattern_prefix: str, value: str, pattern_suffix: str) -> str:
    """A LIKE pattern with ``value`` matched literally between the given wildcards."""
    return "'" + pattern_prefix + _escape(value, _LIKE_ESCAPES) + pattern_suffix + "'"


def _escape(value: str, table: dict[str, str]) -> str:
    if len(value) > SOQL_MAX_LITERAL_CHARS:
        raise LiteralTooLong(f"a {len(value)}-character value exceeds SOQL's "
                             f"{SOQL_MAX_LITERAL_CHARS}-character literal limit")
    return "".join(table.get(ch, ch) for ch in value)


@dataclass(frozen=True)
class Condition:
    """One ``field IN (...)`` (or OR-ed ``field LIKE ...``) term over a list of values."""

    field: str
    values: tuple[str, ...]
    like: tuple[str, str] | None = None  # (prefix, suffix) wildcards; None: IN

    def render(self) -> str:
        if self.like is None:
            return f"{self.field} IN ({', '.join(quote_literal(v) for v in self.values)})"
        prefix, suffix = self.like
        return " OR ".join(f"{self.field} LIKE {like_literal(prefix, v, suffix)}"
                           for v in self.values)


def select_from(fields: Sequence[str], object_name: str) -> str:
    """``SELECT a, b FROM X`` from constant API names (never from values)."""
    return f"SELECT {', '.join(fields)} FROM {object_name}"


def render(select: str, conditions: Sequence[Condition], suffix: str = "") -> str:
    """``SELECT … FROM … WHERE (c1 OR c2 …) [AND suffix]`` with empty conditions dropped."""
    terms = [f"({c.render()})" for c in conditions if c.values]
    where = " OR ".join(terms)
    soql = f"{select} WHERE ({where})" if where else select
    return f"{soql} AND {suffix}" if suffix and where else soql


def query_url(api_path: str, soql: str) -> str:
    """The query resource URL (``/services/data/vXX.X/query?q=…``), as sent."""
    return f"{api_path}/query?q={quote(soql, safe='')}"


def fits(api_path: str, soql: str) -> bool:
    """True when the statement is within SOQL's length and its URL within the URI limit."""
    url_bytes = len(query_url(api_path, soql).encode())
    return len(soql) <= SOQL_MAX_CHARS and url_bytes <= URI_MAX_BYTES - URI_HEADER_ALLOWANCE_BYTES


def in_queries(api_path: str, select: str, conditions: Sequence[Condition], suffix: str = ""
               ) -> list[str]:
    """Statements that together cover every value of ``conditions``, each within the limits."""
    live = [c for c in conditions if c.values]
    if not live:
        return []
    soql = render(select, live, suffix)
    if fits(api_path, soql):
        return [soql]
    total = sum(len(c.values) for c in live)
    if total == 1:
        raise LiteralTooLong("one value alone makes the query exceed the URI limit")
    first, second = _halves(live, total // 2)
    return (in_queries(api_path, select, first, suffix)
            + in_queries(api_path, select, second, suffix))


def _halves(conditions: Sequence[Condition], cut: int) -> tuple[list[Condition], list[Condition]]:
    first: list[Condition] = []
    second: list[Condition] = []
    seen = 0
    for c in conditions:
        take = max(0, min(len(c.values), cut - seen))
        seen += len(c.values)
        first.append(Condition(c.field, c.values[:take], c.like))
        second.append(Condition(c.field, c.values[take:], c.like))
    return first, second


def datetime_literal(at: dt.datetime) -> str:
    """A SOQL dateTime literal (``2026-11-30T09:00:00Z``, unquoted) from an aware datetime."""
    if at.tzinfo is None:
        raise ValueError("a SOQL dateTime literal needs an aware datetime")
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def date_literal(day: dt.date) -> str:
    """A SOQL date literal (``2026-11-30``, unquoted)."""
    return day.isoformat()
