"""Gap and overflow change events, which Salesforce sends instead of ordinary change events.

Salesforce sends a ``GAP_*`` event (header only, record IDs but no field values) when it can't
build a change event: the event would exceed 1 MB, a change came from a database-level
operation, or an internal error occurred. A transaction with more than 100,000 changes yields
``GAP_OVERFLOW`` events whose ``recordIds`` is ``["000000000000000AAA"]``. Subscribers must
re-read such records from the org. The emulator never hits those conditions on its own, so
tests and demos inject these events through this module (admin route ``/faults/cdc/gap``).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from emulator.avro_schemas import change_event_layout
from emulator.catalog import Catalog
from emulator.pubsub.bus import EventBus
from emulator.pubsub.store import StoredEvent

GAP_TYPES = ("GAP_CREATE", "GAP_UPDATE", "GAP_DELETE", "GAP_UNDELETE", "GAP_OVERFLOW")
OVERFLOW_RECORD_ID = "000000000000000AAA"


def publish_gap_event(
    bus: EventBus,
    catalog: Catalog,
    object_name: str,
    change_type: str,
    record_ids: list[str],
    commit_user: str,
) -> StoredEvent:
    """Publish one header-only gap or overflow event on the object's change-event topic."""
    obj = catalog.get(object_name)
    if obj is None or obj.topic is None or not obj.cdc_enabled:
        raise ValueError(f"{object_name} has no change-event topic")
    if change_type not in GAP_TYPES:
        raise ValueError(f"change_type must be one of {', '.join(GAP_TYPES)}")
    ids = [OVERFLOW_RECORD_ID] if change_type == "GAP_OVERFLOW" else list(record_ids)
    if not ids:
        raise ValueError("a gap event names at least one record ID")
    now_ms = int(time.time() * 1000)
    header: dict[str, Any] = {
        "entityName": obj.name,
        "recordIds": ids,
        "changeType": change_type,
        "changeOrigin": "",
        "transactionKey": str(uuid.uuid4()),
        "sequenceNumber": 1,
        "commitTimestamp": now_ms,
        "commitNumber": now_ms * 1000,
        "commitUser": commit_user,
        "nulledFields": [],
        "diffFields": [],
        "changedFields": [],
    }
    body = {name: None for name, _ in change_event_layout(obj)[1:]}
    return bus.publish_record(obj.topic, {"ChangeEventHeader": header, **body})
