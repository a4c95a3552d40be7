"""``org.db`` checkpoints its WAL in the background, and rows survive a restart either way."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from emulator.org import org_db
from emulator.org.records import RecordStore
from emulator.schema import build_catalog

USER = "0058d0000000009AAA"


def rows_in_main_file(path: Path) -> int | None:
    """Rows the database file itself holds, ignoring its WAL (``immutable`` skips the WAL);
    None while not even the table has been copied there."""
    db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        return int(db.execute("SELECT count(*) FROM records").fetchone()[0])
    except sqlite3.OperationalError:
        return None
    finally:
        db.close()


def test_a_commit_past_the_threshold_is_checkpointed_off_the_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RecordStore(tmp_path / "org.db", build_catalog())
    monkeypatch.setattr(org_db, "CHECKPOINT_BYTES", 10_000_000)
    with store.transaction(USER) as tx:
        tx.insert("Account", {"Name": "Small"})
    assert rows_in_main_file(tmp_path / "org.db") is None  # still only in the WAL

    monkeypatch.setattr(org_db, "CHECKPOINT_BYTES", 1)
    with store.transaction(USER) as tx:
        tx.insert("Account", {"Name": "Acme"})
    checkpointer = store._db._checkpointer
    assert checkpointer is not None
    checkpointer.join(timeout=10)
    assert rows_in_main_file(tmp_path / "org.db") == 2
    store.close()

    again = RecordStore(tmp_path / "org.db", build_catalog())
    with again.transaction(USER) as tx:
        assert sorted(r["Name"] for r in tx.rows("Account")) == ["Acme", "Small"]
    again.close()
