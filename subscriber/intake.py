"""The object the service runs: every configured topic subscribed on one channel, landing in
the inbox, until told to stop or until something only a human can fix."""

from __future__ import annotations

import logging
import threading
import time

import grpc

from subscriber.auth import SessionProvider
from subscriber.channel import PubSubClient, open_channel
from subscriber.codec import SchemaCache
from subscriber.hooks import IntakeHooks, call_hook
from subscriber.inbox_api import IntakeInbox
from subscriber.poison import PoisonReporter
from subscriber.settings import IntakeSettings
from subscriber.stream import TopicStream

log = logging.getLogger(__name__)

_STOP_POLL_S = 0.2
_CLOSE_GRACE_S = 5.0


class Intake:
    """Subscribes to ``settings.topics`` and commits what arrives to ``inbox``.

    The intake never calls consumers: they read the inbox. It owns its gRPC channel and its
    threads (one per topic) for the duration of :meth:`run`; the session provider and the
    inbox belong to the caller and may be shared (REST calls, the status command).
    """

    def __init__(
        self,
        settings: IntakeSettings,
        sessions: SessionProvider,
        inbox: IntakeInbox,
        hooks: IntakeHooks | None = None,
    ) -> None:
        self.settings = settings
        self._sessions = sessions
        self._inbox = inbox
        self._hooks = hooks or IntakeHooks()

    def __repr__(self) -> str:
        return f"Intake(topics={self.settings.topics!r}, endpoint={self.settings.endpoint!r})"

    def run(self, stop: threading.Event) -> None:
        """Block until ``stop`` is set, then stop asking for events, commit the batch in hand,
        close the streams and return; a login or unary call in flight is abandoned, not
        awaited. Raises :class:`~subscriber.errors.Fatal` (after closing everything) when a
        stream cannot continue."""
        channel = open_channel(self.settings)
        client = PubSubClient(channel, self._sessions, self.settings.rpc_timeout_s)
        schemas = SchemaCache(client.get_schema)
        hooks = self._hooks
        poison = PoisonReporter(on_first=lambda topic, event: call_hook(
            "poisoned", lambda: hooks.poisoned(topic, event)))
        streams = [
            TopicStream(topic, self.settings, client, self._sessions, schemas, self._inbox,
                        self._hooks, poison)
            for topic in self.settings.topics
        ]
        failures: list[BaseException] = []
        failed = threading.Event()
        threads = [
            threading.Thread(target=_guard, args=(s, failures, failed), name=f"intake {s.topic}",
                             daemon=True)
            for s in streams
        ]
        try:
            for thread in threads:
                thread.start()
            log.info("intake running: %s", ", ".join(self.settings.topics))
            while not failed.wait(_STOP_POLL_S) and not stop.is_set():
                pass
        finally:
            _shut_down(streams, threads, client, channel)
            poison.flush()
        if failures:
            first = failures[0]
            others = {f"{type(o).__name__}: {o}" for o in failures[1:]}
            others.discard(f"{type(first).__name__}: {first}")  # e.g. one rejected login
            for other in sorted(others):
                log.warning("also stopped: %s", other)
            raise first
        log.info("intake stopped")


def _shut_down(
    streams: list[TopicStream],
    threads: list[threading.Thread],
    client: PubSubClient,
    channel: grpc.Channel,
) -> None:
    """Stop asking, cancel unary calls and login waits, and let each stream commit the batch
    in hand; then close the channel. Never waits on the network: a login still blocked in
    HTTP runs on its own daemon thread, and a stream thread still busy after the grace period
    (a daemon thread too) is left behind: the inbox is transactional, so at worst the batch
    is fetched again after the restart."""
    for stream in streams:
        stream.close()
    client.close()
    deadline = time.monotonic() + _CLOSE_GRACE_S
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    channel.close()
    stuck = [thread.name for thread in threads if thread.is_alive()]
    if stuck:
        log.warning("not waiting for %s: still busy %.0f s after stop", ", ".join(stuck),
                    _CLOSE_GRACE_S)


def _guard(stream: TopicStream, failures: list[BaseException], failed: threading.Event) -> None:
    """Run a stream; hand anything it raises to the intake's thread, which re-raises the first
    (the caller logs it once, at ERROR) and logs any others at WARNING."""
    try:
        stream.run()
    except BaseException as exc:  # noqa: BLE001 - re-raised by Intake.run
        log.debug("%s: intake stream stopped: %s: %s", stream.topic, type(exc).__name__, exc)
        failures.append(exc)
        failed.set()
