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

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from scheduler.runner import Clock, JobRunner, utc_now
from scheduler.runs import RunStore
from scheduler.settings import SchedulerSettings
from scheduler.timing import first_run_at, triggers

log = logging.getLogger("lifecycle_sync.jobs")
POOL_THREADS = 3  # one per job: a slow alert run never delays a retry cycle


def build_scheduler(runner: JobRunner, store: RunStore, settings: SchedulerSettings,
                    clock: Clock = utc_now) -> BackgroundScheduler:
    """The scheduler with every job added (not started)."""
    # APScheduler logs every run at INFO; the runner logs each run's result once, itself.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(POOL_THREADS)},
        # misfire_grace_time=None: a fire missed by any amount (a clock jump of hours) still
        # runs, once (coalesce); our own "due" rule refuses a fire with nothing due.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=dt.UTC)
    now = clock()
    for name, trigger in triggers(settings).items():
        if name not in runner.jobs:
            continue
        first = first_run_at(trigger, store.state(name).last_started_at, now)
        store.set_next(name, first)
        scheduler.add_job(runner.fire, trigger=trigger, args=(name,), id=name, name=name,
                          next_run_time=first)
        log.debug("job %s: first run at %s", name, first)
    return scheduler
