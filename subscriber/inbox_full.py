"""What a topic's stream does when the disk refuses the inbox's write: pause, probe, resume.

Matrix case R13 (reliability-anchors.md §6): stop acknowledging and requesting, alert, never
move or damage the checkpoint, and resume from the last durable checkpoint with nothing lost
once there is room. Exiting instead (as the daemon once did) only crash-loops the unit into
``failed`` under ``Restart=on-failure`` while the disk stays full, and each restart fetches
the same batch again from the daily delivery allocation.

So the stream ends its Subscribe call (nothing more is asked for; no keepalive can move the
checkpoint) and keeps the one batch in hand. Storing that batch again, after each backoff
delay, is the probe: it is exactly the write that must fit, it is atomic (a refused attempt
leaves nothing behind), and once it goes through the batch is durable, so resubscribing from
the new checkpoint fetches nothing twice. Each refused attempt is reported through a hook, which
is also the stream's sign of life: the delays are capped at the stream backoff's maximum,
well inside the silence after which the daemon calls a topic wedged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from subscriber.errors import InboxFull
from subscriber.flow import Backoff
from subscriber.hooks import IntakeHooks, call_hook

T = TypeVar("T")


class InboxWritableAgain(Exception):
    """Internal to a stream: it was ended because the inbox was full, and the batch in hand
    is now stored; resubscribe from the new checkpoint at once."""


def store_when_writable(store: Callable[[], T], halt: threading.Event, backoff: Backoff,
                        on_full: Callable[[InboxFull], None]) -> tuple[T, bool]:
    """``store()``; while the disk refuses it, call ``on_full(exc)``, wait a backoff delay and
    try again. Returns ``(result, paused)``, ``paused`` True when at least one attempt was
    refused. When ``halt`` is set during a wait, re-raises the last :class:`InboxFull`: the
    daemon is stopping and the batch was not stored (the checkpoint did not move, so it is
    fetched again after the restart)."""
    paused = False
    while True:
        try:
            return store(), paused
        except InboxFull as exc:
            paused = True
            on_full(exc)
            if halt.wait(backoff.next_delay()):
                raise


class InboxPause:
    """One topic stream's pause (single-threaded: the stream's own thread uses it).

    ``end_stream`` cancels the stream's Subscribe call; the hooks ``inbox_full(topic, exc)``
    (each refused attempt) and ``inbox_writable(topic)`` (once it fits) tell the daemon, which
    alerts once per episode and keeps feeding the watchdog meanwhile."""

    def __init__(self, topic: str, hooks: IntakeHooks, halt: threading.Event, backoff: Backoff,
                 end_stream: Callable[[], None]) -> None:
        self._topic = topic
        self._hooks = hooks
        self._halt = halt
        self._backoff = backoff
        self._end_stream = end_stream
        self._paused = False  # a batch's probe waited: resubscribe from the new checkpoint
        # Any refusal, also one outside a probe (a jump or gap record, see Stream._refused):
        # the first write that goes through ends the episode, or /readyz stays 503 for good.
        self._owes_writable = False

    def write(self, write: Callable[[], T]) -> T:
        """``write()`` to the inbox, pausing the stream until the disk takes it."""
        result, paused = store_when_writable(write, self._halt, self._backoff, self.refused)
        if paused:
            self._paused = True
        if self._owes_writable:
            self._owes_writable = False
            call_hook("inbox_writable", lambda: self._hooks.inbox_writable(self._topic))
        return result

    def refused(self, exc: InboxFull) -> None:
        """A write was refused: end the stream (ask for nothing more) and report it."""
        self._owes_writable = True
        self._end_stream()
        call_hook("inbox_full", lambda: self._hooks.inbox_full(self._topic, exc))

    def resume_if_paused(self) -> None:
        """After a response is landed: raise :class:`InboxWritableAgain` if the stream was
        ended for a full inbox meanwhile (its batch is stored now)."""
        if self._paused:
            self._paused = False
            raise InboxWritableAgain
