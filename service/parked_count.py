"""The parked Error count the sync SLA judges, counted by the retry-parked job.

Why not by the SLA monitor itself: the monitor runs on the daemon's main thread, the one that
feeds systemd's watchdog. One slow or hung Salesforce query there (10 s connect, 120 s read,
three tries) outlasts ``WatchdogSec`` and gets a healthy daemon killed; a count every
``sla.check_interval_s`` also cost 2,880 API calls a day. So the retry-parked job, which
already talks to Salesforce every 5 minutes on a scheduler thread, ends each run with one
``SELECT COUNT()`` (one API call: 288 a day at the default interval, none when
``sla.parked_errors_max`` is 0) and stores the figure in the inbox's meta table; the monitor
reads the last stored figure, which costs nothing. While applying is paused for
REQUEST_LIMIT_EXCEEDED the count is skipped (the monitor keeps the last figure). A failing
count is logged once at WARNING per episode, and once more when it works again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Protocol

from service.apply_settings import PAUSED_KEY
from subscriber.errors import InboxFull, SubscriberError

log = logging.getLogger("lifecycle_sync.sla")
PARKED_ERRORS_KEY = "sla:parked_errors"
PARKED_ERRORS_SOQL = "SELECT COUNT() FROM Event_Cache__c WHERE Processing_Status__c = 'Error'"


class MetaStore(Protocol):
    def meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...


class Counting(Protocol):
    def count(self, soql: str) -> int: ...


class ParkedErrorCounter:
    """Counts parked Error rows and stores the figure; never raises (a job's extra)."""

    def __init__(self, sf: Counting, store: MetaStore,
                 clock: Callable[[], float] = time.time) -> None:
        self._sf = sf
        self._store = store
        self._clock = clock
        self._failing = False

    def record(self) -> int | None:
        """Count and store; the figure, or None when skipped or failed. An inbox that
        cannot be read or written (busy past its timeout, disk full) must not fail the job
        this runs after, nor make a second Sentry issue: the intake reports a failing inbox."""
        try:
            return self._record()
        except SubscriberError as exc:  # a full disk: its episode is alerted once already
            log.log(logging.DEBUG if isinstance(exc, InboxFull) else logging.WARNING,
                    "storing the parked Error count failed (%s); the sync SLA keeps the "
                    "last figure", type(exc).__name__)
            return None

    def _record(self) -> int | None:
        if self._store.meta(PAUSED_KEY) == "1":
            log.debug("parked Error rows not counted: applying is paused for the API limit")
            return None
        try:
            count = self._sf.count(PARKED_ERRORS_SOQL)
        except Exception as exc:  # noqa: BLE001 - the SLA keeps the last figure
            if not self._failing:
                log.warning("counting parked Error rows failed (%s); the sync SLA keeps the "
                            "last figure until a count succeeds", type(exc).__name__)
            self._failing = True
            return None
        if self._failing:
            log.info("counting parked Error rows works again: %d", count)
            self._failing = False
        self._store.set_meta(PARKED_ERRORS_KEY, json.dumps({"count": count,
                                                            "at": self._clock()}))
        return count


def stored_parked_errors(store: MetaStore) -> int | None:
    """The last figure the retry-parked job stored (None: none yet); a local read."""
    found = store.meta(PARKED_ERRORS_KEY)
    if not found:
        return None
    return int(json.loads(found)["count"])
