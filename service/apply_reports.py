"""How the apply loop reports problems: once per error class at WARNING (then DEBUG), the
last one kept in the inbox for ``lifecycle-sync status``, and never an email address."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from subscriber.errors import InboxFull
from subscriber.inbox_api import ApplyInbox

log = logging.getLogger("lifecycle_sync.apply")
LAST_ERROR_KEY = "apply:last_error"
Tags = Mapping[str, str | None]
# on_first(error_class, message, tags): Sentry's report, told of each class once.
OnFirst = Callable[[str, str, Tags], None]
_EMAIL = re.compile(r"[^\s<>@'\"]+@[^\s<>@'\"]+\.[A-Za-z]{2,}")


def scrub(text: str) -> str:
    """The text with anything shaped like an email address replaced (Salesforce's error
    messages may quote the value they refused)."""
    return _EMAIL.sub("<email>", text)


class Reporter:
    """Thread-safe; one per apply loop."""

    def __init__(self, inbox: ApplyInbox, on_first: OnFirst | None = None) -> None:
        """``on_first(error_class, message, tags)``: also told of each class once (Sentry),
        with the tags (topic, event type, workspace) of the event or batch that raised it."""
        self._inbox = inbox
        self._on_first = on_first
        self._lock = threading.Lock()
        self._reported: set[str] = set()

    def report_all(self, problems: Sequence[tuple[str, str]], tags: Tags | None = None) -> None:
        """:meth:`report` each (error class, message) of one cycle, recording only the last:
        one inbox write (an fsync'd commit) per cycle, not one per problem, which in a backlog
        of bad events cost the intake's commits their turn at the inbox."""
        for n, (error_class, message) in enumerate(problems):
            self.report(error_class, message, tags, record=n == len(problems) - 1)

    def report(self, error_class: str, message: str, tags: Tags | None = None,
               once_as: str = "", *, record: bool = True) -> None:
        """Log once per class at WARNING (later ones at DEBUG) and record it as the last.
        ``once_as``: count it once under this key instead (an event given up as poison is
        reported apart from the batch-level failures of the same class)."""
        if record:
            self.record(error_class, message)
        key = once_as or error_class
        with self._lock:
            first = key not in self._reported
            self._reported.add(key)
        if first:
            log.warning("apply: %s: %s (reported once per error class)", error_class,
                        scrub(message))
            if self._on_first is not None:
                self._on_first(error_class, scrub(message), tags or {})
        else:
            log.debug("apply: %s: %s", error_class, scrub(message))

    def alert(self, error_class: str, message: str) -> None:
        """Tell Sentry once per episode, not once per class per process (an API-limit pause
        starts anew each time the limit is hit); the caller logs its own WARNING."""
        if self._on_first is not None:
            self._on_first(error_class, scrub(message), {})

    def record(self, error_class: str, message: str) -> None:
        """Keep it as the last error (``status`` shows its class) without logging; not on a
        full disk (reported once per episode): raising here would end the apply worker."""
        try:
            self._inbox.set_meta(LAST_ERROR_KEY, json.dumps(
                {"class": error_class, "message": scrub(message)[:300], "at": time.time()}))
        except InboxFull:
            return
