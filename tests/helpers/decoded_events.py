"""A decoded Trial platform event as the intake hands it to the inbox: what the unit tests of
status, health, metrics and progress land without running a stream."""

from __future__ import annotations

import json

from subscriber.events import DecodedEvent, EntryKind

TRIAL_TOPIC = "/event/SelfServeTrialEvent__e"


def trial_event(n: int, replay_id_bytes: int = 4) -> DecodedEvent:
    """Trial number ``n``: Workspace ``ws-N``, event UUID ``uuid-N``, replay ID ``n`` as
    ``replay_id_bytes`` big-endian bytes, event time increasing with ``n``."""
    payload = {"Event_Type__c": "Trial", "Workspace_ID__c": f"ws-{n}", "Email__c": "a@b.example",
               "Event_Data__c": json.dumps({"trial_expiration": "2026-12-31"}),
               "Event_Timestamp__c": 1_790_000_000_000 + n}
    return DecodedEvent(TRIAL_TOPIC, n.to_bytes(replay_id_bytes, "big"), f"uuid-{n}", "schema",
                        EntryKind.EVENT, payload)
