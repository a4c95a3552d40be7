"""The apply loop: pending inbox entries → lifecycle rules → Salesforce → marked done.

A dispatcher thread sleeps on an event the intake sets after every commit (no polling delay;
intake never waits for it) and hands batches of up to ``batch_size`` entries to worker threads,
one gateway each, so Salesforce's latency overlaps across cycles. Batches claim their
Workspaces and emails (:mod:`service.apply_batches`): a Workspace is never in two cycles at
once, and different Workspaces never wait for each other's failures. Entries are marked applied
(or parked) only after Salesforce confirmed the writes they depend on, in one inbox
transaction per cycle; a crash in between repeats the cycle, which the idempotent rules turn
into no writes at all.

Failures: a whole-call failure (5xx, timeout, a login that failed) holds new cycles back with
jittered exponential delays; ``REQUEST_LIMIT_EXCEEDED`` pauses applying with one warning and
probes again after ``limit_pause_s`` (intake keeps filling the inbox); an entry whose record
keeps failing transiently is retried in later cycles and, after ``max_attempts``, marked
poison with the reason. Each error class is logged once at WARNING, then at DEBUG; email
addresses are scrubbed from every message. Anything else (a fatal login error, an inbox that
cannot be written) stops the loop and is re-raised by :meth:`ApplyLoop.run`.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from handlers.cycle import CycleResult, run_cycle
from handlers.errors import CallRejected, GatewayError, RequestLimited
from handlers.gateway_api import Gateway
from handlers.parse import is_own_origin
from service.apply_batches import Batch, claim_keys, next_batch
from service.apply_reports import Reporter, scrub
from subscriber.errors import RetryLater
from subscriber.events import InboxEntry
from subscriber.inbox_api import ApplyInbox

log = logging.getLogger("lifecycle_sync.apply")
PAUSED_KEY = "apply:paused"
# Refusals caused by some value in the request (not by the org): the batch is halved until
# the event behind it is alone. Any other refusal (an org-level fault such as
# INSUFFICIENT_ACCESS, or an unknown/empty code) holds applying back, like a 5xx.
VALUE_DEPENDENT_CODES = frozenset({
    "MALFORMED_QUERY", "INVALID_QUERY_FILTER_OPERATOR", "JSON_PARSER_ERROR",
    "STRING_TOO_LONG", "LIMIT_EXCEEDED", "QUERY_TOO_COMPLICATED", "INVALID_ID_FIELD",
    "MALFORMED_ID"})


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
    """Runs apply cycles, one worker thread per gateway, until ``stop`` is set."""

    def __init__(self, inbox: ApplyInbox, gateways: Sequence[Gateway], settings: ApplySettings,
                 clock: Callable[[], float] = time.monotonic,
                 on_report: Callable[[str, str], None] | None = None,
                 on_settled: Callable[[Sequence[InboxEntry], CycleResult], None] | None = None
                 ) -> None:
        """``on_report(error_class, message)``: each error class once, for Sentry.
        ``on_settled(entries, result)``: after each cycle's outcome is recorded (metrics)."""
        self._on_settled = on_settled
        self._inbox = inbox
        self._gateways = list(gateways)
        self._settings = settings
        self._clock = clock
        self._wake = threading.Event()
        self._lock = threading.RLock()
        self._busy: set[str] = set()
        self._in_flight: set[int] = set()
        self._running = 0  # apply cycles in flight (at most one per gateway)
        self._holds = 0  # retry cycles holding keys: no apply slot, but no exclusive cycle
        self._exclusive = False
        self._hold_until = 0.0
        self._failures = 0
        self._attempts: dict[int, int] = {}
        self._retry_at: dict[int, float] = {}
        self._reporter = Reporter(inbox, on_report)
        self._fatal: BaseException | None = None
        self._splits: list[list[InboxEntry]] = []  # halves of batches Salesforce refused
        self.cycles = 0

    def waiting_by_design(self) -> bool:
        """Applying is held back on purpose (a backoff after failures or the pause after
        REQUEST_LIMIT_EXCEEDED): not progressing, yet not stuck."""
        with self._lock:
            return self._hold_until > self._clock() or bool(self._retry_at)

    def wake(self) -> None:
        """New entries are in the inbox (called by the intake after each commit)."""
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        jobs: queue.Queue[Batch | None] = queue.Queue()
        for n, gateway in enumerate(self._gateways):
            threading.Thread(target=self._worker, args=(jobs, gateway), name=f"apply-{n}",
                             daemon=True).start()
        self._wake.set()  # whatever the inbox already holds
        try:
            while not stop.is_set() and self._fatal is None:
                self._wake.wait(self._idle_wait_s())
                self._wake.clear()
                while not stop.is_set() and self._fatal is None:
                    batch = self._claim(ignore_hold=False)
                    if batch is None:
                        break
                    jobs.put(batch)
        finally:
            for _ in self._gateways:
                jobs.put(None)  # workers finish their cycle and leave; none is awaited
        if self._fatal is not None:
            raise self._fatal

    @contextlib.contextmanager
    def holding(self, keys: frozenset[str], timeout_s: float = 60.0) -> Iterator[None]:
        """Work on these Workspace/email keys outside the loop (the retry-parked job): waits
        until no cycle holds them, then holds them, so no cycle takes them (nor an exclusive
        Lead-change cycle starts) until the body is done. A hold takes no apply worker slot:
        with one gateway, other Workspaces keep applying meanwhile."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                if not (keys & self._busy) and not self._exclusive:
                    self._busy |= keys
                    self._holds += 1
                    break
            if time.monotonic() >= deadline:
                raise RetryLater("apply cycles kept these Workspaces busy; trying next run")
            time.sleep(0.05)
        try:
            yield
        finally:
            with self._lock:
                self._busy -= keys
                self._holds -= 1
            self._wake.set()

    def run_once(self) -> bool:
        """One cycle now, on this thread (tests); True when it settled its entries."""
        batch = self._claim(ignore_hold=True)
        if batch is None:
            return False
        before = self.cycles
        self._work(batch, self._gateways[0])
        if self._fatal is not None:
            raise self._fatal
        return self.cycles > before

    # -- dispatching --------------------------------------------------------------------

    def _claim(self, *, ignore_hold: bool) -> Batch | None:
        with self._lock:
            now = self._clock()
            if self._exclusive or self._running >= len(self._gateways):
                return None
            if not ignore_hold and now < self._hold_until:
                return None
            if self._splits:
                return self._claim_split()
            waiting = {i for i, at in self._retry_at.items() if at > now}
            pending = self._inbox.pending(self._settings.batch_size * 3,
                                          exclude=self._in_flight | waiting)
            pending = self._settle_own_changes(pending)
            batch = next_batch(pending, self._busy, self._running + self._holds,
                               self._settings.batch_size)
            if batch is None:
                return None
            self._busy |= batch.keys
            self._in_flight |= batch.ids
            self._running += 1
            self._exclusive = batch.exclusive
            return batch

    def _settle_own_changes(self, pending: list[InboxEntry]) -> list[InboxEntry]:
        """Lead change events our own writes caused need no rules and no calls: mark them
        applied at once, so they never hold an exclusive cycle."""
        own = [e.id for e in pending if e.change is not None and e.change.entity_name == "Lead"
               and e.change.change_type in ("CREATE", "UPDATE")
               and is_own_origin(e.change.change_origin, self._settings.client_name)]
        if not own:
            return pending
        self._inbox.mark_done(own, {})
        done = set(own)
        return [e for e in pending if e.id not in done]

    def _claim_split(self) -> Batch | None:
        """The next half of a refused batch (its entries stayed in flight meanwhile)."""
        entries = self._splits.pop()
        exclusive = entries[0].change is not None
        keys = frozenset(k for e in entries for k in (claim_keys(e) or ()))
        if (exclusive and (self._running or self._holds)) or keys & self._busy:
            self._splits.append(entries)
            return None
        self._busy |= keys
        self._running += 1
        self._exclusive = exclusive
        return Batch(entries, keys, exclusive)

    def _isolate(self, batch: Batch, exc: CallRejected) -> set[int]:
        """A request Salesforce refuses because of some value: halve the batch until the one
        event that causes it is alone, then mark it poison with the reason. Returns the
        entries still in flight (requeued as halves)."""
        with self._lock:
            self._reporter.report(exc.error_class, f"Salesforce refused a request ({exc}); "
                                  "isolating the event that causes it")
            if len(batch.entries) == 1:
                note = f"Salesforce refuses this event's requests: {scrub(str(exc))}"
                self._inbox.mark_poison([batch.entries[0].id], note)
                return set()
            half = len(batch.entries) // 2
            self._splits.extend([batch.entries[half:], batch.entries[:half]])
            return batch.ids

    def _worker(self, jobs: queue.Queue[Batch | None], gateway: Gateway) -> None:
        while (batch := jobs.get()) is not None:
            self._work(batch, gateway)

    def _work(self, batch: Batch, gateway: Gateway) -> None:
        requeued: set[int] = set()
        try:
            result = run_cycle(batch.entries, gateway, self._settings.client_name)
            with self._lock:
                self._settle(result)
            if self._on_settled is not None:
                self._on_settled(batch.entries, result)
        except CallRejected as exc:
            if exc.code in VALUE_DEPENDENT_CODES:
                requeued = self._isolate(batch, exc)
            else:
                self._back_off(exc)
        except RequestLimited as exc:
            self._pause(exc)
        except (GatewayError, RetryLater) as exc:
            self._back_off(exc)
        except BaseException as exc:  # noqa: BLE001 - handed to run(), which re-raises it
            self._fatal = exc
        finally:
            with self._lock:
                self._busy -= batch.keys
                self._in_flight -= batch.ids - requeued
                self._running -= 1
                self._exclusive = False
            self._wake.set()

    def _idle_wait_s(self) -> float:
        with self._lock:
            now = self._clock()
            soonest = [at - now for at in self._retry_at.values()]
            if self._hold_until > now:
                soonest.append(self._hold_until - now)
        return max(0.0, min([self._settings.stop_check_s, *soonest]))

    # -- outcomes -----------------------------------------------------------------------

    def _settle(self, result: CycleResult) -> None:
        self._inbox.mark_done(result.applied, result.parked)
        self._resume_if_paused()
        self._failures = 0
        self.cycles += 1
        for entry_id in [*result.applied, *result.parked]:
            self._attempts.pop(entry_id, None)
            self._retry_at.pop(entry_id, None)
        for error_class, message in result.problems:
            self._reporter.report(error_class, message)
        self._schedule_retries(result.retry)

    def _schedule_retries(self, retry: dict[int, str]) -> None:
        for entry_id, reason in retry.items():
            attempts = self._attempts.get(entry_id, 0) + 1
            self._attempts[entry_id] = attempts
            if attempts < self._settings.max_attempts:
                self._retry_at[entry_id] = self._clock() + self._delay_s(attempts)
                self._reporter.report("record retry",
                                      f"a record failed transiently ({reason}); retrying")
                continue
            self._inbox.mark_poison([entry_id], f"not applied after {attempts} attempts: "
                                    f"{scrub(reason)}")
            self._attempts.pop(entry_id, None)
            self._retry_at.pop(entry_id, None)
            self._reporter.report("gave up", f"an event could not be applied or parked: {reason}")

    def _delay_s(self, attempt: int) -> float:
        s = self._settings
        return random.uniform(0, min(s.backoff_max_s, s.backoff_initial_s * 2 ** (attempt - 1)))

    def _back_off(self, exc: Exception) -> None:
        with self._lock:
            self._failures += 1
            self._hold_until = self._clock() + self._delay_s(self._failures)
            error_class = getattr(exc, "error_class", type(exc).__name__)
            self._reporter.report(error_class, f"apply cycle failed: {exc}; retrying with backoff")

    def _pause(self, exc: RequestLimited) -> None:
        with self._lock:
            self._hold_until = self._clock() + self._settings.limit_pause_s
            if self._inbox.meta(PAUSED_KEY) != "1":
                log.warning("Salesforce API limit reached (%s): applying paused, intake goes "
                            "on; trying again every %.0f s", exc, self._settings.limit_pause_s)
                self._inbox.set_meta(PAUSED_KEY, "1")
            self._reporter.record(exc.error_class, str(exc))

    def _resume_if_paused(self) -> None:
        if self._inbox.meta(PAUSED_KEY) == "1":
            self._inbox.set_meta(PAUSED_KEY, "0")
            log.warning("Salesforce API calls accepted again: applying resumed")
