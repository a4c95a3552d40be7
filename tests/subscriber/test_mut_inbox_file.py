"""How the inbox tells a refusing disk and a damaged file from other SQLite errors: an error
that carries no SQLite result code (built by hand, or by a wrapper) is neither, so it stops
the daemon as a plain inbox failure instead of pausing the topic or calling the file damaged.
A file whose schema reads but whose data pages are damaged is refused by name at open."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from subscriber.errors import Fatal
from subscriber.events import DecodedEvent, EntryKind
from subscriber.inbox import Inbox
from subscriber.inbox_file import is_damage, is_disk_full

TOPIC = "/event/SelfServeTrialEvent__e"
PAGE = 4096


def test_an_error_without_a_sqlite_code_is_neither_a_full_disk_nor_damage() -> None:
    # Unreachable from sqlite3 itself (Python >= 3.11 sets sqlite_errorcode on every error it
    # raises at the inbox's call sites); kept so both checks stay total for an error built
    # by hand or re-raised by a wrapper, instead of raising AttributeError in an except block.
    exc = sqlite3.OperationalError("database or disk is full")  # the text alone decides nothing
    assert not hasattr(exc, "sqlite_errorcode")
    assert is_disk_full(exc) is False
    assert is_damage(exc) is False


def _error(code: int) -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError("x")
    exc.sqlite_errorcode = code  # type: ignore[attr-defined]
    return exc


def test_a_full_disk_and_a_damaged_file_are_told_apart_by_their_codes() -> None:
    full, corrupt, not_a_db = _error(13), _error(11), _error(26)  # FULL, CORRUPT, NOTADB
    assert (is_disk_full(full), is_damage(full)) == (True, False)
    assert (is_disk_full(corrupt), is_damage(corrupt)) == (False, True)
    assert (is_disk_full(not_a_db), is_damage(not_a_db)) == (False, True)


def test_a_damaged_data_page_found_by_the_integrity_check_is_refused_by_name(
        tmp_path: Path) -> None:
    path = tmp_path / "inbox.db"
    with Inbox(path) as inbox:
        inbox.store_batch(TOPIC, [DecodedEvent(TOPIC, bytes([n]), f"uuid-{n}", "schema",
                                               EntryKind.EVENT, {"note": "x" * 2000})
                                  for n in range(1, 40)], b"\x27")
    data = bytearray(path.read_bytes())
    last = len(data) - PAGE  # an entries page: the schema and meta pages stay readable
    data[last + 8:last + 40] = b"\xff" * 32
    path.write_bytes(bytes(data))
    with pytest.raises(Fatal, match="is not a usable inbox") as raised:
        Inbox(path)
    assert str(raised.value).startswith(f"{path} is not a usable inbox: ")
    # SQLite's words vary with which page the damage hit (the rows' timestamps shift the
    # layout): an error raised ("database disk image is malformed") or quick_check's list
    # ("*** in database main *** ..."); either way they follow the path.
    problem = str(raised.value).removeprefix(f"{path} is not a usable inbox: ")
    assert problem.partition(". The file is damaged")[0] not in ("", "ok")


def test_opening_an_inbox_takes_group_and_other_access_from_its_wal_and_shm(
        tmp_path: Path) -> None:
    path = tmp_path / "inbox.db"
    with Inbox(path) as first:  # keeps the -wal and -shm files in place
        first.set_meta("k", "v")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").chmod(0o644)
        with Inbox(path) as second:
            assert second.meta("k") == "v"
        modes = {s: Path(f"{path}{s}").stat().st_mode & 0o777 for s in ("", "-wal", "-shm")}
    assert modes == {"": 0o600, "-wal": 0o600, "-shm": 0o600}
