"""Every admitted API call, in arrival order, for tests that must tell *who* called *when*
(admin API: ``GET /org/requests``, ``POST /org/requests/reset``).

The counters (:class:`~emulator.org.faults.CallCounters`) say how many calls of each kind
arrived; this log says which session made each one and when it arrived and ran, so a
failover test can prove that a process which lost its turn sent no write afterwards, and that
a new active's first write came after the old one's last. ``caller`` is a short digest of the
access token (never the token): each login gets its own. ``ran_at`` is when the call passed
the door's injected faults (a held call runs only when released); None when a fault refused
it. Bounded: the oldest entries go first; ``dropped`` says how many.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

MAX_ENTRIES = 20_000


@dataclass
class LoggedCall:
    seq: int
    kind: str
    object: str | None
    caller: str
    at: float  # epoch seconds (time.time()): comparable with the tests' and PostgreSQL's clocks
    ran_at: float | None = None


class RequestLog:
    """Thread-safe; one entry per call the door admitted (refused sessions are not calls)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._lock = threading.Lock()
        self._entries: deque[LoggedCall] = deque(maxlen=max_entries)
        self._seq = 0
        self._dropped = 0

    def arrived(self, kind: str, object_name: str | None, token: str) -> LoggedCall:
        caller = hashlib.sha256(token.encode()).hexdigest()[:12]
        with self._lock:
            self._seq += 1
            if len(self._entries) == self._entries.maxlen:
                self._dropped += 1
            entry = LoggedCall(self._seq, kind, object_name, caller, time.time())
            self._entries.append(entry)
            return entry

    def ran(self, entry: LoggedCall) -> None:
        with self._lock:
            entry.ran_at = time.time()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": [asdict(e) for e in self._entries], "dropped": self._dropped}

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
            self._dropped = 0
