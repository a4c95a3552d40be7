"""Episodes of a full disk under the inbox, as the daemon reports them (matrix case R13).

The intake's streams and the apply loop each pause on their own when the disk refuses an
inbox write (:mod:`subscriber.inbox_full`, :meth:`service.apply_loop.ApplyLoop`), and keep
retrying with backoff. An operator needs one alert, not one per topic and per retry: an
episode runs from the first refused write until every part that was refused has written
again, and gets one WARNING and one Sentry report (kind ``inbox``, its own fingerprint) when it
starts and one INFO line when it ends. While it runs, readiness (``/readyz``, systemd's
STATUS= line) names it. The watchdog stays fed meanwhile, by design: each refused retry is a
sign of life, and a restart could not make room.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from service.sentry_setup import report as report_to_sentry
from subscriber.errors import InboxFull

log = logging.getLogger("lifecycle_sync.inbox")
Report = Callable[[str, str, str], None]  # (kind, error_class, message)


def _sentry(kind: str, error_class: str, message: str) -> None:
    report_to_sentry(kind, error_class, message, level="warning")


def _paused(part: str) -> str:
    """What the refusal that started the episode paused (a topic's stream, or applying)."""
    if part == "apply":
        return ("applying paused: no apply cycle is claimed (no Salesforce call) until an "
                "inbox write goes through; the entries stay pending")
    return ("intake paused: no events are requested or acknowledged and the checkpoint "
            "stays put")


class FullInboxEpisode:
    """Thread-safe: stream threads and apply workers report into it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 report: Report = _sentry) -> None:
        self._clock = clock
        self._report = report
        self._lock = threading.Lock()
        self._parts: set[str] = set()  # refused and not yet written again
        self._since: float | None = None
        self.episodes = 0

    def full(self, part: str, exc: InboxFull) -> None:
        """``part`` (a topic, or ``apply``) had a write refused."""
        with self._lock:
            self._parts.add(part)
            if self._since is not None:
                return
            self._since = self._clock()
            self.episodes += 1
        message = (f"the disk refused an inbox write ({exc}); {_paused(part)}; retrying with "
                   "backoff and resuming by itself once there is room (free disk space)")
        log.warning("%s", message)
        self._report("inbox", "InboxFull", message)

    def writable(self, part: str) -> None:
        """``part`` wrote to the inbox again (cheap when no episode runs)."""
        with self._lock:
            if self._since is None or part not in self._parts:
                return
            self._parts.discard(part)
            if self._parts:
                return
            paused_s = self._clock() - self._since
            self._since = None
        log.info("inbox writable again after %.0f s: resumed (intake from its checkpoint, "
                 "apply with the entries still pending), nothing lost", paused_s)

    def probe(self, part: str, write: Callable[[], object]) -> InboxFull | None:
        """While ``part`` is refused: ``write()`` (a cheap inbox write); the refusal if the
        disk still refuses it, else None (and ``part`` wrote again). None at once, writing
        nothing, when ``part`` is not refused."""
        with self._lock:
            if part not in self._parts:
                return None
        try:
            write()
        except InboxFull as exc:
            return exc
        self.writable(part)
        return None

    def problem(self) -> str:
        """Why the daemon is not ready while an episode runs, else an empty string."""
        with self._lock:
            if self._since is None:
                return ""
            paused_s = self._clock() - self._since
            parts = ", ".join(sorted(self._parts))
        return (f"paused: the disk refuses inbox writes ({parts}) for {paused_s:.0f} s; "
                "retrying with backoff")
