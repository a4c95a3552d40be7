"""What the rules decide for one cycle: writes, and what becomes of each inbox entry.

A :class:`Plan` is data only. The gateway carries it out in dependency order: Lead creations,
then one ``convertLead`` call, then one Composite with the Workspace and ``Event_Cache__c``
upserts. Each entry's outcome holds only once the writes it depends on succeeded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from handlers.events import Invalid, Source
from handlers.payloads import has_control

CACHE_LIMITS = {"Event_Type__c": 32, "Workspace_ID__c": 64, "Replay_Id__c": 64,
                "Event_Uuid__c": 64, "Review_Reason__c": 255}
EVENT_DATA_MAX_CHARS = 131_072
NOTES_MAX_CHARS = 32_768


class Fate(StrEnum):
    APPLIED = "applied"
    PARKED = "parked"


@dataclass(frozen=True)
class Outcome:
    """An entry's end state, and the writes (workspace key, cache UUID) it waits for; a Lead
    change may write several Workspaces (``workspace_keys``): all must be confirmed."""

    fate: Fate
    note: str = ""
    error_class: str = ""
    workspace_key: str | None = None
    cache_uuid: str | None = None
    workspace_keys: tuple[str, ...] = ()

    @property
    def all_workspace_keys(self) -> tuple[str, ...]:
        own = (self.workspace_key,) if self.workspace_key is not None else ()
        return own + self.workspace_keys


@dataclass(frozen=True)
class ConvertRequest:
    lead_id: str
    account_id: str | None
    contact_id: str | None


@dataclass
class Plan:
    lead_drafts: dict[str, dict[str, Any]] = field(default_factory=dict)  # by email
    conversions: dict[str, ConvertRequest] = field(default_factory=dict)  # by Lead ID
    workspace_writes: dict[str, dict[str, Any]] = field(default_factory=dict)  # by key
    cache_rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # by Event_Uuid__c
    outcomes: dict[int, Outcome] = field(default_factory=dict)  # by inbox entry ID
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (error class, message)
    trial_tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # by workspace key

    def park(self, source: Source, row: dict[str, Any], note: str, error_class: str,
             workspace_key: str | None = None) -> None:
        uuid = str(row["Event_Uuid__c"])
        self.cache_rows[uuid] = row
        self.outcomes[source.entry_id] = Outcome(Fate.PARKED, note, error_class,
                                                 workspace_key, uuid)


def cache_row(source: Source, *, status: str, review: bool, reason: str, note: str,
              event_type: str = "", workspace_id: str = "", event_data: str = "",
              at: dt.datetime | None = None) -> dict[str, Any]:
    """An ``Event_Cache__c`` upsert body, every value cut to its field's length."""
    row: dict[str, Any] = {
        "Event_Uuid__c": source.event_uuid, "Event_Type__c": event_type,
        "Workspace_ID__c": workspace_id, "Replay_Id__c": source.replay_hex,
        "Processing_Status__c": status, "Needs_Review__c": review, "Review_Reason__c": reason,
        "Processing_Notes__c": note[:NOTES_MAX_CHARS],
        "Event_Data__c": event_data[:EVENT_DATA_MAX_CHARS],
        "Original_Timestamp__c": sf_datetime(at) if at else None,
    }
    for name, limit in CACHE_LIMITS.items():
        row[name] = _single_line(str(row[name]))[:limit]
    return row


def invalid_row(event: Invalid) -> dict[str, Any]:
    return cache_row(event.source, status="Error", review=True, reason=event.error_class,
                     note=event.note, event_type=event.event_type,
                     workspace_id=event.workspace_id, event_data=event.event_data, at=event.at)


def _single_line(text: str) -> str:
    return "".join("?" if has_control(ch) else ch for ch in text) if has_control(text) else text


def sf_datetime(at: dt.datetime) -> str:
    """Salesforce's datetime form: ``2026-11-30T07:16:14.123Z``."""
    return at.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
