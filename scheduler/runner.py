"""Runs one job: at most one at a time per job, recorded, and never allowed to crash anything.

Each job is a plain function ``(now) -> summary``. The runner takes ``now`` from the injected
clock, refuses a scheduled fire that is not due (see :mod:`scheduler.timing`), records the
start before the work and the result after it (a run killed half-way shows as ``running``
until the next one), and turns any exception into a logged, recorded failure: a failing job
is reported (once per error class at WARNING, the last one in ``status``) and the daemon goes
on. ``force`` (``jobs run NAME``) runs whatever the schedule says.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from apscheduler.triggers.base import BaseTrigger

from scheduler.runs import RunLog
from scheduler.timing import is_due, next_fire, retry_at
from service.apply_reports import scrub
from subscriber.errors import InboxFull
from subscriber.inbox_file import is_disk_full

log = logging.getLogger("lifecycle_sync.jobs")
Clock = Callable[[], dt.datetime]
JobFunc = Callable[[dt.datetime], str]


def disk_refused(exc: BaseException) -> bool:
    """The run store's write was refused by a full disk: the inbox's own InboxFull, SQLite's
    SQLITE_FULL or write error (quota, file size limit), PostgreSQL's disk_full (53100)."""
    if isinstance(exc, InboxFull) or getattr(exc, "sqlstate", None) == "53100":
        return True
    return isinstance(exc, sqlite3.Error) and is_disk_full(exc)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Idle(str):
    """A job's summary when it found nothing to do: recorded like any other, but logged at
    DEBUG (a retry cycle every 5 minutes with nothing due is no news at INFO)."""

    __slots__ = ()


@dataclass(frozen=True)
class RunOutcome:
    job: str
    ran: bool
    ok: bool
    summary: str


class JobRunner:
    """Thread-safe: APScheduler's worker threads and ``jobs run`` call :meth:`run`."""

    def __init__(self, jobs: Mapping[str, JobFunc], triggers: Mapping[str, BaseTrigger],
                 store: RunLog, clock: Clock = utc_now) -> None:
        self.jobs = dict(jobs)
        self._triggers = dict(triggers)
        self._store = store
        self._clock = clock
        self._locks = {name: threading.Lock() for name in jobs}
        self._reported: set[str] = set()
        self._disk_full = False  # the run store refused a run's record (one WARNING per episode)
        # Set by the scheduler: a failed run asks for an extra fire at its retry time.
        self.on_retry: Callable[[str, dt.datetime], None] | None = None

    def fire(self, name: str) -> RunOutcome:
        """A scheduled fire: runs only when due (a clock jump back or a duplicate fire is a
        no-op)."""
        return self.run(name, force=False)

    def run(self, name: str, *, force: bool = True) -> RunOutcome:
        lock = self._locks[name]
        if not lock.acquire(blocking=False):  # max_instances=1, also against `jobs run`
            return RunOutcome(name, False, True, "already running")
        try:
            now = self._clock()
            state = self._store.state(name)
            if not force and state.last_started_at is not None and not is_due(
                    self._triggers[name], state.last_started_at, now, state.last_result):
                log.debug("job %s: not due (last run %s); skipped", name, state.last_started_at)
                return RunOutcome(name, False, True, "not due")
            return self._run_recorded(name, now)
        finally:
            lock.release()

    def _run_recorded(self, name: str, now: dt.datetime) -> RunOutcome:
        """:meth:`_run`, skipped quietly while the disk refuses the run's record.

        A full disk is the intake's episode (paused, alerted once, /readyz 503); a run that
        cannot even record its start raised out of APScheduler as an ERROR with a traceback,
        every run (and each one a Sentry issue), for as long as the disk stayed full. One
        WARNING per episode instead; it ends with the first run recorded again."""
        try:
            outcome = self._run(name, now)
        except Exception as exc:
            if not disk_refused(exc):
                raise
            first = not self._disk_full
            self._disk_full = True
            log.log(logging.WARNING if first else logging.DEBUG,
                    "job %s skipped: the disk refused its run record (%s)%s", name, exc,
                    "; jobs are skipped until a run record fits again" if first else "")
            return RunOutcome(name, False, False, f"skipped: the disk refused its run record "
                              f"({exc})")
        self._disk_full = False
        return outcome

    def _run(self, name: str, now: dt.datetime) -> RunOutcome:
        run_id = self._store.started(name, now)
        try:
            summary = self.jobs[name](now)
            ok = True
            log.log(logging.DEBUG if isinstance(summary, Idle) else logging.INFO,
                    "job %s: %s", name, summary)
        except Exception as exc:  # noqa: BLE001 - a failing job never kills the daemon
            error_class = getattr(exc, "error_class", type(exc).__name__)
            summary = scrub(f"{error_class}: {exc}")
            ok = False
            first = error_class not in self._reported
            self._reported.add(error_class)
            log.log(logging.WARNING if first else logging.DEBUG, "job %s failed: %s%s", name,
                    summary, " (reported once per error class)" if first else "")
        self._store.finished(run_id, name, self._clock(), ok, summary)
        upcoming = next_fire(self._triggers[name], max(now, self._clock()))
        retry = None if ok else retry_at(now, "failed")
        if retry is not None and (upcoming is None or retry < upcoming):
            upcoming = retry
            if self.on_retry is not None:
                self.on_retry(name, retry)
        self._store.set_next(name, upcoming)
        return RunOutcome(name, True, ok, summary)
