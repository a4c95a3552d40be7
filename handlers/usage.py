"""Usage figures an event carries (seats, projects, …), and their compact form on the Workspace.

Producers put numeric figures either under ``Event_Data__c.usage`` or beside the lifecycle
fields. They are kept on ``Workspace__c.Latest_Usage__c`` (with ``Latest_Usage_At__c``) because
trial-expiration alerts quote them weeks after the event, long after the local inbox pruned it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

LIFECYCLE_KEYS = frozenset({"trial_expiration", "subscription_id", "plan_type", "mrr",
                            "churn_date", "churn_reason"})
NAME_MAX_CHARS = 40
USAGE_MAX_CHARS = 4096  # Workspace__c.Latest_Usage__c
Figures = tuple[tuple[str, float], ...]


def figures(data: Mapping[str, Any]) -> Figures:
    """The numeric figures of an ``Event_Data__c`` object, sorted by name (booleans are not
    figures; names are cut to 40 characters)."""
    nested = data.get("usage")
    usage: Mapping[str, Any] = nested if isinstance(nested, dict) else data
    found = {str(k)[:NAME_MAX_CHARS]: float(v) for k, v in usage.items()
             if k not in LIFECYCLE_KEYS and isinstance(v, int | float)
             and not isinstance(v, bool) and v == v and abs(v) != float("inf")}
    return tuple(sorted(found.items()))


def to_text(found: Figures) -> str:
    """Compact JSON, whole numbers without ``.0``; figures that do not fit are left out."""
    shown: dict[str, int | float] = {}
    for name, value in found:
        candidate = {**shown, name: int(value) if value.is_integer() else value}
        if len(_dump(candidate)) > USAGE_MAX_CHARS:
            break
        shown = candidate
    return _dump(shown)


def from_text(text: object) -> dict[str, float]:
    """The figures stored on a Workspace (``{}`` for none or unreadable text)."""
    try:
        data = json.loads(text) if isinstance(text, str) and text else {}
    except ValueError:
        return {}
    return dict(figures(data)) if isinstance(data, dict) else {}


def _dump(values: Mapping[str, int | float]) -> str:
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
