"""Opening the inbox's SQLite file: schema, version, identity and an integrity check.

A file that cannot be opened, is not an inbox, has another schema version or fails SQLite's
``quick_check`` (truncated, overwritten, torn) raises :class:`Fatal`: retrying cannot repair
it, and writing on top of a damaged inbox would lose the dedupe rows that make replays safe.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from subscriber.errors import Fatal

SCHEMA_VERSION = "1"
BUSY_TIMEOUT_MS = 10_000

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (
    topic TEXT PRIMARY KEY, replay_id BLOB NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL, dedupe_key TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
    replay_id BLOB NOT NULL, event_id TEXT NOT NULL, schema_id TEXT NOT NULL,
    payload TEXT, change TEXT, error TEXT NOT NULL DEFAULT '', raw BLOB,
    received_at REAL NOT NULL, applied_at REAL,
    UNIQUE (topic, dedupe_key));
CREATE INDEX IF NOT EXISTS entries_by_status ON entries (status, id);
CREATE INDEX IF NOT EXISTS entries_by_applied ON entries (applied_at) WHERE applied_at IS NOT NULL;
"""
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
_SQLITE_FULL = 13
_SQLITE_IOERR_WRITE = 778  # extended code: what a write refused with EFBIG or EDQUOT gives
_SET_DEFAULT = "INSERT OR IGNORE INTO meta VALUES (?, ?)"


def open_db(path: Path, readonly: bool) -> sqlite3.Connection:
    """A connection to a checked inbox (created first unless ``readonly``)."""
    db = _connect(path, readonly)
    try:
        if not readonly:
            _init_schema(db, path)
        _check_version(db, path)
        if not readonly:
            _check_integrity(db, path)
    except BaseException:
        db.close()
        raise
    return db


def damaged(path: Path, problem: object) -> Fatal:
    """The error for an inbox file that exists but cannot be used as one."""
    return Fatal(f"{path} is not a usable inbox: {problem}. The file is damaged (truncated, "
                 "overwritten or not an inbox); the daemon will not write on top of it")


def is_damage(exc: sqlite3.Error) -> bool:
    """True when SQLite says the file itself is bad (SQLITE_CORRUPT, SQLITE_NOTADB)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)


def is_disk_full(exc: sqlite3.Error) -> bool:
    """True when the disk refused a write: no space left (SQLITE_FULL), or a write error,
    which is what SQLite reports for a quota or file size limit (EDQUOT, EFBIG). A failing
    disk gives the same code; pausing and probing (:class:`~subscriber.errors.InboxFull`)
    suits it as well, and the operator is alerted either way."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and (code & 0xFF == _SQLITE_FULL or code == _SQLITE_IOERR_WRITE)


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    if not readonly:
        make_private(path)
    try:
        if readonly:
            db = sqlite3.connect(
                readonly_uri(path), uri=True, check_same_thread=False, isolation_level=None
            )
        else:
            db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    except sqlite3.Error as exc:
        raise Fatal(f"cannot open inbox {path}: {exc}") from None
    try:
        if not readonly:
            db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    except sqlite3.Error as exc:
        db.close()
        if is_damage(exc):
            raise damaged(path, exc) from None
        raise Fatal(f"cannot open inbox {path}: {exc}") from None
    return db


def readonly_uri(path: Path) -> str:
    """A ``file:`` URI that opens ``path`` read-only. The path is percent-encoded: a ``?`` or
    ``#`` in it would otherwise start the query or fragment, and SQLite would open (or create)
    a different file, e.g. ``st`` for ``st#1/inbox.db``."""
    return f"file:{quote(str(path.absolute()))}?mode=ro"


def make_private(path: Path, what: str = "inbox") -> None:
    """Create the SQLite file 0600 if missing and take group/other access away from it and its
    ``-wal``, ``-shm`` and ``-journal`` files: the inbox holds customers' email addresses (and
    the scheduler's ``jobs.db`` their hashes and run summaries). SQLite creates the WAL and
    shared-memory files with the database file's mode, so a 0600 file keeps them 0600
    whatever the umask."""
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        for name in (path, *(Path(f"{path}{s}") for s in ("-wal", "-shm", "-journal"))):
            with contextlib.suppress(FileNotFoundError):
                if name.stat().st_mode & 0o077:
                    name.chmod(0o600)
    except OSError as exc:
        raise Fatal(f"cannot open {what} {path}: {exc}") from None


def _init_schema(db: sqlite3.Connection, path: Path) -> None:
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _DDL.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(_SET_DEFAULT, ("schema_version", SCHEMA_VERSION))
            db.execute(_SET_DEFAULT, ("inbox_id", str(uuid.uuid4())))
            db.execute(_SET_DEFAULT, ("created_at", repr(time.time())))
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        if is_damage(exc):
            raise damaged(path, exc) from None
        raise Fatal(f"cannot initialise inbox {path}: {exc}") from None


def _check_version(db: sqlite3.Connection, path: Path) -> None:
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.Error as exc:
        raise damaged(path, exc) from None
    if row is None or row[0] != SCHEMA_VERSION:
        found = None if row is None else row[0]
        raise Fatal(f"{path} has inbox schema {found}, expected {SCHEMA_VERSION}")


def _check_integrity(db: sqlite3.Connection, path: Path) -> None:
    """SQLite's ``quick_check``: every page reachable and well-formed (no index cross-check)."""
    try:
        problems = [row[0] for row in db.execute("PRAGMA quick_check(5)")]
    except sqlite3.Error as exc:
        raise damaged(path, exc) from None
    if problems != ["ok"]:
        raise damaged(path, "; ".join(problems))
