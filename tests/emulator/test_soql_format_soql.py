"""Queries built by simple-salesforce's ``format_soql`` must find exactly the intended rows.

The daemon builds every query with ``format_soql``; hostile values (quotes, backslashes,
LIKE wildcards, control characters, unicode) must survive the round trip and never widen
or narrow a match. Each hostile value has decoys that a sloppy decoder would confuse it with.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from simple_salesforce.format import format_soql

from emulator.catalog import Catalog, FieldDef, FieldType, ObjectDef, ObjectKind
from emulator.soql import execute, parse

T = FieldType
CATALOG = Catalog(
    [
        ObjectDef(
            "Lead",
            ObjectKind.STANDARD,
            "00Q",
            (
                FieldDef("Id", T.ID),
                FieldDef("LastName", T.TEXT),
                FieldDef("Email", T.EMAIL),
                FieldDef("IsConverted", T.CHECKBOX),
                FieldDef("AnnualRevenue", T.CURRENCY),
                FieldDef("CreatedDate", T.DATETIME),
                FieldDef("Trial_Expiration_Date__c", T.DATE),
            ),
        )
    ]
)
HOSTILE = [
    "O'Brien",
    "100%_off\\",
    'a"b',
    "line1\nline2",
    "tab\there\rcr",
    "bell\bform\f",
    "ünïcødé ✓ 日本語",
    "'; DELETE FROM Lead --",
    "\\'",
    "\\",
    "%",
    "_",
    "a\\%b",
    "x\\_y",
    "\\n",
]
DECOYS = [
    "OBrien",
    "O\\'Brien",
    "100%Xoff\\",
    "100x_off\\",
    "100%_off",
    'a\\"b',
    "line1line2",
    "line1\\nline2",
    "'",
    "\\\\",
    "x",
    "a%b",
    "a\\Xb",
    "x_y",
    "\n",
    "prefix O'Brien suffix",
]
ROWS = [{"Id": f"00Q{i:015d}", "LastName": name} for i, name in enumerate(HOSTILE + DECOYS)]


def last_names(soql: str) -> list[str]:
    result = execute(parse(soql), CATALOG, ROWS, now=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    return [record["LastName"] for record in result.records]


@pytest.mark.parametrize("value", HOSTILE)
def test_equality_round_trips(value: str) -> None:
    assert last_names(format_soql("SELECT LastName FROM Lead WHERE LastName = {}", value)) == [
        value
    ]


@pytest.mark.parametrize("value", HOSTILE)
def test_like_exact_round_trips(value: str) -> None:
    soql = format_soql("SELECT LastName FROM Lead WHERE LastName LIKE '{:like}'", value)
    assert last_names(soql) == [value]


@pytest.mark.parametrize("value", HOSTILE)
def test_not_equal_keeps_everything_else(value: str) -> None:
    soql = format_soql("SELECT LastName FROM Lead WHERE LastName != {}", value)
    assert sorted(last_names(soql)) == sorted(n for n in HOSTILE + DECOYS if n != value)


def test_like_contains_uses_literal_wildcards() -> None:
    soql = format_soql("SELECT LastName FROM Lead WHERE LastName LIKE '%{:like}%'", "O'Brien")
    assert sorted(last_names(soql)) == ["O'Brien", "prefix O'Brien suffix"]
    percent = format_soql("SELECT LastName FROM Lead WHERE LastName LIKE '%{:like}%'", "%_")
    assert last_names(percent) == ["100%_off\\", "100%_off"]


def test_in_list_round_trips() -> None:
    soql = format_soql("SELECT LastName FROM Lead WHERE LastName IN {}", HOSTILE)
    assert last_names(soql) == HOSTILE
    negated = format_soql("SELECT LastName FROM Lead WHERE LastName NOT IN {}", HOSTILE)
    assert last_names(negated) == DECOYS


def run_typed(template: str, value: Any, row: dict[str, Any]) -> int:
    soql = format_soql("SELECT Id FROM Lead WHERE " + template, value)
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    return execute(parse(soql), CATALOG, [{"Id": "00Q000000000001AAA", **row}], now=now).total_size


@pytest.mark.parametrize(
    ("template", "value", "row", "expected"),
    [
        ("IsConverted = {}", False, {"IsConverted": False}, 1),
        ("IsConverted = {}", True, {"IsConverted": False}, 0),
        ("Email = {}", None, {"Email": None}, 1),
        ("Email != {}", None, {"Email": None}, 0),
        ("AnnualRevenue = {}", 1000.5, {"AnnualRevenue": 1000.5}, 1),
        ("AnnualRevenue = {}", 0.1, {"AnnualRevenue": 0.1}, 1),
        ("AnnualRevenue < {}", -3, {"AnnualRevenue": -3.5}, 1),
        ("AnnualRevenue IN {}", (1, 2.5), {"AnnualRevenue": 2.5}, 1),
        (
            "Trial_Expiration_Date__c = {}",
            dt.date(2024, 2, 29),
            {"Trial_Expiration_Date__c": dt.date(2024, 2, 29)},
            1,
        ),
        (
            "CreatedDate = {}",
            dt.datetime(2024, 1, 1, 12, 0, 0, 999, tzinfo=dt.timezone(dt.timedelta(hours=5))),
            {"CreatedDate": dt.datetime(2024, 1, 1, 7, tzinfo=dt.UTC)},
            1,
        ),
        (
            "CreatedDate > {}",
            dt.datetime(2024, 1, 1, 7, tzinfo=dt.UTC),
            {"CreatedDate": dt.datetime(2024, 1, 1, 7, tzinfo=dt.UTC)},
            0,
        ),
        (
            "CreatedDate >= {}",
            dt.datetime(2024, 1, 1, 7, tzinfo=dt.UTC),
            {"CreatedDate": dt.datetime(2024, 1, 1, 7, tzinfo=dt.UTC)},
            1,
        ),
    ],
)
def test_typed_values_round_trip(
    template: str, value: Any, row: dict[str, Any], expected: int
) -> None:
    assert run_typed(template, value, row) == expected


def test_datetime_is_sent_with_utc_offset() -> None:
    value = dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    assert "2024-01-01T07:00:00+00:00" in format_soql("CreatedDate = {}", value)
