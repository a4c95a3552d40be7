"""Relative date literals (``TODAY``, ``LAST_N_DAYS:7``...) as half-open day ranges.

Salesforce defines each literal as a range of whole days starting at midnight, so the
evaluator only needs ``[start, end)`` to answer every operator: ``=`` is inside, ``<`` is
before ``start``, ``>`` is at or after ``end``. Salesforce computes days in the querying
user's time zone and locale; the emulator uses UTC and Sunday-first weeks (en_US), and the
caller passes ``now`` so tests are deterministic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

DayRange = tuple[dt.date, dt.date]


def _week_start(today: dt.date) -> dt.date:
    """The Sunday on or before ``today`` (``weekday()`` counts Monday as 0)."""
    return today - dt.timedelta(days=(today.weekday() + 1) % 7)


def _month_start(today: dt.date, shift: int) -> dt.date:
    """The first day of the month ``shift`` months away from ``today``'s month."""
    index = today.year * 12 + today.month - 1 + shift
    return dt.date(index // 12, index % 12 + 1, 1)


def _months(today: dt.date, first_shift: int, length: int) -> DayRange:
    return _month_start(today, first_shift), _month_start(today, first_shift + length)


def _quarter(today: dt.date, shift: int) -> DayRange:
    """Calendar quarters: the emulated org has no custom fiscal year."""
    into_quarter = (today.month - 1) % 3
    return _months(today, shift * 3 - into_quarter, 3)


def _year(today: dt.date, shift: int) -> DayRange:
    return dt.date(today.year + shift, 1, 1), dt.date(today.year + shift + 1, 1, 1)


def _days(first: int, last: int) -> Callable[[dt.date], DayRange]:
    """The days ``today + first`` to ``today + last`` inclusive."""
    return lambda today: (today + dt.timedelta(days=first), today + dt.timedelta(days=last + 1))


def _weeks(shift: int) -> Callable[[dt.date], DayRange]:
    def week(today: dt.date) -> DayRange:
        start = _week_start(today) + dt.timedelta(weeks=shift)
        return start, start + dt.timedelta(weeks=1)

    return week


FIXED: dict[str, Callable[[dt.date], DayRange]] = {
    "YESTERDAY": _days(-1, -1),
    "TODAY": _days(0, 0),
    "TOMORROW": _days(1, 1),
    "LAST_WEEK": _weeks(-1),
    "THIS_WEEK": _weeks(0),
    "NEXT_WEEK": _weeks(1),
    "LAST_MONTH": lambda today: _months(today, -1, 1),
    "THIS_MONTH": lambda today: _months(today, 0, 1),
    "NEXT_MONTH": lambda today: _months(today, 1, 1),
    "LAST_90_DAYS": _days(-90, 0),
    "NEXT_90_DAYS": _days(1, 90),
    "LAST_QUARTER": lambda today: _quarter(today, -1),
    "THIS_QUARTER": lambda today: _quarter(today, 0),
    "NEXT_QUARTER": lambda today: _quarter(today, 1),
    "LAST_YEAR": lambda today: _year(today, -1),
    "THIS_YEAR": lambda today: _year(today, 0),
    "NEXT_YEAR": lambda today: _year(today, 1),
}

# LAST_N_DAYS:n includes today (LAST_N_DAYS:1 is yesterday and today); NEXT_N_DAYS:n starts
# tomorrow; N_DAYS_AGO:n is the single day n days back.
WITH_N: dict[str, Callable[[dt.date, int], DayRange]] = {
    "LAST_N_DAYS": lambda today, n: _days(-n, 0)(today),
    "NEXT_N_DAYS": lambda today, n: _days(1, n)(today),
    "N_DAYS_AGO": lambda today, n: _days(-n, -n)(today),
    "LAST_N_WEEKS": lambda today, n: (_weeks(-n)(today)[0], _week_start(today)),
    "NEXT_N_WEEKS": lambda today, n: (_weeks(1)(today)[0], _weeks(n + 1)(today)[0]),
    "LAST_N_MONTHS": lambda today, n: _months(today, -n, n),
    "NEXT_N_MONTHS": lambda today, n: _months(today, 1, n),
}


def day_range(name: str, n: int | None, now: dt.datetime) -> DayRange:
    """The ``[start, end)`` days of literal ``name`` (upper case) relative to ``now`` (UTC)."""
    today = now.astimezone(dt.UTC).date() if now.tzinfo else now.date()
    if n is None:
        return FIXED[name](today)
    return WITH_N[name](today, n)


def datetime_range(days: DayRange) -> tuple[dt.datetime, dt.datetime]:
    """The same range as UTC instants, for comparing DateTime fields."""
    start, end = days
    midnight = dt.time(tzinfo=dt.UTC)
    return dt.datetime.combine(start, midnight), dt.datetime.combine(end, midnight)
