"""The few things the intake reports to the service (metrics, alerts, Sentry).

Subclass :class:`IntakeHooks` and override what you need; the defaults do nothing. A hook that
raises is logged and ignored: observability must never stop intake.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from subscriber.errors import InboxFull
from subscriber.events import BatchStats, UndecodableEvent
from subscriber.settings import ReplayPolicy

log = logging.getLogger(__name__)


class IntakeHooks:
    """No-op hooks; every method is called from a stream thread and must return quickly."""

    def batch_stored(self, topic: str, stats: BatchStats) -> None:
        """A fetched batch and the new checkpoint were committed to the inbox."""

    def topic_ready(self, topic: str) -> None:
        """GetTopic answered with a valid session and the topic allows subscribing: the
        endpoint, TLS, login and permission all work (once per stream, before Subscribe)."""

    def subscribed(self, topic: str) -> None:
        """A Subscribe stream is open: its first FetchRequest went out on a connected channel
        (on every attempt; the server answers only with events or its keepalive, which on a
        quiet topic comes up to ``keepalive_s`` later). Called on gRPC's request thread."""

    def keepalive(self, topic: str, replay_id: bytes) -> None:
        """The server sent an empty keepalive response (the stream is alive)."""

    def reconnecting(self, topic: str, reason: str, delay_s: float) -> None:
        """The stream ended (``reason``); it resubscribes from the checkpoint in ``delay_s``."""

    def poisoned(self, topic: str, event: UndecodableEvent) -> None:
        """The first poison entry of its (topic, error class) in this process (for Sentry)."""

    def inbox_full(self, topic: str, exc: InboxFull) -> None:
        """The disk refused the inbox's write: ``topic``'s stream is ended and the write in
        hand retried with backoff (called on every refused attempt: a sign of life too)."""

    def inbox_writable(self, topic: str) -> None:
        """The retried write went through: ``topic`` resubscribes from its checkpoint."""

    def replay_rejected(self, topic: str, replay_id: bytes, policy: ReplayPolicy) -> None:
        """Salesforce refused the stored replay ID; ``policy`` is what happens next.

        With ``earliest`` or ``latest`` the stream jumps; alert on it, it is never routine.
        """


def call_hook(name: str, hook: Callable[[], None]) -> None:
    """Run one hook; log and swallow anything it raises."""
    try:
        hook()
    except Exception:
        log.exception("intake hook %s failed", name)
