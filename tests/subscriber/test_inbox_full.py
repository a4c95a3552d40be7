"""A full disk under the inbox (matrix R13): the stream pauses and probes, never fails.

The fault is SQLite's own SQLITE_FULL, from ``PRAGMA max_page_count`` on the inbox's
connection (deterministic, and atomic: the refused transaction leaves nothing behind). The
daemon-level case, with the kernel refusing the write (file size limit), is
tests/reliability/test_rel2_faults.py::test_r13_*."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

import pytest
from helpers.inbox_places import InboxPlace, allow_inserts, refuse_inserts
from subscriber_harness import TRIAL, Harness, HarnessFactory, RecordingHooks

from subscriber.errors import InboxFailed, InboxFull
from subscriber.inbox_file import is_disk_full

ROOM_PAGES = 1_000_000


@dataclass
class PauseHooks(RecordingHooks):
    """Also records the pause hooks."""

    full: list[tuple[str, InboxFull]] = field(default_factory=list)
    writable: list[str] = field(default_factory=list)

    def inbox_full(self, topic: str, exc: InboxFull) -> None:
        self._record(self.full, (topic, exc))

    def inbox_writable(self, topic: str) -> None:
        self._record(self.writable, topic)


def _cap_pages(h: Harness, pages: int) -> None:
    with h.inbox._lock:  # the intake's own connection: the limit is per connection
        h.inbox._db.execute(f"PRAGMA max_page_count={int(pages)}")


def _page_count(h: Harness) -> int:
    with h.inbox._lock:
        return int(h.inbox._db.execute("PRAGMA page_count").fetchone()[0])


def test_a_full_disk_pauses_the_stream_and_resumes_without_fetching_anything_twice(
    harness_factory: HarnessFactory,
) -> None:
    """No failure, no reconnect reported, the checkpoint held and nothing more stored while
    full;
    the refused batch is retried (the probe) with backoff; once there is room every event is
    stored once and the stream resubscribes from the new checkpoint. The server resends at
    most what was already in flight when the stream was ended (one batch's credit)."""
    h = harness_factory(topics=(TRIAL,))
    h.hooks = hooks = PauseHooks()
    h.start()
    h.wait_for(lambda: h.inbox.checkpoint(TRIAL).replay_id is not None, "first checkpoint")
    before = h.inbox.checkpoint(TRIAL).replay_id
    _cap_pages(h, _page_count(h))
    ids = h.publish_trials(40)
    h.wait_for(lambda: len(hooks.full) >= 3, "three refused attempts (the probe retries)")
    assert h.running()
    assert h.failure is None
    assert hooks.reconnects == [], "a pause is not a connection failure"
    landed = h.inbox.pending(100, TRIAL)  # what fitted before the disk was full
    assert len(landed) < 40
    held = h.inbox.checkpoint(TRIAL).replay_id
    assert held == (landed[-1].replay_id if landed else before), "checkpoint passed the inbox"
    h.wait_for(lambda: len(hooks.full) >= 4, "one more refused attempt")
    assert (h.count(TRIAL), h.inbox.checkpoint(TRIAL).replay_id) == (len(landed), held)
    assert all(topic == TRIAL and "nothing was lost" in str(exc) for topic, exc in hooks.full)

    _cap_pages(h, ROOM_PAGES)
    h.wait_count(TRIAL, 40)
    h.wait_for(lambda: h.inbox.checkpoint(TRIAL).replay_id != held, "the checkpoint moves")
    h.stop()
    assert hooks.writable == [TRIAL]
    assert hooks.reconnects == []
    assert sorted(e.event_id for e in h.inbox.pending(100, TRIAL)) == sorted(ids)
    redelivered = h.emu.context.pubsub_faults.deliveries.snapshot()["redelivered"]
    assert redelivered <= h.settings.batch_size, redelivered


def test_stopping_while_paused_stops_cleanly_and_the_batch_is_fetched_after_restart(
    harness_factory: HarnessFactory,
) -> None:
    h = harness_factory(topics=(TRIAL,))
    h.hooks = hooks = PauseHooks()
    h.start()
    h.wait_for(lambda: h.inbox.checkpoint(TRIAL).replay_id is not None, "first checkpoint")
    _cap_pages(h, _page_count(h))
    h.publish_trials(40)  # more than the free room in the inbox's pages
    h.wait_for(lambda: len(hooks.full) >= 1, "a refused write")
    h.stop()  # raises if the intake failed
    _cap_pages(h, ROOM_PAGES)
    h.start()
    h.wait_count(TRIAL, 40)
    h.stop()


@pytest.mark.parametrize(("code", "full"), [(13, True), (778, True), (10, False), (11, False)])
def test_only_a_refusing_disk_counts_as_full(code: int, full: bool) -> None:
    """SQLITE_FULL (13) and SQLITE_IOERR_WRITE (778: EFBIG, EDQUOT) pause; a read error
    (SQLITE_IOERR, 10) or damage (SQLITE_CORRUPT, 11) still stops the daemon."""
    exc = sqlite3.OperationalError("x")
    exc.sqlite_errorcode = code  # type: ignore[attr-defined]
    assert is_disk_full(exc) is full
    assert issubclass(InboxFull, InboxFailed)


def _fill_meta(h: Harness) -> None:
    """Cap the inbox at its current pages and fill the meta table's free room with small rows:
    a gap record (a few hundred bytes of JSON) no longer fits anywhere."""
    _cap_pages(h, _page_count(h))
    for i in range(100_000):
        try:
            h.inbox.set_meta(f"filler-{i}", "x" * 40)
        except InboxFull:
            return
    raise AssertionError("the capped inbox never filled")


def test_a_full_disk_while_recording_a_replay_gap_pauses_and_ends_its_episode(
    harness_factory: HarnessFactory,
) -> None:
    """A refused replay ID with the disk full: the gap record is refused. The stream pauses
    and retries (it never exits); once there is room the gap and jump are recorded, the
    retained events land, and the episode ends with ``inbox_writable`` even though no batch
    write was ever refused (the refusal came from a gap record, outside a batch's probe)."""
    h = harness_factory(topics=(TRIAL,), on_invalid_replay="earliest")
    h.hooks = hooks = PauseHooks()
    h.publish_trials(3)
    h.inbox.advance_checkpoint(TRIAL, bytes.fromhex("00000001deadbeef0000"))
    _fill_meta(h)
    h.start()
    h.wait_for(lambda: len(hooks.full) >= 2, "the gap record refused twice (paused, retried)")
    assert h.running(), f"the intake stopped: {h.failure!r}"
    assert hooks.writable == []
    _cap_pages(h, ROOM_PAGES)
    h.wait_count(TRIAL, 3)
    h.wait_for(lambda: hooks.writable == [TRIAL], "the episode's end reported")
    h.stop()


@pytest.mark.parametrize("inbox_backend", ["postgres"], indirect=True)
def test_postgresql_disk_full_pauses_like_sqlite(
    harness_factory: HarnessFactory, inbox_place: InboxPlace,
) -> None:
    """PostgreSQL's own disk_full (SQLSTATE 53100), sent by the server mid-transaction, is a
    full disk too: the stream pauses and probes (never exits 1 into a restart loop), and the
    batch lands once there is room. (A real full tablespace needs a mount this test cannot
    make; the server-raised 53100 is the same error psycopg sees then.)"""
    h = harness_factory(topics=(TRIAL,))
    h.hooks = hooks = PauseHooks()
    h.start()
    h.wait_for(lambda: h.inbox.checkpoint(TRIAL).replay_id is not None, "first checkpoint")
    refuse_inserts(inbox_place, disk_full=True)
    h.publish_trials(3)
    h.wait_for(lambda: len(hooks.full) >= 2, "two refused attempts (the probe retries)")
    assert h.running(), f"the intake stopped: {h.failure!r}"
    allow_inserts(inbox_place)
    h.wait_count(TRIAL, 3)
    h.wait_for(lambda: hooks.writable == [TRIAL], "the episode's end reported")
    h.stop()
