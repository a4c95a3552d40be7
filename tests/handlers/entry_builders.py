"""Inbox entries as the intake stores them, built for tests (tests/handlers)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

from subscriber.events import ChangeHeader, EntryKind, EntryStatus, InboxEntry

PE_TOPIC = "/event/SelfServeTrialEvent__e"
LEAD_TOPIC = "/data/LeadChangeEvent"
_ids = itertools.count(1)


def lifecycle_entry(kind: str, workspace_id: str, data: dict[str, Any] | str,
                    at_ms: int, email: str | None = "owner@acme.example.com",
                    uuid: str | None = None, **extra: Any) -> InboxEntry:
    entry_id = next(_ids)
    payload: dict[str, Any] = {
        "Event_Type__c": kind, "Workspace_ID__c": workspace_id, "Email__c": email,
        "Event_Data__c": data if isinstance(data, str) else json.dumps(data),
        "Event_Timestamp__c": at_ms, **extra,
    }
    return InboxEntry(entry_id, PE_TOPIC, EntryKind.EVENT, EntryStatus.PENDING,
                      entry_id.to_bytes(4, "big"), uuid or f"uuid-{entry_id}", "schema",
                      f"uuid:{uuid or entry_id}", dt.datetime.now(dt.UTC), payload)


def change_entry(change_type: str, lead_ids: tuple[str, ...], payload: dict[str, Any],
                 changed: tuple[str, ...] = (), origin: str = "",
                 kind: EntryKind = EntryKind.CHANGE) -> InboxEntry:
    entry_id = next(_ids)
    header = ChangeHeader("Lead", change_type, origin, lead_ids, f"txn-{entry_id}", 1,
                          1_700_000_000_000, 1, "005", changed)
    return InboxEntry(entry_id, LEAD_TOPIC, kind, EntryStatus.PENDING,
                      entry_id.to_bytes(4, "big"), "", "schema", f"txn:txn-{entry_id}:1",
                      dt.datetime.now(dt.UTC), payload, header)


TRIAL = {"trial_expiration": "2026-12-31"}
CONVERSION = {"subscription_id": "sub_1", "plan_type": "Team", "mrr": 490}
CHURN = {"churn_date": "2027-02-01", "churn_reason": "budget"}
