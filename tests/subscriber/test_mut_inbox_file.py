"""How the inbox tells a refusing disk and a damaged file from other SQLite errors: an error
that carries no SQLite result code (built by hand, or by a wrapper) is neither, so it stops
the daemon as a plain inbox failure instead of pausing the topic or calling the file damaged."""

from __future__ import annotations

import sqlite3

from subscriber.inbox_file import is_damage, is_disk_full


def test_an_error_without_a_sqlite_code_is_neither_a_full_disk_nor_damage() -> None:
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
