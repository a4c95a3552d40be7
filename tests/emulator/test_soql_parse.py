"""Parser tests: the grammar, string escapes and Salesforce's MALFORMED_QUERY layout.

These need no catalog: everything here is decided before the schema is consulted.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from emulator.soql import SoqlError, parse
from emulator.soql.nodes import (
    And,
    BoolLit,
    Comparison,
    DateLit,
    DateTimeLit,
    FieldRef,
    InList,
    Not,
    NullLit,
    NumberLit,
    Or,
    OrderItem,
    RangeLit,
    StringLit,
)

A = FieldRef(("A",), 26)  # the field of "SELECT Id FROM Lead WHERE A ..."


def where_of(clause: str) -> object:
    query = parse(f"SELECT Id FROM Lead WHERE {clause}")
    return query.where


def string_value(literal: str) -> str:
    """The decoded equality value of a quoted literal written in SOQL."""
    comparison = where_of(f"Name = {literal}")
    assert isinstance(comparison, Comparison)
    assert isinstance(comparison.value, StringLit)
    return comparison.value.value


def test_full_query_shape() -> None:
    query = parse(
        "select Id, ConvertedAccount.Name from Lead where Email = 'a' "
        "order by CreatedDate desc, LastName nulls last limit 10 offset 20"
    )
    assert query.fields == (FieldRef(("Id",), 7), FieldRef(("ConvertedAccount", "Name"), 11))
    assert (query.sobject, query.sobject_offset, query.count) == ("Lead", 38, False)
    assert query.order_by == (
        OrderItem(FieldRef(("CreatedDate",), 70), descending=True, nulls_first=True),
        OrderItem(FieldRef(("LastName",), 88), descending=False, nulls_first=False),
    )
    assert (query.limit, query.offset) == (10, 20)


@pytest.mark.parametrize(
    ("order", "descending", "nulls_first"),
    [
        ("Name", False, True),
        ("Name ASC", False, True),
        ("Name DESC", True, True),  # SOQL guide, ORDER BY: nulls sort first by default
        ("Name ASC NULLS LAST", False, False),
        ("Name DESC NULLS FIRST", True, True),
        ("Name desc nulls last", True, False),
    ],
)
def test_order_defaults_follow_salesforce(order: str, descending: bool, nulls_first: bool) -> None:
    (item,) = parse(f"SELECT Id FROM Lead ORDER BY {order}").order_by
    assert (item.descending, item.nulls_first) == (descending, nulls_first)


def test_count_query() -> None:
    query = parse("SELECT COUNT() FROM Lead WHERE IsConverted = false")
    assert query.count
    assert query.fields == ()


def test_field_named_count_is_a_plain_field() -> None:
    assert parse("SELECT Count FROM Lead").fields == (FieldRef(("Count",), 7),)


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("A = 1", Comparison(A, "=", NumberLit(Decimal("1"), 30))),
        ("A <> 1", Comparison(A, "!=", NumberLit(Decimal("1"), 31))),
        ("A >= -2.5", Comparison(A, ">=", NumberLit(Decimal("-2.5"), 31))),
        ("A = TRUE", Comparison(A, "=", BoolLit(True, 30))),
        ("A != Null", Comparison(A, "!=", NullLit(31))),
        ("A = 2024-02-29", Comparison(A, "=", DateLit(dt.date(2024, 2, 29), 30))),
        ("A < last_n_days:7", Comparison(A, "<", RangeLit("LAST_N_DAYS", 7, 30))),
        ("A > Today", Comparison(A, ">", RangeLit("TODAY", None, 30))),
        (
            "A NOT IN ('x', null)",
            InList(A, (StringLit("x", "x", 36), NullLit(41)), negated=True),
        ),
        ("NOT A = 1", Not(Comparison(FieldRef(("A",), 30), "=", NumberLit(Decimal("1"), 34)))),
    ],
)
def test_field_expressions(clause: str, expected: object) -> None:
    assert where_of(clause) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02T03:04:05Z", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
        ("2024-01-02T03:04:05+00:00", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
        ("2024-01-02T05:04:05+02:00", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
        ("2024-01-01T22:04:05-0500", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
        ("2024-01-02T03:04:05.250Z", dt.datetime(2024, 1, 2, 3, 4, 5, 250000, tzinfo=dt.UTC)),
    ],
)
def test_datetime_literals(text: str, expected: dt.datetime) -> None:
    comparison = where_of(f"CreatedDate = {text}")
    assert isinstance(comparison, Comparison)
    assert isinstance(comparison.value, DateTimeLit)
    assert comparison.value.value == expected


def test_and_or_group_with_parentheses() -> None:
    where = where_of("(A = 1 OR B = 2) AND NOT (C = 3 AND D = 4) AND E = 5")
    assert isinstance(where, And)
    first, second, third = where.operands
    assert isinstance(first, Or)
    assert len(first.operands) == 2
    assert isinstance(second, Not)
    assert isinstance(second.operand, And)
    assert isinstance(third, Comparison)
    assert third.field.path == ("E",)


def test_same_operator_chains_without_parentheses() -> None:
    where = where_of("A = 1 OR B = 2 OR C = 3")
    assert isinstance(where, Or)
    assert len(where.operands) == 3


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        (r"'O\'Brien'", "O'Brien"),
        (r"'back\\slash'", "back\\slash"),
        (r"'a\"b'", 'a"b'),
        (r"'\n\r\t\b\f'", "\n\r\t\b\f"),
        (r"'\N\R\T\B\F'", "\n\r\t\b\f"),
        (r"'caf\u00e9'", "café"),
        ("'日本語 ✓'", "日本語 ✓"),
        ("''", ""),
        (r"'100\%'", "100\\%"),  # outside LIKE the escape keeps its backslash
        (r"'a\_b'", "a\\_b"),
    ],
)
def test_string_escapes(literal: str, expected: str) -> None:
    assert string_value(literal) == expected


def test_malformed_query_message_layout() -> None:
    source = "SELECT Id FROM Lead WHERE A = 1 AND B = 2 OR C = 3"
    with pytest.raises(SoqlError) as caught:
        parse(source)
    assert caught.value.error_code == "MALFORMED_QUERY"
    assert caught.value.message == (
        "\nSELECT Id FROM Lead WHERE A = 1 AND B = 2 OR C = 3\n"
        + " " * 42
        + "^\nERROR at Row:1:Column:43\nunexpected token: OR"
    )


@pytest.mark.parametrize(
    ("source", "row", "column", "token"),
    [
        ("SELECT Id FROM Lead WHERE A = 1 AND B = 2 OR C = 3", 1, 43, "OR"),
        ("SELECT Id FROM Lead WHERE A = 1 or B = 2 and C = 3", 1, 42, "and"),
        ("SELECT Id FROM Lead WHERE A = 1 AND (B = 2 OR C = 3) OR D = 4", 1, 54, "OR"),
        ("SELECT Id\nFROM Lead\nWHERE A = 1 AND B = 2 OR C = 3", 3, 23, "OR"),
        ("SELECT FROM Lead", 1, 8, "FROM"),
        ("SELECT Id, FROM Lead", 1, 12, "FROM"),
        ("SELECT Id Lead", 1, 11, "Lead"),
        ("SELECT * FROM Lead", 1, 8, "*"),
        ("SELECT Id FROM Lead WHERE", 1, 26, "<EOF>"),
        ("", 1, 1, "<EOF>"),
        ('SELECT Id FROM Lead WHERE Email = "x"', 1, 35, '"'),
        ("SELECT Id FROM Lead WHERE Email = x", 1, 35, "x"),
        ("SELECT Id FROM Lead WHERE Email IN ()", 1, 37, ")"),
        ("SELECT Id FROM Lead WHERE Email LIKE", 1, 37, "<EOF>"),
        ("SELECT Id FROM Lead WHERE Email = 'x", 1, 35, "'x"),
        ("SELECT Id FROM Lead LIMIT -1", 1, 27, "-1"),
        ("SELECT Id FROM Lead LIMIT 1.5", 1, 27, "1.5"),
        ("SELECT Id FROM Lead LIMIT 5 ORDER BY Id", 1, 29, "ORDER"),
        ("SELECT Id FROM Lead OFFSET 5 LIMIT 1", 1, 30, "LIMIT"),
        ("SELECT Id FROM Lead ORDER BY Id NULLS", 1, 38, "<EOF>"),
        ("SELECT COUNT(), Id FROM Lead", 1, 15, ","),
        ("SELECT Id FROM Lead WHERE D > 2024-01-01T00:00:00", 1, 31, "2024-01-01T00:00:00"),
        ("SELECT Id FROM Lead WHERE D > 2024-02-30", 1, 31, "2024-02-30"),
        ("SELECT Id FROM Lead WHERE D = LAST_N_DAYS", 1, 31, "LAST_N_DAYS"),
        ("SELECT Id FROM Lead WHERE D = TODAY:3", 1, 31, "TODAY:3"),
        ("SELECT Id FROM Lead WHERE D = SOMEDAY", 1, 31, "SOMEDAY"),
        ("SELECT Id FROM Lead WHERE NOT", 1, 30, "<EOF>"),
        ("SELECT Id FROM Lead WHERE (A = 1", 1, 33, "<EOF>"),
        ("SELECT Id FROM Lead Where A = 1 extra", 1, 33, "extra"),
        ("SELECT Id FROM Lead WHERE Select = 1", 1, 27, "Select"),
    ],
)
def test_syntax_errors(source: str, row: int, column: int, token: str) -> None:
    with pytest.raises(SoqlError) as caught:
        parse(source)
    error = caught.value
    assert (error.error_code, error.reason) == ("MALFORMED_QUERY", f"unexpected token: {token}")
    assert (error.row, error.column) == (row, column)
    assert f"\nERROR at Row:{row}:Column:{column}\n" in error.message


def test_caret_sits_under_the_token_on_its_own_line() -> None:
    with pytest.raises(SoqlError) as caught:
        parse("SELECT Id\nFROM Lead\nWHERE A = 1 AND B = 2 OR C = 3")
    lines = caught.value.message.split("\n")
    assert lines[1] == "WHERE A = 1 AND B = 2 OR C = 3"
    assert lines[2] == " " * 22 + "^"


@pytest.mark.parametrize("escape", [r"\q", r"\x", r"\u12", "\\"])
def test_undefined_escape_is_malformed(escape: str) -> None:
    source = f"SELECT Id FROM Lead WHERE Name = 'a{escape}'"
    with pytest.raises(SoqlError) as caught:
        parse(source)
    assert caught.value.error_code == "MALFORMED_QUERY"
    assert caught.value.column == 34


def test_undefined_escape_message() -> None:
    with pytest.raises(SoqlError) as caught:
        parse(r"SELECT Id FROM Lead WHERE Name = 'a\qb'")
    assert caught.value.reason == (
        r"Invalid string literal 'a\qb'. Illegal character sequence '\q' in string literal."
    )
