"""The sync SLA's pending age as the daemon wires it for the SQLite inbox: measured from each
event's publish time (its CreatedDate), read from the inbox file (mutation testing found the
wiring unpinned at unit level)."""

from __future__ import annotations

import json
import time
from pathlib import Path

# _pending_age, private: the SLA gauge reads it only inside a running daemon (outside the
# per-mutant budget); the closure it builds is the publish-time choice under test.
from service.daemon_parts import _pending_age
from service.run_cmd import config_from_emulator_info
from subscriber.events import DecodedEvent, EntryKind
from subscriber.inbox import Inbox

TOPIC = "/event/SelfServeTrialEvent__e"


def test_the_slas_pending_age_counts_from_the_events_publish_time(tmp_path: Path) -> None:
    info = tmp_path / "info.json"
    info.write_text(json.dumps({"pubsub_endpoint": "127.0.0.1:7443",
                                "instance_url": "https://127.0.0.1:8443",
                                "tenant_id": "00Dxx0000000001", "access_token": "tok"}))
    config = config_from_emulator_info(info, tmp_path / "state", "auto", {})
    published_ms = int((time.time() - 600) * 1000)  # ten minutes before it landed
    payload = {"Event_Type__c": "Trial", "Workspace_ID__c": "ws-a", "Email__c": "a@a.example",
               "Event_Data__c": "{}", "Event_Timestamp__c": published_ms,
               "CreatedDate": published_ms}
    with Inbox(tmp_path / "inbox.db") as inbox:
        age = _pending_age(config, inbox, None, shadow=False)  # type: ignore[arg-type]
        assert age() is None  # nothing pending
        inbox.store_batch(TOPIC, [DecodedEvent(TOPIC, b"\x01", "uuid-a", "s", EntryKind.EVENT,
                                               payload)], b"\x01")
        found = age()
    assert found is not None
    assert found >= 600.0
