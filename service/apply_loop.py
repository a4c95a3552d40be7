"""The apply loop: pending inbox entries → lifecycle rules → Salesforce → marked done.

A dispatcher thread, woken by the intake after every commit (deferring while it drains a
backlog, :mod:`service.catch_up`), hands batches to worker threads, one gateway each. Batches
claim their Workspaces and emails (:mod:`service.apply_batches`). Entries are marked applied
(or parked) once Salesforce confirmed their writes, one transaction per cycle (a crash repeats
the cycle; the idempotent rules make the repeat write nothing).

Failures: a whole-call failure (5xx, timeout, a failed login) or an inbox write the full disk
refused (one alert per episode) holds new cycles back with jittered delays; REQUEST_LIMIT_EXCEEDED
pauses applying and probes after ``limit_pause_s`` (one alert per pause,
:mod:`service.api_limit_pause`); a record failing transiently is retried in
later cycles, then marked poison after ``max_attempts``. Reported once per error class. Anything
else (a fatal login error, another inbox write failure) stops the loop; :meth:`run` re-raises it.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from handlers.cycle import CycleResult, run_cycle
from handlers.errors import CallRejected, GatewayError, RequestLimited
from handlers.gateway_api import Gateway
from service.api_limit_pause import ApiLimitPause
from service.apply_batches import Batch, next_batch, take_split
from service.apply_reports import OnFirst, Reporter, scrub
from service.apply_settings import PAUSED_KEY as PAUSED_KEY  # re-exported (status, tests)
from service.apply_settings import (
    VALUE_DEPENDENT_CODES,
    ApplySettings,
    KeysBusy,
    backoff_delay_s,
    settle_own_changes,
)
from service.event_labels import batch_tags, entry_tags
from service.inbox_full_episode import FullInboxEpisode
from subscriber.errors import InboxFull, RetryLater
from subscriber.events import InboxEntry
from subscriber.inbox_api import ApplyInbox

PROBE_KEY = "apply-probe"  # the cheap write that tests a full disk before claiming a cycle
class ApplyLoop:
    """Runs apply cycles, one worker thread per gateway, until ``stop`` is set."""

    def __init__(self, inbox: ApplyInbox, gateways: Sequence[Gateway], settings: ApplySettings,
                 clock: Callable[[], float] = time.monotonic,
                 on_report: OnFirst | None = None,
                 on_settled: Callable[[Sequence[InboxEntry], CycleResult], None] | None = None,
                 on_poison: Callable[[InboxEntry], None] | None = None) -> None:
        """``on_report(error_class, message, tags)``: each error class once, for Sentry.
        ``on_settled(entries, result)``: after each cycle's outcome is recorded (metrics).
        ``on_poison(entry)``: an entry given up as poison (the failed-events metric)."""
        self._on_settled = on_settled
        self._on_poison = on_poison
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
        self.limit_pause = ApiLimitPause(inbox, self._reporter, settings.limit_pause_s)
        self._tickets: dict[int, int] = {}  # id(batch) -> its claim's ticket (limit_pause)
        self._fatal: BaseException | None = None
        self._splits: list[list[InboxEntry]] = []  # halves of batches Salesforce refused
        self.cycles = 0
        self.workers: list[threading.Thread] = []  # joined at stop (service.shutdown)
        self.full_inbox = FullInboxEpisode()  # the daemon's own, shared with the intake

    def waiting_by_design(self) -> bool:
        """Held back on purpose (a backoff, the REQUEST_LIMIT_EXCEEDED pause): not stuck."""
        with self._lock:
            return self._hold_until > self._clock() or bool(self._retry_at)

    def defer(self, until: float) -> None:
        """Claim no new cycle before ``until`` (clock time; the intake drains a backlog)."""
        with self._lock:
            self._hold_until = max(self._hold_until, until)

    def wake(self) -> None:
        """New entries are in the inbox (called by the intake after each commit)."""
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        jobs: queue.Queue[Batch | None] = queue.Queue()
        self.workers = [threading.Thread(target=self._worker, args=(jobs, gateway),
                                         name=f"apply-{n}", daemon=True)
                        for n, gateway in enumerate(self._gateways)]
        for worker in self.workers:
            worker.start()
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
                raise KeysBusy("apply cycles kept these Workspaces busy; trying next run")
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
            if not ignore_hold and (now < self._hold_until or not self._probe_full_inbox()):
                return None
            if self._splits:
                batch = take_split(self._splits, self._busy, self._running + self._holds)
            else:
                waiting = {i for i, at in self._retry_at.items() if at > now}
                pending = self._inbox.pending(self._settings.batch_size * 3,
                                              exclude=self._in_flight | waiting)
                pending = settle_own_changes(self._inbox, pending, self._settings.client_name)
                batch = next_batch(pending, self._busy, self._running + self._holds,
                                   self._settings.batch_size)
            if batch is None:
                return None
            self._busy |= batch.keys
            self._in_flight |= batch.ids
            self._running += 1
            self._exclusive = batch.exclusive
            self._tickets[id(batch)] = self.limit_pause.claimed()
            return batch

    def _probe_full_inbox(self) -> bool:
        """While the disk refuses apply's inbox writes: one cheap inbox write first, and no
        cycle claimed until it goes through. A claimed cycle queries and writes Salesforce
        (API calls from the daily allocation) before its mark_done is refused again."""
        refused = self.full_inbox.probe("apply", lambda: self._inbox.set_meta(PROBE_KEY, "1"))
        if refused is not None:
            self._back_off(refused, ())
        return refused is None

    def _isolate(self, batch: Batch, exc: CallRejected) -> set[int]:
        """A request Salesforce refuses because of some value: halve the batch until the one
        event that causes it is alone, then mark it poison with the reason. Returns the
        entries still in flight (requeued as halves)."""
        with self._lock:
            if len(batch.entries) == 1:
                note = f"Salesforce refuses this event's requests: {scrub(str(exc))}"
                self._poison(batch.entries[0], note, exc.error_class)
                return set()
            self._reporter.report(exc.error_class, f"Salesforce refused a request ({exc}); "
                                  "isolating the event that causes it",
                                  batch_tags(batch.entries))
            half = len(batch.entries) // 2
            self._splits.extend([batch.entries[half:], batch.entries[:half]])
            return batch.ids

    def _poison(self, entry: InboxEntry, note: str, error_class: str) -> None:
        """Give ``entry`` up: marked poison with ``note``, reported with its tags, counted."""
        self._inbox.mark_poison([entry.id], note)
        self._reporter.report(error_class, note, entry_tags(entry), once_as=f"poison {error_class}")
        if self._on_poison is not None:
            self._on_poison(entry)

    def _worker(self, jobs: queue.Queue[Batch | None], gateway: Gateway) -> None:
        while (batch := jobs.get()) is not None:
            self._work(batch, gateway)

    def _work(self, batch: Batch, gateway: Gateway) -> None:
        requeued: set[int] = set()
        try:
            result = run_cycle(batch.entries, gateway, self._settings.client_name)
            with self._lock:
                self._settle(result, batch.entries, self._tickets[id(batch)])
            if self._on_settled is not None:
                self._on_settled(batch.entries, result)
        except CallRejected as exc:
            if exc.code in VALUE_DEPENDENT_CODES:
                requeued = self._isolate(batch, exc)
            else:
                self._back_off(exc, batch.entries)
        except RequestLimited as exc:
            self._pause(exc)
        except (GatewayError, RetryLater, InboxFull) as exc:
            self._back_off(exc, batch.entries)
        except BaseException as exc:  # noqa: BLE001 - handed to run(), which re-raises it
            self._fatal = exc
        finally:
            with self._lock:
                self._busy -= batch.keys
                self._in_flight -= batch.ids - requeued
                self._running -= 1
                self._exclusive = False
                self._tickets.pop(id(batch), None)
            self._wake.set()

    def _idle_wait_s(self) -> float:
        with self._lock:
            now = self._clock()
            soonest = [at - now for at in self._retry_at.values()]
            if self._hold_until > now:
                soonest.append(self._hold_until - now)
        return max(0.0, min([self._settings.stop_check_s, *soonest]))

    # -- outcomes -----------------------------------------------------------------------

    def _settle(self, result: CycleResult, entries: Sequence[InboxEntry], ticket: int) -> None:
        self._inbox.mark_done(result.applied, result.parked)
        self.full_inbox.writable("apply")
        self.limit_pause.settled(ticket)
        self._failures = 0
        self.cycles += 1
        for entry_id in [*result.applied, *result.parked]:
            self._attempts.pop(entry_id, None)
            self._retry_at.pop(entry_id, None)
        self._reporter.report_all(result.problems, batch_tags(entries))
        by_id = {e.id: e for e in entries}
        self._schedule_retries([(by_id[i], reason) for i, reason in result.retry.items()
                                if i in by_id])

    def _schedule_retries(self, retry: list[tuple[InboxEntry, str]]) -> None:
        for entry, reason in retry:
            attempts = self._attempts.get(entry.id, 0) + 1
            self._attempts[entry.id] = attempts
            if attempts < self._settings.max_attempts:
                self._retry_at[entry.id] = self._clock() + backoff_delay_s(self._settings, attempts)
                note = f"a record failed transiently ({reason}); retrying"
                self._reporter.report("record retry", note, entry_tags(entry))
                continue
            self._attempts.pop(entry.id, None)
            self._retry_at.pop(entry.id, None)
            self._poison(entry, f"not applied after {attempts} attempts: {scrub(reason)}",
                         "gave up")

    def _back_off(self, exc: Exception, entries: Sequence[InboxEntry]) -> None:
        with self._lock:
            self._failures += 1
            self._hold_until = self._clock() + backoff_delay_s(self._settings, self._failures)
            if isinstance(exc, InboxFull):  # once per episode; the cycle's writes repeat as
                self.full_inbox.full("apply", exc)  # no-ops once the disk has room
                return
            error_class = getattr(exc, "error_class", type(exc).__name__)
            self._reporter.report(error_class, f"apply cycle failed: {exc}; retrying with backoff",
                                  batch_tags(entries))

    def _pause(self, exc: RequestLimited) -> None:
        with self._lock:
            self._hold_until = self._clock() + self._settings.limit_pause_s
        self.limit_pause.refused(exc)  # one WARNING and Sentry alert per episode
