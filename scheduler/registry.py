"""The APScheduler scheduler inside the daemon: one job per name, fired on its own threads.

A ``BackgroundScheduler`` with an in-memory job store (the definitions come from the config
at every start; what persists is :mod:`scheduler.runs`) and a small thread pool of its own,
so jobs never run on the intake or apply threads and never block them. Every job has
``coalesce=True`` (missed fire times collapse into one run), ``max_instances=1`` and no
``misfire_grace_time`` limit (a run missed by any amount runs once); its first run after a
start is computed by
:func:`scheduler.timing.first_run_at` from the recorded last run, so a run missed while the
daemon was down happens once, at start.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger

from scheduler.runner import Clock, JobRunner, utc_now
from scheduler.runs import RunLog
from scheduler.settings import SchedulerSettings
from scheduler.timing import CLOCK_BACK_TOLERANCE, first_run_at, next_fire, triggers

log = logging.getLogger("lifecycle_sync.jobs")
POOL_THREADS = 3  # one per job: a slow alert run never delays a retry cycle
RETRY_SUFFIX = "+retry"  # the one-shot fire that retries a failed run
REALIGN_EVERY_S = 60.0


def build_scheduler(runner: JobRunner, store: RunLog, settings: SchedulerSettings,
                    clock: Clock = utc_now) -> RealigningScheduler:
    """The scheduler with every job added (not started)."""
    # APScheduler logs every run at INFO; the runner logs each run's result once, itself.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = RealigningScheduler(
        executors={"default": ThreadPoolExecutor(POOL_THREADS)},
        # misfire_grace_time=None: a fire missed by any amount (a clock jump of hours) still
        # runs, once (coalesce); our own "due" rule refuses a fire with nothing due.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=dt.UTC)
    now = clock()
    for name, trigger in triggers(settings).items():
        if name not in runner.jobs:
            continue
        state = store.state(name)
        first = first_run_at(trigger, state.last_started_at, now, state.last_result)
        store.set_next(name, first)
        scheduler.add_job(runner.fire, trigger=trigger, args=(name,), id=name, name=name,
                          next_run_time=first)
        log.debug("job %s: first run at %s", name, first)

    def add_retry(name: str, at: dt.datetime) -> None:  # one extra fire; schedule kept
        if scheduler.state == STATE_STOPPED:
            return
        scheduler.add_job(runner.fire, trigger=DateTrigger(at, timezone=dt.UTC), args=(name,),
                          id=f"{name}{RETRY_SUFFIX}", name=f"{name} (retry)",
                          replace_existing=True)

    def retry(name: str, at: dt.datetime) -> None:
        # From a job's thread, add_job must not block: APScheduler's shutdown(wait=True)
        # holds the job-store lock while it waits for that very thread.
        threading.Thread(target=add_retry, args=(name, at), name="jobs-retry",
                         daemon=True).start()

    runner.on_retry = retry
    scheduler.realign = lambda: realign(scheduler, triggers(settings), clock())
    return scheduler


def realign(scheduler: BaseScheduler, by_name: Mapping[str, BaseTrigger], now: dt.datetime
            ) -> list[str]:
    """Pull back every job whose next fire lies beyond its schedule from ``now``: after a
    bogus forward jump is corrected, APScheduler would otherwise sleep for the length of the
    jump. Returns the names realigned."""
    moved = []
    for job in scheduler.get_jobs():
        trigger = by_name.get(job.id)
        expected = None if trigger is None else next_fire(trigger, now)
        if expected is not None and job.next_run_time is not None and (
                job.next_run_time > expected + CLOCK_BACK_TOLERANCE):
            job.modify(next_run_time=expected)
            moved.append(job.id)
    if moved:
        log.warning("clock went back: %s rescheduled from now", ", ".join(moved))
    return moved


class RealigningScheduler(BackgroundScheduler):  # type: ignore[misc]
    """A ``BackgroundScheduler`` with a watch thread that calls :func:`realign` every
    ``REALIGN_EVERY_S`` on the monotonic clock (immune to wall-clock jumps)."""

    realign: Callable[[], list[str]] = staticmethod(lambda: [])

    def start(self, *args: Any, **kwargs: Any) -> None:
        super().start(*args, **kwargs)
        self._watch_stop = threading.Event()
        threading.Thread(target=self._watch, name="jobs-clock-watch", daemon=True).start()

    def shutdown(self, wait: bool = True) -> None:
        stop: threading.Event | None = getattr(self, "_watch_stop", None)
        if stop is not None:
            stop.set()
        super().shutdown(wait)

    def _watch(self) -> None:
        while not self._watch_stop.wait(REALIGN_EVERY_S):
            try:
                self.realign()
            except Exception:  # the watch never dies; jobs go on
                log.debug("realign failed", exc_info=True)
