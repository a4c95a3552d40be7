"""The daemon's intake hooks, also feeding metrics and readiness (:mod:`service.metrics`,
:mod:`service.health`). Kept apart from :mod:`service.progress`, which judges liveness."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from service.catch_up import CatchUp
from service.metrics import Metrics
from service.progress import DaemonHooks
from subscriber.events import BatchStats

if TYPE_CHECKING:
    from service.health import Health


class ObservedHooks(DaemonHooks):
    """:class:`DaemonHooks` plus counters and subscription state."""

    def __init__(self, topics: Iterable[str], metrics: Metrics,
                 catch_up: CatchUp | None = None, **kwargs: Any) -> None:
        super().__init__(topics, **kwargs)
        self.metrics = metrics
        self.catch_up = catch_up
        self.health: Health | None = None  # set once the apply loop exists
        self._subscribed: set[str] = set()

    def attach_health(self, health: Health) -> None:
        """Feed ``health`` from now on, told first of the topics already subscribed (the
        intake starts before the apply loop and the health built on it exist)."""
        with self._lock:
            self.health = health
            for topic in self._subscribed:
                health.subscribed(topic)

    def batch_stored(self, topic: str, stats: BatchStats) -> None:
        if self.catch_up is not None:  # before the apply loop is woken (super)
            self.catch_up.batch(stats.stored + stats.duplicates, topic)
        super().batch_stored(topic, stats)
        self.metrics.alive(topic)
        self.metrics.landed(topic, stats.landed, stats.poison)

    def subscribed(self, topic: str) -> None:
        super().subscribed(topic)
        self.metrics.alive(topic)
        with self._lock:
            self._subscribed.add(topic)
            if self.health is not None:
                self.health.subscribed(topic)

    def keepalive(self, topic: str, replay_id: bytes) -> None:
        super().keepalive(topic, replay_id)
        self.metrics.alive(topic)

    def reconnecting(self, topic: str, reason: str, delay_s: float) -> None:
        super().reconnecting(topic, reason, delay_s)
        self.metrics.reconnects.labels(topic).inc()
        with self._lock:
            self._subscribed.discard(topic)
            if self.health is not None:
                self.health.unsubscribed(topic)

    def totals(self) -> dict[str, list[int]]:
        """Per topic [stored, duplicates, poison] this run (for the STATUS line)."""
        with self._lock:
            return {t: list(v) for t, v in self._totals.items()}
