"""Open query cursors: the rows of a query not yet fetched, behind a ``nextRecordsUrl`` locator.

Salesforce snapshots a query's result and serves it in batches; the locator looks like
``01gRO0000016PIAYA2-2000`` (cursor ID, dash, offset of the next batch). Cursors here expire
after 15 minutes without use, as Salesforce's do.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from emulator.ids import random_id

IDLE_EXPIRY_S = 15 * 60


@dataclass
class Cursor:
    """A snapshot of serialized records and the batch size it was opened with."""

    records: list[dict[str, Any]]
    batch_size: int
    touched: float = field(default_factory=time.monotonic)


class QueryCursors:
    """Locator → cursor, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, Cursor] = {}

    def open(self, records: list[dict[str, Any]], batch_size: int) -> str:
        """Keep ``records`` and return the new cursor's ID (the locator without offset)."""
        cursor_id = random_id("01g")
        with self._lock:
            self._expire()
            self._open[cursor_id] = Cursor(records, batch_size)
        return cursor_id

    def get(self, cursor_id: str) -> Cursor | None:
        with self._lock:
            self._expire()
            cursor = self._open.get(cursor_id)
            if cursor is not None:
                cursor.touched = time.monotonic()
            return cursor

    def _expire(self) -> None:
        limit = time.monotonic() - IDLE_EXPIRY_S
        for cursor_id in [k for k, c in self._open.items() if c.touched < limit]:
            del self._open[cursor_id]
