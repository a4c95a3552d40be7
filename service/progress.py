"""What the daemon does with the intake's hooks: log, count, and judge liveness.

The systemd watchdog must be fed from progress, not from a timer: a timer thread keeps
pinging while a stream hangs. Every hook is evidence that a topic's loop is turning (a batch
committed, a keepalive received, a reconnect scheduled), so the daemon pings only while every
topic has shown such evidence recently.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from subscriber.events import BatchStats
from subscriber.hooks import IntakeHooks
from subscriber.settings import ReplayPolicy

log = logging.getLogger("lifecycle_sync.intake")


class DaemonHooks(IntakeHooks):
    """Per-topic totals and last-sign-of-life times; thread-safe (streams run on threads)."""

    def __init__(self, topics: Iterable[str], stale_after_s: float,
                 clock: Callable[[], float] = time.monotonic,
                 on_stored: Callable[[], None] | None = None) -> None:
        self._clock = clock
        self._on_stored = on_stored
        self._stale_after_s = stale_after_s
        self._lock = threading.Lock()
        now = clock()
        self._seen = {t: now for t in topics}
        self._totals = {t: [0, 0, 0] for t in self._seen}  # stored, duplicates, poison

    def batch_stored(self, topic: str, stats: BatchStats) -> None:
        with self._lock:
            self._seen[topic] = self._clock()
            totals = self._totals.setdefault(topic, [0, 0, 0])
            totals[0] += stats.stored
            totals[1] += stats.duplicates
            totals[2] += stats.poison
        if stats.stored and self._on_stored is not None:
            self._on_stored()  # wake the apply loop: never blocks, never waits for Salesforce
        # Poison is reported by the intake, once per (topic, error class); see subscriber.poison.
        log.debug("batch committed topic=%s stored=%d duplicates=%d poison=%d",
                  topic, stats.stored, stats.duplicates, stats.poison)

    def keepalive(self, topic: str, replay_id: bytes) -> None:
        self._touch(topic)
        log.debug("keepalive topic=%s latest_replay_id=%s", topic, replay_id.hex())

    def reconnecting(self, topic: str, reason: str, delay_s: float) -> None:
        self._touch(topic)
        log.warning("stream ended topic=%s reason=%s; resubscribing in %.1f s",
                    topic, reason, delay_s)

    def replay_rejected(self, topic: str, replay_id: bytes, policy: ReplayPolicy) -> None:
        self._touch(topic)
        log.error("stored replay ID refused topic=%s replay_id=%s policy=%s",
                  topic, replay_id.hex(), policy.value)

    def alive(self) -> bool:
        """True while every topic has shown life within ``stale_after_s``."""
        now = self._clock()
        with self._lock:
            return all(now - seen <= self._stale_after_s for seen in self._seen.values())

    def summary(self) -> str:
        """``topic stored=… duplicates=… poison=…`` for every topic, one string."""
        with self._lock:
            return "; ".join(f"{t} stored={s} duplicates={d} poison={p}"
                             for t, (s, d, p) in sorted(self._totals.items()))

    def _touch(self, topic: str) -> None:
        with self._lock:
            self._seen[topic] = self._clock()
