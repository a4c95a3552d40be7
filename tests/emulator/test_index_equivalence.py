"""Indexed lookups give exactly what a full scan gives (rows and their order), whatever the data.

Hypothesis draws rows whose text collides under Salesforce's and Python's case rules (ß/SS,
the Kelvin sign, dotless i, long s, ''), lookups whose IDs differ only in case or length,
committed rows overlaid by a transaction's inserts, updates, deletes and partial rollbacks,
and WHERE clauses mixing =, IN, LIKE, !=, NOT IN, AND, OR, NOT and null. Each query runs
twice in the same transaction: through the store's indexes (``tx.table``) and the reference
way (the plain list of rows, every ``IN`` value compared), and the two answers (or errors)
must be equal; ``find`` likewise against a plain filter.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.ids import to18
from emulator.org.records import RecordStore, RecordTransaction
from emulator.schema import build_catalog
from emulator.soql import SoqlError, execute, parse
from emulator.soql.evaluate import _Run

CATALOG = build_catalog()
NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
USER = "0058d0000000009AAA"
OWNERS = (to18("005A00000000001"), to18("005a00000000001"), to18("005A00000000002"))
TRICKY = "aAbkKsS\u212a\u017f\u0130\u0131iI\u00df\u00e9\u00c9 %_'\\"
TEXT = st.text(alphabet=TRICKY, max_size=4)
MAYBE_TEXT = st.none() | TEXT
EMAIL = st.builds(lambda a, b: f"{a}@{b}.com", st.text("aAbBkK\u212a\u017fs", min_size=1,
                                                        max_size=3), st.sampled_from("xX"))
LEAD = st.fixed_dictionaries({
    "LastName": TEXT, "FirstName": MAYBE_TEXT, "Company": TEXT, "Title": MAYBE_TEXT,
    "Email": st.none() | EMAIL, "Workspace_ID__c": MAYBE_TEXT,
    "OwnerId": st.sampled_from(OWNERS),
})
CHANGES = st.fixed_dictionaries({}, optional={
    "LastName": TEXT, "Email": st.none() | EMAIL, "Workspace_ID__c": MAYBE_TEXT,
    "OwnerId": st.sampled_from(OWNERS), "Title": MAYBE_TEXT,
})
# Indexed fields come up more often than the others: those are the ones under test.
FIELDS = ("Email", "Email", "Name", "Workspace_ID__c", "Workspace_ID__c", "Id", "OwnerId",
          "LastName", "Title")
STEP = st.one_of(
    st.tuples(st.just("insert"), LEAD),
    st.tuples(st.just("update"), st.integers(0, 40), CHANGES),
    st.tuples(st.just("delete"), st.integers(0, 40)),
    st.tuples(st.just("savepoint")),
    st.tuples(st.just("rollback")),
)


def quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def id_literals(ids: list[str]) -> st.SearchStrategy[str]:
    """IDs as written: exact, 15 characters, other case, unknown, malformed."""
    known = st.sampled_from(ids) if ids else st.just(OWNERS[0])
    spelled = st.one_of(known, known.map(lambda i: i[:15]), known.map(str.lower),
                        known.map(str.upper), st.sampled_from(OWNERS), st.just("abc"))
    return spelled.map(quote)


def texts_in(rows: list[dict[str, Any]]) -> st.SearchStrategy[str]:
    """Text the data holds, as written or with its case changed, or any text at all."""
    pool = sorted({v for row in rows for v in row.values() if isinstance(v, str)})
    if not pool:
        return TEXT
    held = st.sampled_from(pool)
    return st.one_of(held, held.map(str.upper), held.map(str.lower), held.map(str.swapcase),
                     TEXT)


def like_patterns(texts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Mostly a prefix of stored text then ``%``; sometimes wildcards anywhere."""
    prefixes = st.builds(lambda t, n, tail: t[:n] + tail, texts, st.integers(0, 4),
                         st.sampled_from(["%", "_%", "", "%a"]))
    return st.one_of(prefixes, TEXT)


@st.composite
def condition(draw: st.DrawFn, ids: list[str], texts: st.SearchStrategy[str],
              depth: int = 0) -> str:
    if depth < 2 and draw(st.integers(0, 3)) == 0:
        left = draw(condition(ids, texts, depth + 1))
        right = draw(condition(ids, texts, depth + 1))
        return draw(st.sampled_from([f"({left} AND {right})", f"({left} OR {right})",
                                     f"(NOT {left})"]))
    field = draw(st.sampled_from(FIELDS))
    text_literal = id_literals(ids) if field in ("Id", "OwnerId") else texts.map(quote)
    literal = st.one_of(text_literal, st.just("null"))
    op = draw(st.sampled_from(["=", "!=", "IN", "NOT IN", "LIKE"]))
    if op in ("IN", "NOT IN"):
        values = draw(st.lists(literal, min_size=1, max_size=4))
        return f"{field} {op} ({', '.join(values)})"
    if op == "LIKE":
        return f"{field} LIKE {quote(draw(like_patterns(texts)))}"
    return f"{field} {op} {draw(literal)}"


def run(tx: RecordTransaction, soql: str, indexed: bool, include_deleted: bool) -> Any:
    """The query's answer, or its error code: through the indexes, or the reference way (every
    row read, every row compared with every ``IN`` value)."""
    every_value = patch.object(_Run, "_relevant", lambda self, node, leaf, value: node.values)
    try:
        query = parse(soql)
        if indexed:
            result = execute(query, CATALOG, tx.table("Lead"), now=NOW,
                             include_deleted=include_deleted, resolve=resolver(tx))
        else:
            with every_value:
                result = execute(query, CATALOG, tx.rows("Lead"), now=NOW,
                                 include_deleted=include_deleted, resolve=resolver(tx))
    except SoqlError as exc:
        return ("error", exc.error_code, exc.message)
    return result


def resolver(tx: RecordTransaction) -> Any:
    return lambda name, rid: tx.get(name, rid, include_deleted=True)


def scanned_find(tx: RecordTransaction, field: str, value: Any) -> list[str]:
    """``find`` as it was before indexes: every live row, folded comparison."""
    def fold(v: Any) -> Any:
        return v.casefold() if isinstance(v, str) else v
    return [r["Id"] for r in tx.rows("Lead") if not r["IsDeleted"] and value is not None
            and fold(r.get(field)) == fold(value)]


def apply_step(tx: RecordTransaction, step: tuple[Any, ...], ids: list[str],
               savepoints: list[Any]) -> None:
    kind = step[0]
    if kind == "insert":
        ids.append(tx.insert("Lead", step[1]))
    elif kind in ("update", "delete") and ids:
        target = ids[step[1] % len(ids)]
        if tx.get("Lead", target) is None:
            return
        if kind == "update":
            tx.update("Lead", target, step[2])
        else:
            tx.delete("Lead", target)
    elif kind == "savepoint":
        savepoints.append(tx.savepoint())
    elif kind == "rollback" and savepoints:
        tx.rollback_to(savepoints.pop())


def check_equivalent(tx: RecordTransaction, queries: list[str], finds: list[tuple[str, Any]]
                     ) -> None:
    for soql in queries:
        for include_deleted in (False, True):
            indexed = run(tx, soql, True, include_deleted)
            assert indexed == run(tx, soql, False, include_deleted), soql
    for field, value in finds:
        assert [r["Id"] for r in tx.find("Lead", field, value)] == scanned_find(tx, field, value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), base=st.lists(LEAD, max_size=12), steps=st.lists(STEP, max_size=12),
       commit=st.booleans())
def test_indexed_queries_equal_a_scan(data: st.DataObject, base: list[dict[str, Any]],
                                      steps: list[tuple[Any, ...]], commit: bool) -> None:
    store = RecordStore(Path(":memory:"), CATALOG)
    with store.transaction(USER) as tx:
        ids = [tx.insert("Lead", values) for values in base]
    texts = texts_in(base + [s[-1] for s in steps if s[0] in ("insert", "update")])
    soql = st.builds(lambda c, limit: f"SELECT Id, Email, Name FROM Lead WHERE {c}{limit}",
                     condition(ids, texts), st.sampled_from(["", " LIMIT 2"]))
    queries = data.draw(st.lists(soql, min_size=1, max_size=4))
    finds = data.draw(st.lists(st.tuples(st.sampled_from(["Email", "Workspace_ID__c"]),
                                         st.none() | texts), max_size=3))
    with store.transaction(USER) as tx:
        savepoints: list[Any] = []
        for step in steps:
            apply_step(tx, step, ids, savepoints)
            check_equivalent(tx, queries[:2], finds[:1])
        check_equivalent(tx, queries, finds)
        if not commit:
            tx.rollback_only()
    with store.transaction(USER) as tx:
        check_equivalent(tx, queries, finds)
    store.close()
