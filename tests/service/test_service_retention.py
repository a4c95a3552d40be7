"""``inbox.retention_days``: the running daemon prunes applied entries older than that many
*days*, and keeps younger ones (their dedupe keys still drop replays)."""

from __future__ import annotations

import time

from svc_rig import Rig
from svc_waiting import wait_until

from service.config import inbox_path
from subscriber.events import DecodedEvent, EntryKind, EntryStatus
from subscriber.inbox import Inbox

DAY_S = 86400.0
# Not a topic the daemon subscribes to: these entries only wait to be pruned or kept.
TOPIC = "/event/Audit__e"


def _applied_at(rig: Rig, n: int, age_s: float) -> None:
    """Store event ``n`` and mark it applied ``age_s`` seconds ago."""
    now = time.time()
    event = DecodedEvent(topic=TOPIC, replay_id=bytes([0, 0, 0, n]), event_id=f"uuid-{n}",
                         schema_id="s1", kind=EntryKind.EVENT, payload={"n": n})
    with Inbox(inbox_path(rig.state), clock=lambda: now - age_s) as inbox:
        inbox.store_batch(TOPIC, [event], event.replay_id)
        [entry] = [e for e in inbox.pending(limit=10, topic=TOPIC) if e.event_id == event.event_id]
        assert inbox.mark_applied([entry.id]) == 1


def test_applied_entries_are_pruned_after_retention_days_not_before(rig: Rig) -> None:
    _applied_at(rig, 1, age_s=4 * DAY_S)   # past 3 days: goes
    _applied_at(rig, 2, age_s=2 * DAY_S)   # 2 days (not 2 hours, minutes or seconds): stays
    # WATCHDOG_USEC makes the supervisor tick every 0.1 s; it prunes on its first tick.
    daemon = rig.daemon(LIFECYCLE_SYNC_INBOX_RETENTION_DAYS="3", WATCHDOG_USEC="200000")
    wait_until(lambda: "pruned" in daemon.log_text(), 30, what="the first prune")
    assert daemon.terminate(timeout_s=10) == 0
    assert "pruned 1 applied inbox entries past retention" in daemon.log_text()
    with Inbox.open_readonly(inbox_path(rig.state)) as inbox:
        kept = inbox.entries(EntryStatus.APPLIED, topic=TOPIC)
    assert [e.event_id for e in kept] == ["uuid-2"]
