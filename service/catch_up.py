"""The apply loop gives way to the intake for a moment while it drains a backlog.

Intake and apply share one interpreter lock. After a restart (or an outage) the intake fetches
a backlog in full batches; with six apply workers converting the same events at once, landing
20,000 events took 3 to 5 times as long as the intake alone (README "Performance"), and every
event in that backlog is closer to the end of Pub/Sub's retention than any applied one. So
while any topic's batches come back at least half full (the server has more), the apply loop
claims no new cycle for :data:`STEP_S` after each batch; cycles in flight go on. One instance
serves every topic: the episode ends when no topic is draining any more (a quiet topic's small
batch does not end another topic's catch-up). Bounded: at
most :data:`MAX_S` per episode, and after an episode at least as long without one, so a steady
flood never starves applying. Nothing about durability changes: every batch is committed
before more is requested, whatever apply does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

STEP_S = 0.25
MAX_S = 2.0


class CatchUp:
    """Told of every committed batch; holds the apply loop back through ``defer(until)``
    (monotonic seconds), set once the apply loop exists. Thread-safe."""

    def __init__(self, batch_size: int, clock: Callable[[], float] = time.monotonic,
                 max_s: float = MAX_S) -> None:
        self.defer: Callable[[float], None] | None = None
        self._full = max(1, batch_size // 2)
        self._clock = clock
        self._max_s = max_s
        self._lock = threading.Lock()
        self._since: float | None = None  # when this episode began
        self._draining: set[str] = set()  # topics whose last batch was at least half full
        self._next_episode = 0.0  # not before (after an episode, apply gets as long)

    def batch(self, fetched: int, topic: str = "") -> None:
        """A batch of ``fetched`` events (new or duplicate) of ``topic`` was committed."""
        now = self._clock()
        with self._lock:
            if fetched < self._full:  # this topic caught up
                self._draining.discard(topic)
                if self._since is not None and not self._draining:  # the episode is over
                    self._next_episode = now + min(now - self._since, self._max_s)
                    self._since = None
                return
            self._draining.add(topic)
            if self._since is None:
                if now < self._next_episode:
                    return
                self._since = now
            until = min(now + STEP_S, self._since + self._max_s)
        defer = self.defer
        if defer is not None and until > now:
            defer(until)
