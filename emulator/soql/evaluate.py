"""Run a parsed query over stored rows: filter, order, page and shape the records.

The evaluator works on whatever rows the store hands it (one object's records) and asks the
caller for parent records through ``resolve``, so it stays free of storage and HTTP. What it
returns is plain Python values; the REST layer adds ``attributes`` and formats dates.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from emulator.catalog import Catalog, FieldDef
from emulator.soql.access import IndexedRows, candidate_rows
from emulator.soql.compare import compare, is_null, sort_key
from emulator.soql.keys import NULL, equality_key
from emulator.soql.nodes import (
    And,
    Comparison,
    Condition,
    InList,
    Not,
    NullLit,
    Or,
    Query,
    RangeLit,
    Value,
)
from emulator.soql.schema import Bound, Plan, plan

Record = dict[str, Any]
_LiteralTable = tuple[dict[Hashable, tuple[Value, ...]], tuple[Value, ...]]
Resolver = Callable[[str, str], Record | None]


class _Missing(enum.Enum):
    """A parent that does not exist, as opposed to a field that is null."""

    PARENT = 0


@dataclass
class QueryResult:
    """What a query returns: ``total_size`` counts the rows after OFFSET and LIMIT.

    For ``SELECT COUNT()`` ``is_count`` is true and ``records`` is empty; ``total_size`` is the
    count. Relationship fields are nested: ``{"ConvertedAccount": {"Name": ...}}``, or
    ``{"ConvertedAccount": None}`` when the row has no parent.
    """

    total_size: int
    is_count: bool
    records: list[Record] = field(default_factory=list)


def execute(
    query: Query,
    catalog: Catalog,
    rows: Iterable[Record] | IndexedRows,
    *,
    now: dt.datetime,
    resolve: Resolver | None = None,
    include_deleted: bool = False,
) -> QueryResult:
    """Validate ``query`` against ``catalog`` and run it over ``rows`` (its FROM object's).

    Raises :class:`~emulator.soql.errors.SoqlError` (INVALID_TYPE, INVALID_FIELD) before reading
    any row. ``now`` (UTC) anchors date literals such as TODAY. Rows with ``IsDeleted`` are
    skipped unless ``include_deleted`` (queryAll). When ``rows`` offers indexes
    (:class:`~emulator.soql.access.IndexedRows`), only the rows an index names are read.
    """
    query_plan = plan(query, catalog)
    run = _Run(query_plan, resolve, now)
    if isinstance(rows, IndexedRows):
        rows = candidate_rows(query.where, query_plan, rows, now)
    live = (r for r in rows if include_deleted or not r.get("IsDeleted"))
    matched = [r for r in live if query.where is None or run.matches(query.where, r)]
    if query.order_by:
        matched = run.ordered(query, matched)
    start = query.offset or 0
    end = None if query.limit is None else start + query.limit
    page = matched[start:end]
    if query.count:
        return QueryResult(len(page), True, [])
    return QueryResult(len(page), False, [run.project(query, r) for r in page])


class _Run:
    """One execution: the plan, the parent resolver (memoised per query) and the clock."""

    def __init__(self, query_plan: Plan, resolve: Resolver | None, now: dt.datetime) -> None:
        self.plan = query_plan
        self.resolve = resolve
        self.now = now
        self._parents: dict[tuple[str, str], Record | None] = {}
        self._in_lists: dict[int, _LiteralTable] = {}

    def parent(self, obj: str, record_id: Any) -> Record | None:
        """The live parent record, or None when unset, unknown or deleted."""
        if is_null(record_id) or self.resolve is None:
            return None
        key = (obj, str(record_id))
        if key not in self._parents:
            found = self.resolve(obj, str(record_id))
            self._parents[key] = None if found is None or found.get("IsDeleted") else found
        return self._parents[key]

    def value(self, bound: Bound, row: Record) -> Any:
        """The field's value on ``row`` or its parents; ``_Missing.PARENT`` if one is absent."""
        record = row
        for hop in bound.hops:
            parent = self.parent(hop.parent, record.get(hop.via.name))
            if parent is None:
                return _Missing.PARENT
            record = parent
        return record.get(bound.leaf.name)

    def matches(self, condition: Condition, row: Record) -> bool:
        if isinstance(condition, And):
            return all(self.matches(c, row) for c in condition.operands)
        if isinstance(condition, Or):
            return any(self.matches(c, row) for c in condition.operands)
        if isinstance(condition, Not):
            return not self.matches(condition.operand, row)
        return self.test(condition, row)

    def test(self, node: Comparison | InList, row: Record) -> bool:
        """One filter. A missing parent passes only a test for null, as on Salesforce."""
        bound = self.plan[node.field]
        value = self.value(bound, row)
        literals = node.values if isinstance(node, InList) else (node.value,)
        if value is _Missing.PARENT:
            if not any(isinstance(v, NullLit) for v in literals):
                return False
            value = None
        if isinstance(node, Comparison):
            return compare(value, node.op, node.value, bound.leaf, self.now)
        relevant = self._relevant(node, bound.leaf, value)
        found = any(compare(value, "=", v, bound.leaf, self.now) for v in relevant)
        return found != node.negated

    def _relevant(self, node: InList, leaf: FieldDef, value: Any) -> Sequence[Value]:
        """The literals of ``node`` that can equal ``value``: those sharing its equality key
        and those without one (null, '', date ranges).

        Keeps ``IN`` with 200 values from comparing each row with every value.
        """
        table = self._in_lists.get(id(node))
        if table is None:
            table = self._in_lists[id(node)] = _literal_table(node, leaf)
        keyed, unkeyed = table
        try:
            key = equality_key(value, leaf)
        except (ArithmeticError, ValueError, TypeError):
            return node.values
        return keyed.get(key, ()) + unkeyed  # a null value's key is in no group: unkeyed only

    def ordered(self, query: Query, rows: list[Record]) -> list[Record]:
        """Rows sorted by ORDER BY; nulls (and missing parents) go where NULLS says."""
        keys = {id(row): self._order_values(query, row) for row in rows}

        def by_keys(left: Record, right: Record) -> int:
            return _compare_keys(query, keys[id(left)], keys[id(right)])

        return sorted(rows, key=functools.cmp_to_key(by_keys))

    def _order_values(self, query: Query, row: Record) -> list[Any]:
        values = []
        for item in query.order_by:
            bound = self.plan[item.field]
            value = self.value(bound, row)
            null = value is _Missing.PARENT or is_null(value)
            values.append(None if null else sort_key(value, bound.leaf))
        return values

    def project(self, query: Query, row: Record) -> Record:
        """The selected fields, canonically named, relationship fields nested."""
        out: Record = {}
        for ref in query.fields:
            self._place(out, self.plan[ref], row)
        return out

    def _place(self, out: Record, bound: Bound, row: Record) -> None:
        """Write one selected field into ``out``; a missing parent becomes ``{"Rel": None}``."""
        target, record = out, row
        for hop in bound.hops:
            parent = self.parent(hop.parent, record.get(hop.via.name))
            if parent is None:
                target[hop.key] = None
                return
            target, record = target.setdefault(hop.key, {}), parent
        target[bound.leaf.name] = record.get(bound.leaf.name)


def _literal_table(node: InList, leaf: FieldDef) -> _LiteralTable:
    """``node``'s literals grouped by equality key, and the ones that have no key."""
    keyed: dict[Hashable, tuple[Value, ...]] = {}
    unkeyed: list[Value] = []
    for literal in node.values:
        if isinstance(literal, NullLit | RangeLit):
            unkeyed.append(literal)
            continue
        try:
            key = equality_key(literal.value, leaf)
        except (ArithmeticError, ValueError, TypeError):
            key = NULL
        if key is NULL:
            unkeyed.append(literal)
        else:
            keyed[key] = (*keyed.get(key, ()), literal)
    return keyed, tuple(unkeyed)


def _compare_keys(query: Query, left: list[Any], right: list[Any]) -> int:
    """-1/0/1 over the ORDER BY keys, honouring each key's direction and NULLS placement."""
    for item, a, b in zip(query.order_by, left, right, strict=True):
        if a is None or b is None:
            if a is None and b is None:
                continue
            return -1 if (a is None) == item.nulls_first else 1
        if a == b:
            continue
        result = -1 if a < b else 1
        return -result if item.descending else result
    return 0
