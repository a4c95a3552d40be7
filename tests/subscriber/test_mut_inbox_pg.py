"""What both inbox backends promise their readers, run once per backend (a real SQLite file,
a fenced schema on the throwaway PostgreSQL): the status page's recent entries, a parked
entry's note, what a stored batch says it landed, and a topic with nothing pending."""

from __future__ import annotations

from helpers.inbox_places import BOTH_BACKENDS, InboxPlace

from subscriber.events import DecodedEvent, EntryKind, EntryStatus, UndecodableEvent

pytestmark = BOTH_BACKENDS

T = "/event/SelfServeTrialEvent__e"


def _event(n: int) -> DecodedEvent:
    return DecodedEvent(T, n.to_bytes(4, "big"), f"uuid-{n}", "s1", EntryKind.EVENT,
                        {"Workspace_ID__c": f"ws-{n}"})


def _poison(n: int) -> UndecodableEvent:
    return UndecodableEvent(T, n.to_bytes(4, "big"), f"uuid-{n}", "s1", b"\xff", "bad payload",
                            "undecodable payload")


def test_recent_lists_the_ten_newest_entries_newest_first(inbox_place: InboxPlace) -> None:
    inbox = inbox_place.open()
    inbox.store_batch(T, [_event(n) for n in range(1, 13)], (12).to_bytes(4, "big"))
    assert [e.event_id for e in inbox.recent()] == [f"uuid-{n}" for n in range(12, 2, -1)]
    assert [e.event_id for e in inbox.recent(limit=2)] == ["uuid-12", "uuid-11"]


def test_an_entry_parked_without_a_note_reads_back_as_parked(inbox_place: InboxPlace) -> None:
    inbox = inbox_place.open()
    inbox.store_batch(T, [_event(1), _event(2), _event(3)], (3).to_bytes(4, "big"))
    first, second, third = inbox.pending()
    assert inbox.mark_done([first.id], {second.id: "", third.id: "waiting for the lead"}) == 3
    notes = {e.event_id: e.error for e in inbox.entries(EntryStatus.APPLIED)}
    assert notes == {"uuid-1": "", "uuid-2": "parked", "uuid-3": "waiting for the lead"}
    assert inbox.counts_by_topic()[T].parked == 2


def test_a_stored_batch_reports_each_new_event_itself_in_replay_order(
        inbox_place: InboxPlace) -> None:
    inbox = inbox_place.open()
    inbox.store_batch(T, [_event(1)], (1).to_bytes(4, "big"))
    batch = [_event(1), _poison(2), _event(3)]  # the first is a duplicate
    stats = inbox.store_batch(T, batch, (3).to_bytes(4, "big"))
    assert (stats.stored, stats.duplicates, stats.poison) == (2, 1, 1)
    assert stats.landed == (batch[1], batch[2])
    assert stats.poisoned == (batch[1],)


def test_a_topic_with_nothing_pending_has_no_oldest_pending_age(inbox_place: InboxPlace) -> None:
    inbox = inbox_place.open()
    inbox.store_batch(T, [_event(1)], (1).to_bytes(4, "big"))
    assert inbox.counts_by_topic()[T].oldest_pending_age_s is not None
    inbox.mark_applied([e.id for e in inbox.pending()])
    counts = inbox.counts_by_topic()[T]
    assert (counts.pending, counts.applied, counts.oldest_pending_age_s) == (0, 1, None)


def test_pending_skips_the_entries_it_is_told_to_exclude(inbox_place: InboxPlace) -> None:
    inbox = inbox_place.open()
    inbox.store_batch(T, [_event(1), _event(2), _event(3)], (3).to_bytes(4, "big"))
    first, second, third = inbox.pending()
    assert [e.event_id for e in inbox.pending(exclude=[first.id, third.id])] == ["uuid-2"]
    assert [e.event_id for e in inbox.pending(exclude=iter([second.id]), limit=1)] == ["uuid-1"]


def test_a_meta_value_reads_back_as_stored_and_a_missing_one_as_none(
        inbox_place: InboxPlace) -> None:
    inbox = inbox_place.open()
    assert inbox.meta("apply.paused") is None
    inbox.set_meta("apply.paused", "1")
    assert inbox.meta("apply.paused") == "1"
