"""Query planning: which rows a WHERE clause needs read, from the indexes a row source offers.

Salesforce answers a selective filter from an index instead of reading the table; so does
the emulator. The planner looks for filters on an indexed field of the FROM object itself:
``=`` and ``IN`` (equality keys), and ``LIKE 'prefix%'`` with an ASCII prefix. Under ``AND``
one such filter is enough (the smallest candidate set is taken); under ``OR`` every branch
needs one; ``NOT``, ``!=``, ranges and parent fields fall back to a scan.

Candidates are a superset of the matching rows, never a verdict: the evaluator still checks
the whole WHERE clause on each, with :func:`emulator.soql.compare.compare`. Whether a null
row can match a literal (``= null``, or ``= ''`` if the comparison says so) is asked of
``compare`` itself, so the plan follows the comparison rules wherever they change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Hashable, Sequence
from typing import Any, Protocol, runtime_checkable

from emulator.catalog import FieldDef
from emulator.soql.compare import compare
from emulator.soql.keys import NULL, equality_key, indexable_prefix
from emulator.soql.nodes import (
    And,
    Comparison,
    Condition,
    InList,
    Not,
    NullLit,
    Or,
    RangeLit,
    StringLit,
    Value,
)
from emulator.soql.schema import Plan

Record = dict[str, Any]


@runtime_checkable
class IndexedRows(Protocol):
    """A table that can answer lookups on some fields (see :class:`emulator.org.lookups`)."""

    def scan(self) -> list[Record]: ...

    def indexed(self, field_name: str) -> bool: ...

    def equal(self, field_name: str, keys: Collection[Hashable]) -> set[str]: ...

    def prefixed(self, field_name: str, folded_prefix: str) -> set[str]: ...

    def rows_for(self, ids: Collection[str]) -> list[Record]: ...


def candidate_rows(
    where: Condition | None, query_plan: Plan, source: IndexedRows, now: dt.datetime
) -> list[Record]:
    """The rows to check ``where`` on: from an index when one applies, else every row."""
    ids = None if where is None else _ids(where, query_plan, source, now)
    return source.scan() if ids is None else source.rows_for(ids)


def _ids(cond: Condition, query_plan: Plan, source: IndexedRows, now: dt.datetime
         ) -> set[str] | None:
    """Candidate IDs for ``cond``, or None when it cannot be answered from an index."""
    if isinstance(cond, And):
        found = [ids for c in cond.operands
                 if (ids := _ids(c, query_plan, source, now)) is not None]
        return min(found, key=len) if found else None
    if isinstance(cond, Or):
        union: set[str] = set()
        for operand in cond.operands:
            ids = _ids(operand, query_plan, source, now)
            if ids is None:
                return None
            union |= ids
        return union
    if isinstance(cond, Not):
        return None
    return _filter_ids(cond, query_plan, source, now)


def _filter_ids(node: Comparison | InList, query_plan: Plan, source: IndexedRows,
                now: dt.datetime) -> set[str] | None:
    bound = query_plan[node.field]
    leaf = bound.leaf
    if bound.hops or not source.indexed(leaf.name):
        return None
    if isinstance(node, InList):
        return None if node.negated else _equal_ids(leaf, node.values, source, now)
    if node.op == "=":
        return _equal_ids(leaf, (node.value,), source, now)
    if node.op == "LIKE" and isinstance(node.value, StringLit):
        return _like_ids(leaf, node.value, source, now)
    return None


def _equal_ids(leaf: FieldDef, literals: Sequence[Value], source: IndexedRows,
               now: dt.datetime) -> set[str] | None:
    keys: set[Hashable] = set()
    for literal in literals:
        if isinstance(literal, RangeLit):
            return None
        if _null_matches(literal, "=", leaf, now):
            keys.add(NULL)
        if isinstance(literal, NullLit):
            continue
        try:
            keys.add(equality_key(literal.value, leaf))
        except (ArithmeticError, ValueError, TypeError):
            return None
    return source.equal(leaf.name, keys)


def _like_ids(leaf: FieldDef, literal: StringLit, source: IndexedRows, now: dt.datetime
              ) -> set[str] | None:
    prefix = indexable_prefix(literal.like)
    if prefix is None:
        return None
    found = source.prefixed(leaf.name, prefix)
    if _null_matches(literal, "LIKE", leaf, now):
        found |= source.equal(leaf.name, (NULL,))
    return found


def _null_matches(literal: Value, op: str, leaf: FieldDef, now: dt.datetime) -> bool:
    """Whether a null (or empty) value passes ``op literal``, by the comparison's own rules."""
    return compare(None, op, literal, leaf, now) or compare("", op, literal, leaf, now)
