"""A topic's pause for a full inbox, on a real SQLite file whose page limit refuses the write:
each refusal ends the stream and is reported; the write that finally fits is returned and
reported once as writable again, and a hook that raises is logged by name and changes
nothing."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from subscriber.errors import InboxFull
from subscriber.events import BatchStats, DecodedEvent, EntryKind
from subscriber.flow import Backoff
from subscriber.hooks import IntakeHooks
from subscriber.inbox import Inbox
from subscriber.inbox_full import InboxPause, InboxWritableAgain

TOPIC = "/event/SelfServeTrialEvent__e"
BIG = [DecodedEvent(TOPIC, bytes([n]), f"uuid-{n}", "s1", EntryKind.EVENT, {"note": "x" * 4000})
       for n in range(1, 6)]


class RoomOnFull(IntakeHooks):
    """Each refusal is recorded, and the second makes room (as an operator would)."""

    def __init__(self, inbox: Inbox, raise_on_writable: bool) -> None:
        self.inbox = inbox
        self.raise_on_writable = raise_on_writable
        self.full: list[str] = []
        self.writable: list[str] = []

    def inbox_full(self, topic: str, exc: InboxFull) -> None:
        self.full.append(topic)
        if len(self.full) == 2:
            _cap_pages(self.inbox, 1_000_000)

    def inbox_writable(self, topic: str) -> None:
        self.writable.append(topic)
        if self.raise_on_writable:
            raise RuntimeError("alerting backend down")


def _cap_pages(inbox: Inbox, pages: int) -> None:
    # inbox._db and _lock, private: max_page_count is a per-connection limit, so only the
    # inbox's own connection can be made to refuse writes like a full disk (a test cannot
    # fill the real disk); the inbox's public methods are what the pause then drives.
    with inbox._lock:
        inbox._db.execute(f"PRAGMA max_page_count={pages}")


def _paused_write(tmp_path: Path, raise_on_writable: bool) -> tuple[RoomOnFull, BatchStats, int]:
    """Store BIG through an InboxPause while the file has no room; (hooks, stats, ends)."""
    ends: list[bool] = []
    with Inbox(tmp_path / "inbox.db") as inbox:
        with inbox._lock:
            pages = int(inbox._db.execute("PRAGMA page_count").fetchone()[0])
        _cap_pages(inbox, pages)
        hooks = RoomOnFull(inbox, raise_on_writable)
        pause = InboxPause(TOPIC, hooks, threading.Event(), Backoff(0.001, 0.002),
                           lambda: ends.append(True))
        stats = pause.write(lambda: inbox.store_batch(TOPIC, BIG, b"\x05"))
        with pytest.raises(InboxWritableAgain):
            pause.resume_if_paused()
        pause.resume_if_paused()  # once only
        assert inbox.checkpoint(TOPIC).replay_id == b"\x05"
    return hooks, stats, len(ends)


def test_a_refused_write_pauses_until_it_fits_and_reports_writable_once(tmp_path: Path) -> None:
    hooks, stats, ends = _paused_write(tmp_path, raise_on_writable=False)
    assert stats.stored == 5
    assert (hooks.full, hooks.writable, ends) == ([TOPIC, TOPIC], [TOPIC], 2)


def test_a_raising_writable_hook_is_logged_by_name_and_the_write_still_returns(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="subscriber.hooks"):
        hooks, stats, _ = _paused_write(tmp_path, raise_on_writable=True)
    assert stats.stored == 5
    assert hooks.writable == [TOPIC]
    assert [r.getMessage() for r in caplog.records] == ["intake hook inbox_writable failed"]
