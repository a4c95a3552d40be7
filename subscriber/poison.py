"""Poison entries reported once per kind of failure, then counted at a low rate.

A backlog of bad events (a schema nobody can fetch, a producer writing junk) would otherwise
log an ERROR per batch for as long as it lasts. The first poison entry of each (topic, error
class) in this process is logged at ERROR with its error and where to find it; later ones of
that class are only counted, summarised at WARNING at most once per ``interval_s`` (when more
arrive) and once more when the intake stops. The inbox keeps every one of them either way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from subscriber.events import UndecodableEvent

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 600.0


@dataclass
class _Tally:
    total: int
    unreported: int
    last_report: float


class PoisonReporter:
    """Thread-safe; one per intake, shared by its streams."""

    def __init__(
        self, interval_s: float = DEFAULT_INTERVAL_S, clock: Callable[[], float] = time.monotonic,
        on_first: Callable[[str, UndecodableEvent], None] | None = None,
    ) -> None:
        """``on_first(topic, event)``: also told of the first entry of each class (Sentry)."""
        self.interval_s = interval_s
        self._on_first = on_first
        self._clock = clock
        self._lock = threading.Lock()
        self._tallies: dict[tuple[str, str], _Tally] = {}

    def report(self, topic: str, poisoned: Sequence[UndecodableEvent]) -> None:
        """Account for the poison entries one batch added."""
        if not poisoned:
            return
        with self._lock:
            for event in poisoned:
                self._count(topic, event)
            self._summarise(due_only=True)

    def flush(self) -> None:
        """Summarise every count not yet reported (the intake is stopping)."""
        with self._lock:
            self._summarise(due_only=False)

    def _count(self, topic: str, event: UndecodableEvent) -> None:
        key = (topic, event.error_class)
        tally = self._tallies.get(key)
        if tally is not None:
            tally.total += 1
            tally.unreported += 1
            return
        self._tallies[key] = _Tally(total=1, unreported=0, last_report=self._clock())
        log.error(
            "%s: poison entry (%s): %s; kept in the inbox with its raw payload (event %s, "
            "replay ID %s) for review. Further '%s' entries on this topic are counted and "
            "summarised at most every %.0f s, not logged one by one",
            topic, event.error_class, event.error, event.event_id or "-",
            event.replay_id.hex(), event.error_class, self.interval_s,
        )
        if self._on_first is not None:
            self._on_first(topic, event)

    def _summarise(self, *, due_only: bool) -> None:
        now = self._clock()
        for (topic, error_class), tally in self._tallies.items():
            if not tally.unreported or (due_only and now - tally.last_report < self.interval_s):
                continue
            log.warning(
                "%s: %d more poison entries (%s) in the last %.0f s, %d since start; "
                "they are in the inbox with status poison",
                topic, tally.unreported, error_class, now - tally.last_report, tally.total,
            )
            tally.unreported = 0
            tally.last_report = now
