"""Open query cursors: the rows of a query not yet fetched, behind a ``nextRecordsUrl`` locator.

Salesforce snapshots a query's result and serves it in batches; the locator looks like
``01gRO0000016PIAYA2-2000`` (cursor ID, dash, offset of the next batch). A cursor and its
results stay available for two days after the query ran, however often they are read, with no
limit on open cursors ("API Query Cursor Limits": the rule since API 56.0, for every version;
before it, cursors expired after 15 minutes of inactivity).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulator.ids import random_id

LIFETIME_S = 2 * 24 * 3600


@dataclass
class Cursor:
    """A snapshot of serialized records, the batch size it was opened with, when it was opened."""

    records: list[dict[str, Any]]
    batch_size: int
    opened: float


class QueryCursors:
    """Locator → cursor, thread-safe. ``clock`` (monotonic seconds) is replaceable for tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._open: dict[str, Cursor] = {}

    def open(self, records: list[dict[str, Any]], batch_size: int) -> str:
        """Keep ``records`` and return the new cursor's ID (the locator without offset)."""
        cursor_id = random_id("01g")
        with self._lock:
            self._expire()
            self._open[cursor_id] = Cursor(records, batch_size, self.clock())
        return cursor_id

    def get(self, cursor_id: str) -> Cursor | None:
        with self._lock:
            self._expire()
            return self._open.get(cursor_id)

    def _expire(self) -> None:
        limit = self.clock() - LIFETIME_S
        for cursor_id in [k for k, c in self._open.items() if c.opened < limit]:
            del self._open[cursor_id]
