"""The daemon's main thread while it runs: systemd's watchdog and STATUS=, the sync SLA and
the inbox's retention prune, on one tick. Its own module so that :mod:`service.wiring` keeps to
building and stopping the parts."""

from __future__ import annotations

import logging
import threading
import time

from service.daemon_parts import DaemonParts
from service.health import status_line
from service.lifecycle import Notifier
from subscriber.errors import SubscriberError
from subscriber.inbox_api import InboxStore

log = logging.getLogger("lifecycle_sync")

PRUNE_EVERY_S = 3600.0


def supervise(stop: threading.Event, notifier: Notifier, p: DaemonParts,
               inbox: InboxStore) -> None:
    """Until stop: ping systemd's watchdog while every topic shows life and apply is not
    stuck (progressing, idle, or holding back on purpose); keep STATUS= current; judge the
    sync SLA; prune."""
    tick_s = min(notifier.watchdog_interval_s or 5.0, 5.0, p.sla.interval_s)
    next_prune = time.monotonic()
    last_status = ""
    while not stop.wait(tick_s):
        stuck = p.health.apply_stuck()
        if p.hooks.alive() and not stuck:
            notifier.watchdog()
        elif stuck:
            log.warning("%s; not feeding the watchdog", stuck)
        status = status_line(p.hooks.totals(), p.readers, p.health.problems(stuck))
        if status != last_status:
            notifier.status(status)
            last_status = status
        p.sla.tick()  # never calls Salesforce, never raises
        if time.monotonic() >= next_prune:
            next_prune = time.monotonic() + PRUNE_EVERY_S
            _prune(inbox)


def _prune(inbox: InboxStore) -> None:
    try:
        removed = inbox.prune()
    except SubscriberError as exc:
        log.warning("inbox prune failed: %s", exc)
        return
    if removed:
        log.info("pruned %d applied inbox entries past retention", removed)
