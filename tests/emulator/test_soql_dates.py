"""Relative date literals as Salesforce defines them, against a fixed clock.

NOW is Wednesday 2024-03-13 15:30 UTC: the week (Sunday first) is 10-16 March, last month
is a leap February.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from emulator.catalog import Catalog, FieldDef, FieldType, ObjectDef, ObjectKind
from emulator.soql import execute, parse

NOW = dt.datetime(2024, 3, 13, 15, 30, tzinfo=dt.UTC)
EST = dt.timezone(dt.timedelta(hours=-5))
CATALOG = Catalog(
    [
        ObjectDef(
            "Lead",
            ObjectKind.STANDARD,
            "00Q",
            (
                FieldDef("Id", FieldType.ID),
                FieldDef("CreatedDate", FieldType.DATETIME),
                FieldDef("Trial_Expiration_Date__c", FieldType.DATE),
            ),
        )
    ]
)


def matches(where: str, value: Any, now: dt.datetime = NOW) -> bool:
    field = "CreatedDate" if isinstance(value, dt.datetime) else "Trial_Expiration_Date__c"
    row = {"Id": "00Q000000000001AAA", field: value}
    result = execute(parse(f"SELECT Id FROM Lead WHERE {field} {where}"), CATALOG, [row], now=now)
    return result.total_size == 1


def day(month: int, day_of_month: int, year: int = 2024) -> dt.date:
    return dt.date(year, month, day_of_month)


@pytest.mark.parametrize(
    ("where", "value", "expected"),
    [
        ("= TODAY", day(3, 13), True),
        ("= TODAY", day(3, 12), False),
        ("= YESTERDAY", day(3, 12), True),
        ("= TOMORROW", day(3, 14), True),
        ("= TOMORROW", day(3, 13), False),
        ("= THIS_WEEK", day(3, 10), True),
        ("= THIS_WEEK", day(3, 16), True),
        ("= THIS_WEEK", day(3, 9), False),
        ("= THIS_WEEK", day(3, 17), False),
        ("= LAST_WEEK", day(3, 3), True),
        ("= LAST_WEEK", day(3, 9), True),
        ("= LAST_WEEK", day(3, 10), False),
        ("= NEXT_WEEK", day(3, 17), True),
        ("= NEXT_WEEK", day(3, 23), True),
        ("= NEXT_WEEK", day(3, 24), False),
        ("= THIS_MONTH", day(3, 1), True),
        ("= THIS_MONTH", day(3, 31), True),
        ("= THIS_MONTH", day(4, 1), False),
        ("= LAST_MONTH", day(2, 1), True),
        ("= LAST_MONTH", day(2, 29), True),
        ("= LAST_MONTH", day(3, 1), False),
        ("= NEXT_MONTH", day(4, 30), True),
        ("= NEXT_MONTH", day(5, 1), False),
        ("= LAST_N_DAYS:1", day(3, 12), True),
        ("= LAST_N_DAYS:1", day(3, 13), True),
        ("= LAST_N_DAYS:1", day(3, 11), False),
        ("= LAST_N_DAYS:1", day(3, 14), False),
        ("= NEXT_N_DAYS:2", day(3, 13), False),
        ("= NEXT_N_DAYS:2", day(3, 14), True),
        ("= NEXT_N_DAYS:2", day(3, 15), True),
        ("= NEXT_N_DAYS:2", day(3, 16), False),
        ("= N_DAYS_AGO:3", day(3, 10), True),
        ("= N_DAYS_AGO:3", day(3, 11), False),
        ("< TODAY", day(3, 12), True),
        ("< TODAY", day(3, 13), False),
        ("<= TODAY", day(3, 13), True),
        ("<= TODAY", day(3, 14), False),
        ("> TODAY", day(3, 14), True),
        ("> TODAY", day(3, 13), False),
        (">= THIS_WEEK", day(3, 10), True),
        (">= THIS_WEEK", day(3, 9), False),
        ("> LAST_N_DAYS:7", day(3, 14), True),
        ("> LAST_N_DAYS:7", day(3, 13), False),
        ("!= TODAY", day(3, 12), True),
        ("!= TODAY", day(3, 13), False),
        ("IN (YESTERDAY, TOMORROW)", day(3, 14), True),
        ("NOT IN (YESTERDAY, TOMORROW)", day(3, 14), False),
    ],
)
def test_date_field_literals(where: str, value: dt.date, expected: bool) -> None:
    assert matches(where, value) is expected


def at(month: int, day_of_month: int, hour: int, minute: int, second: int) -> dt.datetime:
    return dt.datetime(2024, month, day_of_month, hour, minute, second, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("where", "value", "expected"),
    [
        ("= TODAY", at(3, 13, 0, 0, 0), True),
        ("= TODAY", at(3, 13, 23, 59, 59), True),
        ("= TODAY", at(3, 12, 23, 59, 59), False),
        ("= TODAY", at(3, 14, 0, 0, 0), False),
        ("= TODAY", dt.datetime(2024, 3, 13, 20, tzinfo=dt.timezone(dt.timedelta(hours=5))), True),
        ("< TODAY", at(3, 12, 23, 59, 59), True),
        ("> TODAY", at(3, 14, 0, 0, 0), True),
        ("= LAST_N_DAYS:7", at(3, 6, 0, 0, 0), True),
        ("= LAST_N_DAYS:7", at(3, 5, 23, 59, 59), False),
        ("= THIS_WEEK", at(3, 10, 0, 0, 1), True),
        ("= LAST_MONTH", at(2, 29, 12, 0, 0), True),
    ],
)
def test_datetime_field_literals(where: str, value: dt.datetime, expected: bool) -> None:
    assert matches(where, value) is expected


@pytest.mark.parametrize(
    ("now", "where", "value"),
    [
        (dt.datetime(2024, 3, 13, 23, 30, tzinfo=EST), "= TODAY", day(3, 14)),
        (dt.datetime(2024, 3, 10, tzinfo=dt.UTC), "= THIS_WEEK", day(3, 10)),
        (dt.datetime(2024, 3, 16, 23, tzinfo=dt.UTC), "= THIS_WEEK", day(3, 10)),
        (dt.datetime(2024, 3, 16, 23, tzinfo=dt.UTC), "= NEXT_WEEK", day(3, 17)),
        (dt.datetime(2024, 12, 15, tzinfo=dt.UTC), "= NEXT_MONTH", day(1, 31, 2025)),
        (dt.datetime(2024, 1, 10, tzinfo=dt.UTC), "= LAST_MONTH", day(12, 1, 2023)),
        (dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "= YESTERDAY", day(12, 31, 2023)),
    ],
)
def test_calendar_edges(now: dt.datetime, where: str, value: dt.date) -> None:
    assert matches(where, value, now)
    assert not matches(where, value + dt.timedelta(days=-40), now)


@pytest.mark.parametrize(
    ("where", "inside", "outside"),
    [
        ("= THIS_QUARTER", day(1, 1), day(4, 1)),
        ("= LAST_QUARTER", day(12, 31, 2023), day(1, 1)),
        ("= NEXT_QUARTER", day(6, 30), day(7, 1)),
        ("= THIS_YEAR", day(12, 31), day(1, 1, 2025)),
        ("= LAST_90_DAYS", day(12, 14, 2023), day(12, 13, 2023)),
        ("= LAST_N_MONTHS:2", day(1, 1), day(3, 1)),
    ],
)
def test_other_ranges(where: str, inside: dt.date, outside: dt.date) -> None:
    assert matches(where, inside)
    assert not matches(where, outside)


def test_null_dates_never_match_a_range() -> None:
    assert not matches("= TODAY", None)
    assert not matches("< TODAY", None)
