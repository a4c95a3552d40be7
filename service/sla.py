"""The sync SLA (issue 11, seed Step 3): events applied within ``sla.publish_to_applied_s``
and parked Error rows under ``sla.parked_errors_max``.

Checked by the daemon's main loop every ``sla.check_interval_s``. A breach is raised ONCE per
episode, not once per late event: one WARNING line, one Sentry warning fingerprinted
``["lifecycle-sync", "sla", "sync SLA breached"]`` (every episode is the same issue), the gauge
``lifecycle_sync_sla_breached`` set to 1, and the state kept in the inbox's meta table for
``lifecycle-sync status``. When every figure is back under, one line says so, the gauge goes
to 0 and ``status`` shows when it cleared. The oldest pending age, measured from the
event's publish time (:mod:`service.publish_age`), comes from the local inbox (free); the
parked Error count is the last figure the retry-parked job stored
(:mod:`service.parked_count`, also free): no Salesforce call is ever made from the watchdog's
thread. Without a stored figure the parked check is skipped (it must not flap the SLA).
:meth:`SlaMonitor.tick` never raises: a failed check is logged and reported, and the main
loop goes on feeding the watchdog.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from service.config import SlaConfig
from subscriber.errors import InboxFull

log = logging.getLogger("lifecycle_sync.sla")
SLA_KEY = "sla:state"


class MetaStore(Protocol):
    def meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...


class SlaMonitor:
    """Judges the SLA on each :meth:`check`; used by one thread (the daemon's main loop)."""

    def __init__(self, settings: SlaConfig, oldest_pending_s: Callable[[], float | None],
                 parked_errors: Callable[[], int | None] | None, store: MetaStore,
                 on_change: Callable[[bool], None] = lambda breached: None,
                 clock: Callable[[], float] = time.time) -> None:
        """``parked_errors``: the last stored count of Error rows (None: none yet; a local
        read, never Salesforce); None: not checked.
        ``on_change(breached)``: the metric's setter."""
        self._settings = settings
        self._oldest = oldest_pending_s
        self._parked = parked_errors if settings.parked_errors_max else None
        self._store = store
        self._on_change = on_change
        self._clock = clock
        self._errors: int | None = None
        self._since = _breached_since(store)  # a restart in a breach must still clear it
        self._next_at = 0.0
        self._failing = False
        if self._since is not None:
            on_change(True)  # the gauge as the saved state says (it starts at 0)

    @property
    def interval_s(self) -> float:
        return self._settings.check_interval_s

    def due(self) -> bool:
        """Whether ``check_interval_s`` has passed since the last check."""
        return self._clock() >= self._next_at

    def tick(self) -> None:
        """The main loop's call: :meth:`check` when due; an error in it is logged and sent
        to Sentry, never raised (the loop must keep feeding systemd's watchdog)."""
        if not self.due():
            return
        try:
            self.check()
        except Exception as exc:  # noqa: BLE001 - judged again next interval
            if not self._failing:  # once per episode, not every interval
                log.error("judging the sync SLA failed: %s; trying again every %g s",
                          type(exc).__name__, self._settings.check_interval_s)
                from service.sentry_setup import report as report_to_sentry

                report_to_sentry("sla", "judging the sync SLA failed", type(exc).__name__)
            self._failing = True
            return
        self._failing = False

    def check(self) -> list[str]:
        """Judge now; returns the reasons it is breached (empty: met)."""
        now = self._clock()
        self._next_at = now + self._settings.check_interval_s
        reasons = self._reasons()
        if reasons and self._since is None:
            self._raise(reasons, now)
        elif not reasons and self._since is not None:
            self._clear(now)
        return reasons

    def _reasons(self) -> list[str]:
        s = self._settings
        reasons = []
        age = self._oldest()
        if age is not None and age > s.publish_to_applied_s:
            reasons.append(f"the oldest pending event has waited {age:.1f} s since it was "
                           f"published (SLA {s.publish_to_applied_s:.0f} s)")
        if self._parked is not None:
            found = self._parked()
            self._errors = found if found is not None else self._errors
            if self._errors is not None and self._errors > s.parked_errors_max:
                reasons.append(f"{self._errors} Event_Cache__c rows parked in Error (at most "
                               f"{s.parked_errors_max})")
        return reasons

    def _raise(self, reasons: list[str], now: float) -> None:
        self._since = now
        text = "; ".join(reasons)
        log.warning("sync SLA breached: %s (reported once until it clears)", text)
        from service.sentry_setup import report as report_to_sentry  # `status` stays light

        report_to_sentry("sla", "sync SLA breached", text, level="warning")
        self._save({"breached": True, "since": now, "reasons": reasons})
        self._on_change(True)

    def _clear(self, now: float) -> None:
        since = self._since or now
        self._since = None
        log.warning("sync SLA met again after %.0f s in breach", now - since)
        self._save({"breached": False, "since": since, "cleared_at": now})
        self._on_change(False)

    def _save(self, state: dict[str, Any]) -> None:
        try:
            self._store.set_meta(SLA_KEY, json.dumps(state))
        except InboxFull:  # the episode is alerted once already; judging goes on in memory
            log.debug("sync SLA state not saved: the disk refuses inbox writes")


def _breached_since(store: MetaStore) -> float | None:
    """When the breach the saved state records began (None: met, or nothing saved)."""
    try:
        state = json.loads(store.meta(SLA_KEY) or "null")
        return float(state["since"]) if state and state.get("breached") else None
    except (ValueError, TypeError, KeyError):
        log.warning("the saved sync SLA state is unreadable; starting as met")
        return None


def sla_line(state: dict[str, Any] | None) -> str | None:
    """``status``'s line for the SLA state the daemon recorded (None: never breached)."""
    if not state:
        return None
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(state["since"])))
    if state.get("breached"):
        return f"sync SLA: BREACHED since {since}: {'; '.join(state.get('reasons') or [])}"
    cleared = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(state["cleared_at"])))
    return f"sync SLA: met (last breach {since} to {cleared})"
