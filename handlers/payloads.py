"""Field values of event payloads: timestamps, dates, amounts and text, validated per type.

Each failure raises :class:`BadValue` with a stable ``error_class`` (reported once per class)
and a message naming the field and what is wrong with it.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from handlers.events import EventType

EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)
MRR_MAX = Decimal("99999999999999.99")  # Workspace__c.MRR__c: Currency(16, 2)
TEXT_LIMITS = {"subscription_id": 255, "plan_type": 80, "churn_reason": 255}


class BadValue(ValueError):
    """A value the rules cannot use; ``error_class`` is short and stable."""

    def __init__(self, error_class: str, message: str) -> None:
        super().__init__(message)
        self.error_class = error_class


def has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)


def text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def timestamp(value: object) -> dt.datetime:
    """An Avro timestamp (epoch milliseconds) or its stored ISO 8601 text, as UTC."""
    if isinstance(value, bool) or value is None:
        raise BadValue("bad timestamp", "timestamp is missing")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise BadValue("bad timestamp", "timestamp is not a finite number")
        try:
            return dt.datetime.fromtimestamp(value / 1000.0, dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise BadValue("bad timestamp", f"timestamp {value} is out of range") from None
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise BadValue("bad timestamp", "timestamp is not ISO 8601") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    raise BadValue("bad timestamp", f"timestamp is a {type(value).__name__}")


def event_time(payload: dict[str, Any]) -> dt.datetime:
    """``Event_Timestamp__c``, else Salesforce's ``CreatedDate``; never the local clock."""
    raw = payload.get("Event_Timestamp__c")
    if raw is None:
        raw = payload.get("CreatedDate")
    try:
        at = timestamp(raw)
    except BadValue as exc:
        raise BadValue("bad event timestamp", f"Event_Timestamp__c: {exc}") from None
    if not EARLIEST_DATE <= at.date() <= LATEST_DATE:
        raise BadValue("bad event timestamp", f"Event_Timestamp__c {at.isoformat()} is outside "
                       f"{EARLIEST_DATE.year}-{LATEST_DATE.year}")
    return at


def details(kind: EventType, data: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The validated ``Event_Data__c`` values for ``kind``, in a fixed order."""
    if kind is EventType.TRIAL:
        raw = data.get("trial_expiration")
        missing = raw is None or (isinstance(raw, str) and not raw.strip())
        return (("trial_expiration", None if missing else _date(data, "trial_expiration")),)
    if kind is EventType.CONVERSION:
        return (("mrr", _mrr(data)), ("plan_type", _text(data, "plan_type")),
                ("subscription_id", _text(data, "subscription_id")))
    reason = _text(data, "churn_reason", required=False)
    return (("churn_date", _date(data, "churn_date")), ("churn_reason", reason))


def _date(data: dict[str, Any], name: str) -> dt.date:
    raw = data.get(name)
    if not isinstance(raw, str) or not raw.strip():
        raise BadValue(f"missing {name}", f"Event_Data__c.{name} is missing; expected a date "
                       "like 2026-12-31")
    try:
        value = dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise BadValue(f"bad {name}", f"Event_Data__c.{name} is not a date (YYYY-MM-DD)"
                       ) from None
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise BadValue(f"bad {name}", f"Event_Data__c.{name} {value} is outside "
                       f"{EARLIEST_DATE.year}-{LATEST_DATE.year}")
    return value


def _mrr(data: dict[str, Any]) -> Decimal:
    raw = data.get("mrr")
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise BadValue("bad mrr", "Event_Data__c.mrr is missing or not a number")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise BadValue("bad mrr", "Event_Data__c.mrr is not a number") from None
    if not value.is_finite():
        raise BadValue("bad mrr", "Event_Data__c.mrr is not a finite number")
    if abs(value) > MRR_MAX:  # the rules flag it; keep it small enough to quantize and show
        return value
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _text(data: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    raw = data.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise BadValue(f"missing {name}", f"Event_Data__c.{name} is missing or blank")
        return None
    if not isinstance(raw, str):
        raise BadValue(f"bad {name}", f"Event_Data__c.{name} is a {type(raw).__name__}, "
                       "not text")
    value = " ".join(raw.split()) if name == "churn_reason" else raw.strip()
    if has_control(value):
        raise BadValue(f"bad {name}", f"Event_Data__c.{name} contains a control character")
    limit = TEXT_LIMITS[name]
    if len(value) > limit:
        raise BadValue(f"{name} too long", f"Event_Data__c.{name} is {len(value)} characters; "
                       f"the Workspace field holds {limit}")
    return value
