"""How the apply loop reports problems: once per error class at WARNING (then DEBUG), the
last one kept in the inbox for ``lifecycle-sync status``, and never an email address."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable

from subscriber.inbox_api import ApplyInbox

log = logging.getLogger("lifecycle_sync.apply")
LAST_ERROR_KEY = "apply:last_error"
_EMAIL = re.compile(r"[^\s<>@'\"]+@[^\s<>@'\"]+\.[A-Za-z]{2,}")


def scrub(text: str) -> str:
    """The text with anything shaped like an email address replaced (Salesforce's error
    messages may quote the value they refused)."""
    return _EMAIL.sub("<email>", text)


class Reporter:
    """Thread-safe; one per apply loop."""

    def __init__(self, inbox: ApplyInbox,
                 on_first: Callable[[str, str], None] | None = None) -> None:
        """``on_first(error_class, message)``: also told of each class once (Sentry)."""
        self._inbox = inbox
        self._on_first = on_first
        self._lock = threading.Lock()
        self._reported: set[str] = set()

    def report(self, error_class: str, message: str) -> None:
        """Log once per class at WARNING (later ones at DEBUG) and record it as the last."""
        self.record(error_class, message)
        with self._lock:
            first = error_class not in self._reported
            self._reported.add(error_class)
        if first:
            log.warning("apply: %s: %s (reported once per error class)", error_class,
                        scrub(message))
            if self._on_first is not None:
                self._on_first(error_class, scrub(message))
        else:
            log.debug("apply: %s: %s", error_class, scrub(message))

    def record(self, error_class: str, message: str) -> None:
        """Keep it as the last error (``status`` shows its class) without logging."""
        self._inbox.set_meta(LAST_ERROR_KEY, json.dumps(
            {"class": error_class, "message": scrub(message)[:300], "at": time.time()}))
