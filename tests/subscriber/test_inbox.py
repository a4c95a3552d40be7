"""The inbox on its own: atomic batch + checkpoint, dedupe, consumers' side, pruning, status."""

from __future__ import annotations

import datetime as dt
import decimal
import os
import sqlite3
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers.inbox_places import BACKENDS, PgPlace

from subscriber.errors import Fatal, InboxFailed
from subscriber.events import (
    ChangeHeader,
    DecodedEvent,
    EntryKind,
    EntryStatus,
    TopicCounts,
    UndecodableEvent,
)
from subscriber.inbox import Inbox
from subscriber.inbox_api import InboxStore
from subscriber.inbox_file import open_db
from subscriber.inbox_pg import PgInbox

T = "/event/T__e"
OpenInbox = Callable[..., InboxStore]


@pytest.fixture(params=BACKENDS)
def open_inbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenInbox]:
    """``open_inbox(**kwargs)``: the same inbox again on each call, on the SQLite file or on
    a fresh PostgreSQL schema (upgraded first, as ``db upgrade`` would), fenced by a lease this
    process holds, as the daemon's is."""
    if request.param == "sqlite":
        yield lambda **kw: Inbox(tmp_path / "i.db", **kw)
        return
    place = PgPlace(request.getfixturevalue("pg_dsn"))
    yield place.open
    place.close()


def fail_inserts_of(inbox: InboxStore, event_id: str, tmp_path: Path) -> None:
    """Make the backend refuse to store ``event_id`` (the engine's own error, mid-batch)."""
    if isinstance(inbox, PgInbox):
        with inbox.pool.connection() as conn:
            conn.execute("CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                         "IF NEW.event_id = '" + event_id + "' THEN RAISE 'boom'; END IF; "
                         "RETURN NEW; END $$")
            conn.execute("CREATE TRIGGER boom BEFORE INSERT ON lsync_entries FOR EACH ROW "
                         "EXECUTE FUNCTION boom()")
        return
    with sqlite3.connect(tmp_path / "i.db") as db:
        db.execute(f"CREATE TRIGGER boom BEFORE INSERT ON entries WHEN NEW.event_id = "
                   f"'{event_id}' BEGIN SELECT RAISE(ABORT, 'boom'); END")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def event(i: int, topic: str = T) -> DecodedEvent:
    return DecodedEvent(topic, bytes([0, 0, 0, 0, 0, 7, 111, 91, 0, i]), f"uuid-{i}", "s1",
                        EntryKind.EVENT, {"n": i, "blob": b"\x00\x01"})


def test_batch_and_checkpoint_commit_together(open_inbox: OpenInbox, tmp_path: Path) -> None:
    with open_inbox() as inbox:
        stats = inbox.store_batch(T, [event(1), event(2)], b"\x00" * 9 + b"\x02")
        assert (stats.stored, stats.duplicates, stats.poison) == (2, 0, 0)
        assert inbox.checkpoint(T).replay_id == b"\x00" * 9 + b"\x02"
        fail_inserts_of(inbox, "uuid-4", tmp_path)
        with pytest.raises(InboxFailed, match="inbox write failed"):
            inbox.store_batch(T, [event(3), event(4)], b"\xff" * 10)
        assert inbox.checkpoint(T).replay_id == b"\x00" * 9 + b"\x02"
        assert [e.event_id for e in inbox.pending()] == ["uuid-1", "uuid-2"]


def test_duplicates_dropped_and_values_round_trip(open_inbox: OpenInbox) -> None:
    change = ChangeHeader("Lead", "UPDATE", "", ("00Q1",), "tk", 3, 1, 2**62, "005",
                          ("Email", "Name.LastName"), (), ())
    cdc = DecodedEvent(T, b"\x01" * 10, "", "s2", EntryKind.CHANGE, {"x": None}, change)
    poison = UndecodableEvent(T, b"\x02" * 10, "uuid-9", "s1", b"\xff", "bad payload")
    with open_inbox() as inbox:
        inbox.store_batch(T, [event(1), cdc, poison], b"\x02" * 10)
        stats = inbox.store_batch(T, [event(1), cdc, poison, event(2)], b"\x03" * 10)
        assert (stats.stored, stats.duplicates) == (1, 3)
        first, second, third = inbox.pending()
        assert first.replay_id == bytes([0, 0, 0, 0, 0, 7, 111, 91, 0, 1])
        assert first.payload == {"n": 1, "blob": "AAE="}
        assert second.change == change
        assert second.dedupe_key == "txn:tk:3"
        assert third.event_id == "uuid-2"
        [bad] = inbox.entries(EntryStatus.POISON)
        assert (bad.raw, bad.error, bad.kind) == (b"\xff", "bad payload", EntryKind.UNDECODABLE)


def test_consumers_apply_and_prune(open_inbox: OpenInbox) -> None:
    clock = Clock()
    with open_inbox(applied_retention_s=100.0, clock=clock) as inbox:
        inbox.store_batch(T, [event(i) for i in range(4)], b"\x01" * 10)
        ids = [e.id for e in inbox.pending(limit=2)]
        assert inbox.mark_applied(ids) == 2
        assert inbox.mark_applied(ids) == 0
        assert inbox.mark_poison([inbox.pending()[0].id], "handler gave up") == 1
        assert [e.error for e in inbox.entries(EntryStatus.APPLIED)] == ["", ""]
        assert [e.error for e in inbox.entries(EntryStatus.POISON)] == ["handler gave up"]
        clock.now += 30
        assert inbox.counts_by_topic() == {T: TopicCounts(1, 2, 1, 30.0)}
        assert inbox.prune() == 0
        clock.now += 101
        assert inbox.prune() == 2
        assert inbox.counts_by_topic()[T].applied == 0
        inbox.store_batch(T, [event(0)], b"\x01" * 10)  # pruned: no longer a duplicate
        assert inbox.counts_by_topic()[T].pending == 2


def test_keepalive_checkpoint_only_when_changed(open_inbox: OpenInbox) -> None:
    with open_inbox(clock=lambda: 1_700_000_000.25) as inbox:
        assert inbox.checkpoint(T) == (None, None)
        assert inbox.advance_checkpoint(T, b"\x01" * 10)
        assert not inbox.advance_checkpoint(T, b"\x01" * 10)
        assert not inbox.advance_checkpoint(T, b"")
        replay_id, written = inbox.checkpoint(T)
        assert replay_id == b"\x01" * 10
        assert written == dt.datetime.fromtimestamp(1_700_000_000.25, dt.UTC)
        assert inbox.counts_by_topic() == {T: TopicCounts(0, 0, 0, None)}


def test_readonly_and_bad_files(tmp_path: Path) -> None:
    with pytest.raises(Fatal, match="no inbox"):
        Inbox.open_readonly(tmp_path / "missing.db")
    Inbox(tmp_path / "i.db").close()
    with Inbox.open_readonly(tmp_path / "i.db") as ro:
        assert ro.counts_by_topic() == {}
        with pytest.raises(InboxFailed):
            ro.advance_checkpoint(T, b"\x01")
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(Fatal):
        Inbox(tmp_path / "junk.db")
    with sqlite3.connect(tmp_path / "i.db") as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(Fatal, match="schema 99"):
        Inbox(tmp_path / "i.db")


@pytest.mark.parametrize(("server_pending", "moves"), [(0, False), (3, True)])
def test_keepalive_moves_the_checkpoint_only_when_caught_up(
    open_inbox: OpenInbox, server_pending: int, moves: bool
) -> None:
    """With no credit left at the server, events may be waiting there that the keepalive's
    latest_replay_id would skip; only a stream with unused credit is caught up.

    White-box on purpose: the emulator cannot be made to send a keepalive while the client
    holds no credit (the caught-up case runs publicly in test_intake_basic)."""
    from proto import pubsub_api_pb2 as pb
    from subscriber.codec import SchemaCache
    from subscriber.hooks import IntakeHooks
    from subscriber.settings import IntakeSettings
    from subscriber.stream import TopicStream

    inbox = open_inbox()
    settings = IntakeSettings(endpoint="127.0.0.1:1", topics=("/event/X__e",), ca_file=None)
    stream = TopicStream("/event/X__e", settings, client=None, sessions=None,
                         schemas=SchemaCache(lambda sid: ""), inbox=inbox, hooks=IntakeHooks())
    stream._land(pb.FetchResponse(latest_replay_id=b"\x01" * 10,
                                  pending_num_requested=server_pending))
    assert (inbox.checkpoint("/event/X__e").replay_id == b"\x01" * 10) is moves
    inbox.close()


def test_logical_type_values_are_stored_as_text_and_the_unstorable_become_poison(
    open_inbox: OpenInbox,
) -> None:
    """Avro logical types decode to Decimal, datetime, date, time and UUID; none may stop the
    stream. A value nothing can encode makes that one event a poison entry, not an error."""
    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    odd = DecodedEvent(T, b"\x05" * 10, "uuid-5", "s1", EntryKind.EVENT,
                       {"n": 5, "x": object()}, raw=b"\x0a\x0b")
    logical = DecodedEvent(T, b"\x06" * 10, "uuid-6", "s1", EntryKind.EVENT, {
        "amount": decimal.Decimal("12.50"), "at": when, "day": when.date(),
        "clock": dt.time(8, 15), "id": ident, "blob": b"\x00\x01"})
    with open_inbox() as inbox:
        stats = inbox.store_batch(T, [event(1), odd, logical], b"\x06" * 10)
        assert (stats.stored, stats.poison) == (3, 1)
        assert [p.event_id for p in stats.poisoned] == ["uuid-5"]
        assert inbox.checkpoint(T).replay_id == b"\x06" * 10
        assert [e.event_id for e in inbox.pending()] == ["uuid-1", "uuid-6"]
        assert inbox.pending()[1].payload == {
            "amount": "12.50", "at": "2024-05-01T12:30:00+00:00", "day": "2024-05-01",
            "clock": "08:15:00", "id": str(ident), "blob": "AAE="}
        [bad] = inbox.entries(EntryStatus.POISON)
        assert (bad.kind, bad.raw, bad.dedupe_key) == (EntryKind.UNDECODABLE, b"\x0a\x0b",
                                                       "uuid:uuid-5")
        assert "cannot be stored" in bad.error
        assert "object" in bad.error
        again = inbox.store_batch(T, [odd], b"\x07" * 10)  # a redelivery is still a duplicate
        assert (again.duplicates, again.poison) == (1, 0)


def test_a_truncated_inbox_is_refused_as_damaged(tmp_path: Path) -> None:
    path = tmp_path / "i.db"
    with Inbox(path) as inbox:
        for n in range(20):
            batch = [DecodedEvent(T, bytes([n, i]) * 5, f"u-{n}-{i}", "s1", EntryKind.EVENT,
                                  {"pad": "x" * 400}) for i in range(50)]
            inbox.store_batch(T, batch, bytes([n]) * 10)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(Fatal, match="not a usable inbox") as refused:
        Inbox(path)
    assert str(refused.value).endswith(
        ". The file is damaged (truncated, overwritten or not an inbox); the daemon will not "
        "write on top of it")


def test_a_jump_is_recorded_until_the_topics_next_checkpoint(open_inbox: OpenInbox) -> None:
    clock = Clock()
    with open_inbox(clock=clock) as inbox:
        assert inbox.pending_jump(T) is None
        first = inbox.record_jump(T, "latest", b"", starting=True)
        clock.now += 60
        again = inbox.record_jump(T, "latest", b"", starting=True)
        assert (again.at, again.starts) == (first.at, 2), "the first decision's time is kept"
        assert inbox.pending_jump(T) == again
        inbox.advance_checkpoint(T, b"\x01" * 10)
        assert inbox.pending_jump(T) is None
        inbox.record_jump(T, "earliest", b"\x01" * 10, starting=False)
        inbox.store_batch(T, [event(1)], b"\x02" * 10)
        assert inbox.pending_jump(T) is None


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_inbox_files_are_created_private_whatever_the_umask(tmp_path: Path) -> None:
    """README: 0600 files. They hold customers' email addresses."""
    old = os.umask(0o022)
    try:
        with Inbox(tmp_path / "i.db") as inbox:
            inbox.store_batch(T, [event(1)], b"\x01" * 10)
            files = {p.name: _mode(p) for p in tmp_path.iterdir()}
    finally:
        os.umask(old)
    assert files == {"i.db": 0o600, "i.db-wal": 0o600, "i.db-shm": 0o600}


def test_an_existing_readable_inbox_is_made_private(tmp_path: Path) -> None:
    Inbox(tmp_path / "i.db").close()
    (tmp_path / "i.db").chmod(0o644)
    Path(f"{tmp_path / 'i.db'}-wal").touch(mode=0o664)
    with Inbox(tmp_path / "i.db"):
        assert _mode(tmp_path / "i.db") == 0o600
        assert _mode(Path(f"{tmp_path / 'i.db'}-wal")) == 0o600


def test_the_inbox_connection_is_wal_with_synchronous_full(tmp_path: Path) -> None:
    """README: SQLite WAL, synchronous FULL: a committed batch survives power loss, not only
    a crash of the process (NORMAL/OFF in WAL mode may lose the last commits)."""
    db = open_db(tmp_path / "i.db", readonly=False)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA synchronous").fetchone() == (2,)  # 2 = FULL
    finally:
        db.close()
    ro = open_db(tmp_path / "i.db", readonly=True)
    try:
        assert ro.execute("PRAGMA synchronous").fetchone() == (2,)
    finally:
        ro.close()


def test_a_path_with_uri_characters_opens_that_file_read_only(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """``?`` and ``#`` in a path must not end the file name of the read-only URI."""
    monkeypatch.chdir(tmp_path)
    odd = tmp_path / "st#1?x=y%20"
    odd.mkdir()
    with Inbox(odd / "inbox.db") as inbox:
        inbox.store_batch(T, [event(1)], b"\x01" * 10)
    before = sorted(p.name for p in tmp_path.iterdir())
    with Inbox.open_readonly(Path("st#1?x=y%20") / "inbox.db") as ro:  # relative, too
        assert ro.counts_by_topic()[T].pending == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before == ["st#1?x=y%20"]


def test_pending_entries_of_one_topic(open_inbox: OpenInbox) -> None:
    other = "/event/Other__e"
    with open_inbox() as inbox:
        inbox.store_batch(T, [event(1)], b"\x01" * 10)
        inbox.store_batch(other, [DecodedEvent(other, b"\x09" * 10, "o-1", "s1",
                                               EntryKind.EVENT, {"n": 9})], b"\x09" * 10)
        assert [e.event_id for e in inbox.pending(topic=other)] == ["o-1"]
        assert [e.event_id for e in inbox.pending(topic=T)] == ["uuid-1"]
        assert [e.event_id for e in inbox.pending()] == ["uuid-1", "o-1"]


def test_the_oldest_pending_age_is_exact_from_zero(open_inbox: OpenInbox) -> None:
    clock = Clock()
    with open_inbox(clock=clock) as inbox:
        inbox.store_batch(T, [event(1)], b"\x01" * 10)
        assert inbox.counts_by_topic()[T].oldest_pending_age_s == 0.0
        clock.now += 0.25
        assert inbox.counts_by_topic()[T].oldest_pending_age_s == 0.25


def test_identity_is_what_the_file_records(tmp_path: Path) -> None:
    before = time.time()
    with Inbox(tmp_path / "i.db") as inbox:
        after = time.time()
        identity = inbox.identity()
        assert repr(inbox) == f"Inbox({str(tmp_path / 'i.db')!r})"
    with sqlite3.connect(tmp_path / "i.db") as db:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    assert identity.inbox_id == meta["inbox_id"] != ""
    assert identity.created_at == float(meta["created_at"])
    assert before <= identity.created_at <= after
