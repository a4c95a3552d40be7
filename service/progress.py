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
from pathlib import Path

from service.connection_state import ConnectionTracker
from service.event_labels import event_type, workspace_id
from service.inbox_full_episode import FullInboxEpisode
from service.sentry_setup import report as report_to_sentry
from subscriber.errors import InboxFull
from subscriber.events import BatchStats, DecodedEvent, Received, UndecodableEvent
from subscriber.hooks import IntakeHooks
from subscriber.settings import ReplayPolicy

log = logging.getLogger("lifecycle_sync.intake")
landed_log = logging.getLogger("lifecycle_sync.landed")


class DaemonHooks(IntakeHooks):
    """Per-topic totals and last-sign-of-life times; thread-safe (streams run on threads)."""

    def __init__(self, topics: Iterable[str], stale_after_s: float,
                 clock: Callable[[], float] = time.monotonic,
                 state_dir: Path | None = None,
                 on_stored: Callable[[], None] | None = None) -> None:
        self._clock = clock
        self._on_stored = on_stored
        self._stale_after_s = stale_after_s
        self._lock = threading.Lock()
        now = clock()
        self._seen = {t: now for t in topics}
        self._totals = {t: [0, 0, 0] for t in self._seen}  # stored, duplicates, poison
        # Logs connection changes once each; writes STATE/connection.json for `status`.
        self.connection = ConnectionTracker(self._seen, state_dir)
        # A full disk under the inbox: one alert per episode (the apply loop reports too).
        self.full_inbox = FullInboxEpisode()

    def batch_stored(self, topic: str, stats: BatchStats) -> None:
        with self._lock:
            self._seen[topic] = self._clock()
            totals = self._totals.setdefault(topic, [0, 0, 0])
            totals[0] += stats.stored
            totals[1] += stats.duplicates
            totals[2] += stats.poison
        self.connection.connected(topic)
        if stats.stored and self._on_stored is not None:
            self._on_stored()  # wake the apply loop: never blocks, never waits for Salesforce
        # Poison is reported by the intake, once per (topic, error class); see subscriber.poison.
        log_batch(topic, stats)

    def poisoned(self, topic: str, event: UndecodableEvent) -> None:
        report_to_sentry("poison", event.error_class, event.error,
                         {"topic": topic, "event_type": "undecodable",
                          "event_id": event.event_id or None}, level="error")

    def topic_ready(self, topic: str) -> None:
        self._touch(topic)
        self.connection.connected(topic)

    def subscribed(self, topic: str) -> None:
        # After a reconnect this is the first sign the stream is back: without it a quiet
        # topic stayed "failing" until its keepalive, up to 270 s later.
        self._touch(topic)
        self.connection.connected(topic)

    def keepalive(self, topic: str, replay_id: bytes) -> None:
        self._touch(topic)
        self.connection.connected(topic)
        log.debug("keepalive topic=%s latest_replay_id=%s", topic, replay_id.hex())

    def reconnecting(self, topic: str, reason: str, delay_s: float) -> None:
        self._touch(topic)
        self.connection.failed(topic, reason, delay_s)  # logs once per kind of failure

    def inbox_full(self, topic: str, exc: InboxFull) -> None:
        self._touch(topic)  # paused by design, retrying: alive (a restart cannot make room)
        self.full_inbox.full(topic, exc)

    def inbox_writable(self, topic: str) -> None:
        self._touch(topic)
        self.full_inbox.writable(topic)

    def replay_rejected(self, topic: str, replay_id: bytes, policy: ReplayPolicy) -> None:
        # The stream logs the refusal (policy earliest/latest) or stops the daemon with it
        # (policy fail), once either way; this only counts as a sign of life.
        self._touch(topic)

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


def log_batch(topic: str, stats: BatchStats) -> None:
    """One INFO line per committed batch that added events (count, topic, first and last
    replay ID); each event only at DEBUG. A line per event through the scrubbing formatter was
    a third of the intake's CPU in a backlog (README "Performance")."""
    log.debug("batch committed topic=%s stored=%d duplicates=%d poison=%d",
              topic, stats.stored, stats.duplicates, stats.poison)
    if stats.landed:
        landed_log.info("landed %d topic=%s duplicates=%d poison=%d replay_ids=%s..%s",
                        stats.stored, topic, stats.duplicates, stats.poison,
                        stats.landed[0].replay_id.hex(), stats.landed[-1].replay_id.hex())
    if landed_log.isEnabledFor(logging.DEBUG):
        for event in stats.landed:
            log_landed(event)


def log_landed(event: Received) -> None:
    """One DEBUG line per event newly stored: topic, type, workspace, replay ID; never the
    email or other payload fields (they are personal data)."""
    if not isinstance(event, DecodedEvent):
        return  # poison entries are reported once per error class by subscriber.poison
    landed_log.debug("landed topic=%s type=%s workspace=%s replay_id=%s", event.topic,
                     event_type(event.kind, event.payload, event.change),
                     workspace_id(event.payload), event.replay_id.hex())
