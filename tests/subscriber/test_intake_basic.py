"""Events land in the inbox with their checkpoint; restarts resume exactly; replay IDs intact."""

from __future__ import annotations

import subprocess
import sys

from helpers.inbox_places import BOTH_BACKENDS, InboxPlace, SqlitePlace
from subscriber_harness import LEAD, TRIAL, HarnessFactory

from subscriber.events import EntryKind, EntryStatus


@BOTH_BACKENDS
def test_platform_events_land_in_inbox_with_checkpoint(harness_factory: HarnessFactory) -> None:
    h = harness_factory().start()
    ids = h.publish_trials(5)
    h.wait_count(TRIAL, 5)
    entries = h.inbox.pending(limit=10, topic=TRIAL)
    assert [e.event_id for e in entries] == ids
    assert all(e.kind is EntryKind.EVENT and e.change is None for e in entries)
    assert entries[0].payload is not None
    assert entries[0].payload["Workspace_ID__c"] == "w0"
    assert h.inbox.checkpoint(TRIAL).replay_id == entries[-1].replay_id
    h.stop()


def test_ten_byte_replay_ids_are_stored_intact(harness_factory: HarnessFactory) -> None:
    h = harness_factory().start()
    h.publish_trials(3)
    h.wait_count(TRIAL, 3)
    h.stop()
    published = h.emu.context.bus.store.read_after(TRIAL, 0, 10)
    stored = h.inbox.pending(topic=TRIAL)
    assert [e.replay_id for e in stored] == [p.replay_id for p in published]
    assert {len(e.replay_id) for e in stored} == {10}
    assert h.inbox.checkpoint(TRIAL).replay_id == published[-1].replay_id


@BOTH_BACKENDS
def test_clean_stop_then_restart_resumes_exactly(harness_factory: HarnessFactory) -> None:
    h = harness_factory().start()
    h.publish_trials(5)
    h.wait_count(TRIAL, 5)
    h.stop()
    h.publish_trials(4, start=5)  # published while the daemon is down

    again = harness_factory(emu=h.emu).start()
    again.wait_count(TRIAL, 9)
    again.publish_trials(2, start=9)
    again.wait_count(TRIAL, 11)
    again.stop()
    workspaces = [e.payload["Workspace_ID__c"] for e in again.inbox.pending(50, TRIAL) if e.payload]
    assert workspaces == [f"w{i}" for i in range(11)]
    assert sum(s.duplicates for _, s in again.hooks.batches) == 0, "redelivered after clean stop"


def test_requested_credit_never_exceeds_batch_size(harness_factory: HarnessFactory) -> None:
    """The server sends at most what was asked for, so every response being <= batch_size
    (7, far below the emulator's own cap of 100 per response) shows we never ask for more."""
    h = harness_factory(batch_size=7, topics=(TRIAL,))
    h.publish_trials(60)
    h.start()
    h.wait_count(TRIAL, 60)
    h.stop()
    sizes = [s.stored + s.duplicates for t, s in h.hooks.batches if t == TRIAL]
    assert sum(sizes) == 60
    assert max(sizes) <= 7, sizes


@BOTH_BACKENDS
def test_keepalive_moves_checkpoint_when_idle(harness_factory: HarnessFactory) -> None:
    h = harness_factory().start()
    h.wait_for(lambda: any(topic == LEAD for topic, _ in h.hooks.keepalives), "a keepalive")
    h.stop()
    lead_keepalives = [replay_id for topic, replay_id in h.hooks.keepalives if topic == LEAD]
    assert lead_keepalives[-1]
    assert h.inbox.checkpoint(LEAD).replay_id == lead_keepalives[-1]


@BOTH_BACKENDS
def test_counts_readable_from_another_process_while_running(
    harness_factory: HarnessFactory, inbox_place: InboxPlace,
) -> None:
    h = harness_factory().start()
    h.publish_trials(3)
    h.wait_count(TRIAL, 3)
    h.inbox.mark_applied([h.inbox.pending(1, TRIAL)[0].id])
    if isinstance(inbox_place, SqlitePlace):
        opening = ("from subscriber.inbox import Inbox\n"
                   "inbox = Inbox.open_readonly(sys.argv[1])\n")
        where = str(inbox_place.path)
    else:  # status and metrics read the shared database unfenced
        opening = ("from subscriber.inbox_pg import open_pg_inbox\n"
                   "inbox = open_pg_inbox(sys.argv[1], pool_size=1)\n")
        where = inbox_place.dsn
    script = (
        "import sys\n" + opening +
        "with inbox:\n"
        "    c = inbox.counts_by_topic()[sys.argv[2]]\n"
        "    print(c.pending, c.applied, c.poison, c.oldest_pending_age_s is not None)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, where, TRIAL],
        check=True, capture_output=True, text=True, timeout=30,
    )
    assert out.stdout.split() == ["2", "1", "0", "True"]
    assert h.count(TRIAL, EntryStatus.APPLIED) == 1
    h.stop()


@BOTH_BACKENDS
def test_stop_mid_flow_commits_the_batch_in_hand_and_resumes_exactly(
    harness_factory: HarnessFactory,
) -> None:
    h = harness_factory(batch_size=10)
    h.publish_trials(300)
    h.emu.context.pubsub_faults.delay_s = 0.005  # keep events flowing while we stop
    h.start()
    h.wait_count(TRIAL, 50)
    h.stop()
    stored = h.inbox.pending(500, TRIAL)
    assert len(stored) < 300, "stopped too late to test anything"
    assert h.inbox.checkpoint(TRIAL).replay_id == stored[-1].replay_id

    h.emu.context.pubsub_faults.delay_s = 0.0
    again = harness_factory(emu=h.emu, batch_size=100).start()
    again.wait_count(TRIAL, 300)
    again.stop()
    entries = again.inbox.pending(500, TRIAL)
    workspaces = [e.payload["Workspace_ID__c"] for e in entries if e.payload]
    assert workspaces == [f"w{i}" for i in range(300)]
    assert sum(s.duplicates for _, s in again.hooks.batches) == 0
