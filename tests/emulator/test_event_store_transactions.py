"""An event-store append is one SQLite transaction: all of its events or none of them.

The connection autocommits, where ``with connection:`` opens no transaction; an append of
200 change events used to be 200 commits, and a failure half-way left half of them stored.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from emulator.pubsub.store import EventStore, NewEvent

TOPIC = "/event/Bench__e"


def test_an_append_is_all_or_nothing(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "events.db")
    store.register_schema(TOPIC, "schema-1", "{}")
    broken = NewEvent("b", "schema-1", None)  # type: ignore[arg-type] - payload is NOT NULL
    with pytest.raises(sqlite3.IntegrityError):
        store.append(TOPIC, [NewEvent("a", "schema-1", b"x"), broken])
    assert store.read_after(TOPIC, 0, 10) == []

    stored = store.append(TOPIC, [NewEvent("c", "schema-1", b"y"), NewEvent("d", "schema-1", b"z")])
    assert [e.seq for e in stored] == [1, 2]
    assert [e.event_id for e in store.read_after(TOPIC, 0, 10)] == ["c", "d"]
    store.close()
