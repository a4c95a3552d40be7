"""Inbox meta values and the ``after_id`` window of ``pending`` on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

from subscriber.events import DecodedEvent, EntryKind
from subscriber.inbox import Inbox

TOPIC = "/event/SelfServeTrialEvent__e"


def _event(n: int) -> DecodedEvent:
    return DecodedEvent(TOPIC, n.to_bytes(4, "big"), f"uuid-{n}", "schema", EntryKind.EVENT,
                        {"Event_Type__c": "Trial", "Workspace_ID__c": f"ws-{n}"})


def test_a_meta_value_reads_back_as_stored(tmp_path: Path) -> None:
    with Inbox(tmp_path / "inbox.db") as inbox:
        assert inbox.meta("apply.paused") is None
        inbox.set_meta("apply.paused", "1")
        assert inbox.meta("apply.paused") == "1"


def test_pending_after_an_id_starts_past_it(tmp_path: Path) -> None:
    with Inbox(tmp_path / "inbox.db") as inbox:
        inbox.store_batch(TOPIC, [_event(1), _event(2), _event(3)], b"\x03")
        first, *_ = inbox.pending()
        assert [e.event_id for e in inbox.pending(after_id=first.id)] == ["uuid-2", "uuid-3"]
