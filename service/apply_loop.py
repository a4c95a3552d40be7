"""The apply loop: pending inbox entries → lifecycle rules → Salesforce → marked done.

One thread runs cycles back to back while the inbox has work and sleeps on an event the intake
sets after every commit (no polling delay), so intake never waits for it and a Workspace is
never in two cycles at once. Entries are marked applied (or parked) only after Salesforce
confirmed the writes they depend on, in one inbox transaction per cycle; a crash in between
repeats the cycle, which the idempotent rules turn into no writes at all.

Failures: a whole-call failure (5xx, timeout, a login that failed) backs the loop off with
jittered exponential delays; ``REQUEST_LIMIT_EXCEEDED`` pauses applying with one warning and
probes again after ``limit_pause_s`` (intake keeps filling the inbox); an entry whose record
keeps failing transiently is retried on later cycles and, after ``max_attempts``, marked
poison with the reason. Each error class is logged once at WARNING, then at DEBUG.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from handlers.cycle import CycleResult, run_cycle
from handlers.errors import GatewayError, RequestLimited
from handlers.gateway_api import Gateway
from subscriber.errors import RetryLater
from subscriber.inbox import Inbox

log = logging.getLogger("lifecycle_sync.apply")
LAST_ERROR_KEY = "apply:last_error"
_EMAIL = re.compile(r"[^\s<>@'\"]+@[^\s<>@'\"]+\.[A-Za-z]{2,}")
PAUSED_KEY = "apply:paused"


@dataclass(frozen=True)
class ApplySettings:
    batch_size: int = 200
    client_name: str = "lifecycle-sync"
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    limit_pause_s: float = 300.0
    max_attempts: int = 8
    stop_check_s: float = 0.5  # how soon an idle loop notices stop (new entries wake it at once)


class ApplyLoop:
    """Runs apply cycles on the caller's thread until ``stop`` is set (see :meth:`run`)."""

    def __init__(self, inbox: Inbox, gateway: Gateway, settings: ApplySettings,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._inbox = inbox
        self._gateway = gateway
        self._settings = settings
        self._clock = clock
        self._wake = threading.Event()
        self._attempts: dict[int, int] = {}
        self._retry_at: dict[int, float] = {}
        self._reported: set[str] = set()
        self._failures = 0
        self._stop = threading.Event()
        self.cycles = 0

    def wake(self) -> None:
        """New entries are in the inbox (called by the intake after each commit)."""
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        self._stop = stop
        self._wake.set()  # whatever the inbox already holds
        while not stop.is_set():
            if not self._wake.wait(self._idle_wait_s()):
                continue
            self._wake.clear()
            while not stop.is_set() and self.run_once():
                pass

    def run_once(self) -> bool:
        """One cycle if there is work; True when it made progress (run again at once)."""
        now = self._clock()
        waiting = [i for i, at in self._retry_at.items() if at > now]
        entries = self._inbox.pending(self._settings.batch_size, exclude=waiting)
        if not entries:
            return False
        try:
            result = run_cycle(entries, self._gateway, self._settings.client_name)
        except RequestLimited as exc:
            self._pause(exc)
            return False
        except (GatewayError, RetryLater) as exc:
            self._back_off(exc)
            return False
        self._settle(result)
        return True

    def _settle(self, result: CycleResult) -> None:
        self._inbox.mark_done(result.applied, result.parked)
        self._resume_if_paused()
        self._failures = 0
        self.cycles += 1
        for entry_id in [*result.applied, *result.parked]:
            self._attempts.pop(entry_id, None)
            self._retry_at.pop(entry_id, None)
        for error_class, message in result.problems:
            self._report(error_class, message)
        self._schedule_retries(result.retry)

    def _schedule_retries(self, retry: dict[int, str]) -> None:
        hopeless = {}
        for entry_id, reason in retry.items():
            attempts = self._attempts.get(entry_id, 0) + 1
            self._attempts[entry_id] = attempts
            if attempts >= self._settings.max_attempts:
                hopeless[entry_id] = reason
                continue
            self._retry_at[entry_id] = self._clock() + self._delay_s(attempts)
            self._report("record retry", f"a record failed transiently ({reason}); retrying")
        for entry_id, reason in hopeless.items():
            self._inbox.mark_poison([entry_id], f"not applied after {self._settings.max_attempts}"
                                    f" attempts: {reason}")
            self._attempts.pop(entry_id, None)
            self._retry_at.pop(entry_id, None)
            self._report("gave up", f"an event could not be applied or parked: {reason}")

    def _idle_wait_s(self) -> float:
        if not self._retry_at:
            return self._settings.stop_check_s
        soonest = min(self._retry_at.values()) - self._clock()
        if soonest <= 0:
            self._wake.set()
        return max(0.0, min(self._settings.stop_check_s, soonest))

    def _delay_s(self, attempt: int) -> float:
        s = self._settings
        return random.uniform(0, min(s.backoff_max_s, s.backoff_initial_s * 2 ** (attempt - 1)))

    def _back_off(self, exc: Exception) -> None:
        self._failures += 1
        error_class = getattr(exc, "error_class", type(exc).__name__)
        self._report(error_class, f"apply cycle failed: {exc}; retrying with backoff")
        self._sleep(self._delay_s(self._failures))

    def _pause(self, exc: RequestLimited) -> None:
        if self._inbox.meta(PAUSED_KEY) != "1":
            log.warning("Salesforce API limit reached (%s): applying paused, intake goes on; "
                        "trying again every %.0f s", exc, self._settings.limit_pause_s)
            self._inbox.set_meta(PAUSED_KEY, "1")
        self._record(exc.error_class, str(exc))
        self._sleep(self._settings.limit_pause_s)

    def _resume_if_paused(self) -> None:
        if self._inbox.meta(PAUSED_KEY) == "1":
            self._inbox.set_meta(PAUSED_KEY, "0")
            log.warning("Salesforce API calls accepted again: applying resumed")

    def _sleep(self, delay_s: float) -> None:
        """Wait out a backoff or pause; only stop cuts it short (new entries do not)."""
        self._stop.wait(delay_s)
        self._wake.set()

    def _report(self, error_class: str, message: str) -> None:
        self._record(error_class, message)
        if error_class not in self._reported:
            self._reported.add(error_class)
            log.warning("apply: %s: %s (reported once per error class)", error_class,
                        scrub(message))
        else:
            log.debug("apply: %s: %s", error_class, scrub(message))

    def _record(self, error_class: str, message: str) -> None:
        self._inbox.set_meta(LAST_ERROR_KEY, json.dumps(
            {"class": error_class, "message": scrub(message)[:300], "at": time.time()}))


def scrub(text: str) -> str:
    """The text with anything shaped like an email address replaced (Salesforce's error
    messages may quote the value they refused)."""
    return _EMAIL.sub("<email>", text)
