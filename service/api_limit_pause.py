"""The REQUEST_LIMIT_EXCEEDED pause as an episode the apply loop keeps in memory.

Salesforce refuses every call once the org's daily API allocation is spent. The apply loop
then pauses and probes every ``limit_pause_s``; on-call wants one WARNING and one Sentry
alert when a pause begins, one line when it ends, and nothing per probe. The episode lives
here, in the process, not in the inbox: the inbox's ``apply:paused`` meta is only a mirror
for ``lifecycle-sync status``. Keeping it only in the inbox went wrong three ways: a refused
meta write (full disk) made every probe look like a new pause (an alert per probe); a cycle
claimed before the pause but settled after it ended the pause falsely (a second alert at
the next probe); and a restart during a pause found "1" stored and stayed silent.

A restart during a pause: the new process alerts once, at its first refused call, saying
that the pause was already recorded before it started. One alert per episode per process
start; a duplicate after a restart is cheaper than a paused daemon no one was told about
(the old process may have been killed before its alert left).

Whether a settled cycle ends the pause depends on when it was *claimed*: each claim takes a
ticket, and only a cycle whose ticket is newer than the pause's start ends it.
"""

from __future__ import annotations

import contextlib
import logging
import threading

from handlers.errors import RequestLimited
from service.apply_reports import Reporter
from service.apply_settings import PAUSED_KEY
from subscriber.errors import InboxFull
from subscriber.inbox_api import ApplyInbox

log = logging.getLogger("lifecycle_sync.apply")


class ApiLimitPause:
    """Thread-safe. ``claimed()`` per cycle claimed, ``refused(exc)`` when Salesforce says
    REQUEST_LIMIT_EXCEEDED, ``settled(ticket)`` when a cycle's outcome is recorded."""

    def __init__(self, inbox: ApplyInbox, reporter: Reporter, pause_s: float) -> None:
        self._inbox, self._reporter, self._pause_s = inbox, reporter, pause_s
        self._lock = threading.Lock()
        self._claims = 0
        self._began_after: int | None = None  # claims issued when the pause began; None: none
        self._inherited = inbox.meta(PAUSED_KEY) == "1"  # a pause the last process recorded

    @property
    def paused(self) -> bool:
        with self._lock:
            return self._began_after is not None

    def claimed(self) -> int:
        """A ticket for the cycle being claimed now (compared with the pause's start)."""
        with self._lock:
            self._claims += 1
            return self._claims

    def refused(self, exc: RequestLimited) -> None:
        """A cycle hit the limit: begin a pause (WARNING, Sentry alert) unless one is on."""
        with self._lock:
            began = self._began_after is None
            if began:
                self._began_after = self._claims
            inherited, self._inherited = self._inherited, False
        if began:
            since = " (already paused before this process started)" if inherited else ""
            log.warning("Salesforce API limit reached (%s): applying paused%s, intake goes on; "
                        "trying again every %.0f s", exc, since, self._pause_s)
            self._reporter.alert(exc.error_class,
                                 f"API limit reached, applying paused{since}: {exc}")
            self._mirror("1")
        self._reporter.record(exc.error_class, str(exc))

    def settled(self, ticket: int) -> None:
        """A cycle went through: end the pause if the cycle was claimed after it began (an
        older one was in flight when the limit hit and proves nothing), with one line."""
        with self._lock:
            ended = self._began_after is not None and ticket > self._began_after
            if ended:
                self._began_after = None
            stale, self._inherited = self._inherited, False
        if ended or stale:
            log.warning("Salesforce API calls accepted again: applying resumed")
            self._mirror("0")

    def _mirror(self, value: str) -> None:
        """Show the pause in ``status``; a full disk only makes status miss it (raising would
        end the apply worker, and the episode itself is kept in memory)."""
        with contextlib.suppress(InboxFull):
            self._inbox.set_meta(PAUSED_KEY, value)
