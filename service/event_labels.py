"""How an event is named in logs and in ``status --recent``: type and workspace, no PII.

The email and the rest of the payload stay out: they are personal data, and INFO logs and
terminal output travel further than the inbox does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from subscriber.events import ChangeHeader, EntryKind


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
