"""How an event is named in logs and in ``status --recent``: type and workspace, no PII.

The email and the rest of the payload stay out: they are personal data, and INFO logs and
terminal output travel further than the inbox does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from subscriber.events import ChangeHeader, EntryKind, InboxEntry

# The metric ``type`` label and Sentry's ``event_type`` tag take only these values: the
# producer's raw Event_Type__c is unbounded (a typo per event would be a new time series).
TRIAL_TYPES = ("Trial", "Conversion", "Churn")
TYPE_LABELS = (*TRIAL_TYPES, "LeadChange", "undecodable", "other")


def event_type(kind: EntryKind, payload: Mapping[str, Any] | None,
               change: ChangeHeader | None) -> str:
    """``Trial``/``Conversion``/``Churn`` for trial events, ``Lead UPDATE`` for change events,
    else the entry kind (``undecodable``, ``gap``...)."""
    if change is not None:
        return f"{change.entity_name} {change.change_type}"
    found = (payload or {}).get("Event_Type__c")
    return str(found) if found else kind.value


def workspace_id(payload: Mapping[str, Any] | None) -> str:
    """The event's ``Workspace_ID__c``, or ``-``."""
    found = (payload or {}).get("Workspace_ID__c")
    return str(found) if found else "-"


def type_label(kind: EntryKind, payload: Mapping[str, Any] | None,
               change: ChangeHeader | None) -> str:
    """One of :data:`TYPE_LABELS`: the trial event's type when it is a known one, ``LeadChange``
    for any Lead change event, ``undecodable`` for poison from the intake, else ``other``."""
    if change is not None:
        return "LeadChange" if change.entity_name == "Lead" else "other"
    found = (payload or {}).get("Event_Type__c")
    if found in TRIAL_TYPES:
        return str(found)
    return "undecodable" if kind is EntryKind.UNDECODABLE else "other"


def entry_tags(entry: InboxEntry) -> dict[str, str | None]:
    """Sentry tags naming one inbox entry: topic, bounded event type, workspace; no email."""
    found = workspace_id(entry.payload)
    return {"topic": entry.topic,
            "event_type": type_label(entry.kind, entry.payload, entry.change),
            "workspace_id": None if found == "-" else found}


def batch_tags(entries: Iterable[InboxEntry]) -> dict[str, str | None]:
    """The tags a whole batch shares (a tag only when every entry agrees on it)."""
    tags: dict[str, str | None] = {}
    for n, entry in enumerate(entries):
        one = entry_tags(entry)
        tags = one if n == 0 else {k: v for k, v in tags.items() if one.get(k) == v}
    return tags
