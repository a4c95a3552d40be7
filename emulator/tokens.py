"""Access tokens the emulator issued, shared by the Pub/Sub and REST halves.

Tokens are stored hashed in SQLite, so they survive a restart but the state directory does not
hold usable secrets. They look like Salesforce session IDs (``<orgId>!<opaque>``). Expiry is
per token; :meth:`TokenStore.expire_all` lets tests force every session to lapse.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    token_sha256 TEXT PRIMARY KEY, user_id TEXT NOT NULL, issued_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class TokenInfo:
    """Who a valid token belongs to, and when it was issued."""

    user_id: str
    issued_ms: int
    expires_ms: int


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Issue, check and expire access tokens."""

    def __init__(self, path: Path, org_id: str, lifetime_s: float = 7200.0) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._org_id = org_id
        self.lifetime_s = lifetime_s

    def issue(self, user_id: str, lifetime_s: float | None = None) -> tuple[str, TokenInfo]:
        """A new token for ``user_id`` and what it stands for."""
        token = f"{self._org_id[:15]}!{secrets.token_urlsafe(72)}"
        issued = int(time.time() * 1000)
        life = self.lifetime_s if lifetime_s is None else lifetime_s
        info = TokenInfo(user_id, issued, issued + int(life * 1000))
        with self._lock:
            self._db.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?)",
                (_digest(token), user_id, info.issued_ms, info.expires_ms),
            )
        return token, info

    def check(self, token: str) -> TokenInfo | None:
        """The token's owner when it exists and has not expired, else None."""
        if not token:
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT user_id, issued_ms, expires_ms FROM tokens WHERE token_sha256 = ?",
                (_digest(token),),
            ).fetchone()
        if row is None or row[2] <= int(time.time() * 1000):
            return None
        return TokenInfo(row[0], int(row[1]), int(row[2]))

    def expire_all(self, keep: tuple[str, ...] = ()) -> int:
        """Expire every token now but those in ``keep``; returns how many were still valid."""
        now = int(time.time() * 1000)
        kept = [_digest(t) for t in keep]
        marks = ", ".join("?" * len(kept))
        with self._lock:
            cur = self._db.execute(
                "UPDATE tokens SET expires_ms = ? WHERE expires_ms > ? "
                f"AND token_sha256 NOT IN ({marks})", (now, now, *kept)
            )
        return cur.rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()
