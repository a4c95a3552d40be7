"""Typed events, parsed from inbox entries: what the rules reason about.

Lifecycle events come from ``SelfServeTrialEvent__e``; lead events from ``LeadChangeEvent``.
Anything that cannot be parsed becomes an :class:`Invalid` carrying a note that says exactly
what is wrong and a short, stable ``error_class`` for reporting once per class.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    TRIAL = "Trial"
    CONVERSION = "Conversion"
    CHURN = "Churn"


@dataclass(frozen=True)
class Source:
    """Where an event came from: its inbox entry, its UUID (or dedupe key) and replay ID."""

    entry_id: int
    event_uuid: str
    replay_hex: str


@dataclass(frozen=True)
class Lifecycle:
    """A Trial, Conversion or Churn for one workspace at one moment (``at``, UTC).

    ``details`` holds the validated ``Event_Data__c`` values: Trial ``trial_expiration``
    (date, or None: the rules give it the configured trial length); Conversion
    ``subscription_id``, ``plan_type`` (str), ``mrr`` (Decimal, any sign or size: the rules
    judge it); Churn ``churn_date`` (date), ``churn_reason`` (str or None). ``usage``: the
    numeric usage figures the event carried (:mod:`handlers.usage`).
    """

    source: Source
    kind: EventType
    workspace_id: str
    email: str | None
    at: dt.datetime
    details: tuple[tuple[str, Any], ...]
    usage: tuple[tuple[str, float], ...] = ()

    @property
    def key(self) -> str:
        """The workspace key: external IDs match case-insensitively in Salesforce."""
        return self.workspace_id.lower()

    def detail(self, name: str) -> Any:
        return dict(self.details).get(name)

    @property
    def trial_expiration(self) -> dt.date | None:
        value = self.detail("trial_expiration")
        return value if isinstance(value, dt.date) else None

    @property
    def mrr(self) -> Decimal | None:
        value = self.detail("mrr")
        return value if isinstance(value, Decimal) else None


@dataclass(frozen=True)
class LeadChange:
    """A Lead change event (CREATE/UPDATE/DELETE/UNDELETE), or a Lead re-read after a gap.

    ``email`` is set when the change created the Lead or changed its Email (normalised; None
    when absent or unusable); ``converted`` when it converted the Lead.
    """

    source: Source
    change_type: str
    lead_ids: tuple[str, ...]
    own: bool
    email: str | None = None
    created_at: dt.datetime | None = None
    converted: bool = False
    converted_account_id: str | None = None
    converted_contact_id: str | None = None
    converted_opportunity_id: str | None = None


@dataclass(frozen=True)
class LeadGap:
    """A ``GAP_*`` change event: re-read these Leads and apply the same rules."""

    source: Source
    change_type: str
    lead_ids: tuple[str, ...]


@dataclass(frozen=True)
class GapOverflow:
    """``GAP_OVERFLOW``: too many changes to describe; the entity needs reconciliation."""

    source: Source
    entity: str


@dataclass(frozen=True)
class Invalid:
    """An event that cannot be applied as it is; parked for review with ``note``."""

    source: Source
    error_class: str
    note: str
    event_type: str = ""
    workspace_id: str = ""
    event_data: str = ""
    at: dt.datetime | None = None


Parsed = Lifecycle | LeadChange | LeadGap | GapOverflow | Invalid
