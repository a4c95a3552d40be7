"""When each job runs: APScheduler triggers, and the one rule that keeps runs single.

A job is *due* when the first fire time after its last recorded run has come. Everything
that decides whether to run uses that rule with an explicit ``now`` (the injected clock), so:

- a restart after a missed fire time runs the job once, at start (however many were missed);
- a clock jump forward runs it once (APScheduler coalesces the missed fire times, and the
  rule refuses the second of two fires with nothing due in between);
- a clock jump back never repeats a run already made for a later fire time: the next fire
  time is computed from the last run, not from the (earlier) clock; but a last run stamped
  well in the future (a bogus jump forward, corrected) does not stall the job: it runs per
  schedule from now;
- a run that failed or was killed is retried after ``RETRY_FAILED_AFTER``, not a day later.
"""

from __future__ import annotations

import datetime as dt

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scheduler.settings import SchedulerSettings

_TICK = dt.timedelta(microseconds=1)
RETRY_FAILED_AFTER = dt.timedelta(minutes=10)  # a failed or killed run is retried this soon
CLOCK_BACK_TOLERANCE = dt.timedelta(minutes=2)  # a last run this far in the future is fine
UNFINISHED = ("failed", "running")  # "running" seen by a new run: the last one was killed
# An interval trigger anchored at a fixed instant, so its fire times do not depend on when
# the daemon started (a restart computes the same schedule).
_ANCHOR = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def triggers(settings: SchedulerSettings) -> dict[str, BaseTrigger]:
    """The trigger of every job, by job name."""
    zone = settings.alerts.zone
    alerts_at, purge_at = settings.alerts.at, settings.retention.at
    return {
        "retry-parked": IntervalTrigger(minutes=settings.retry.interval_min,
                                        start_date=_ANCHOR, timezone=dt.UTC),
        "trial-alerts": CronTrigger(hour=alerts_at.hour, minute=alerts_at.minute, timezone=zone),
        "retention": CronTrigger(hour=purge_at.hour, minute=purge_at.minute, timezone=zone),
        "reconcile-gaps": IntervalTrigger(minutes=settings.reconcile_interval_min,
                                          start_date=_ANCHOR, timezone=dt.UTC),
    }


def describe(name: str, settings: SchedulerSettings) -> str:
    """The schedule in words, for ``jobs list``."""
    if name == "retry-parked":
        return f"every {settings.retry.interval_min:g} min"
    if name == "trial-alerts":
        return f"daily at {settings.alerts.at:%H:%M} {settings.alerts.timezone}"
    if name == "reconcile-gaps":
        return f"every {settings.reconcile_interval_min:g} min"
    return f"daily at {settings.retention.at:%H:%M} {settings.alerts.timezone}"


def next_fire(trigger: BaseTrigger, after: dt.datetime) -> dt.datetime | None:
    """The first fire time strictly after ``after`` (on the trigger's own grid: computed
    without a previous fire time, so an off-schedule ``jobs run`` does not shift it)."""
    found: dt.datetime | None = trigger.get_next_fire_time(None, after + _TICK)
    return found


def clock_went_back(last_run: dt.datetime | None, now: dt.datetime) -> bool:
    """The last run is stamped in the future (beyond a small tolerance): a bogus forward
    jump was corrected, or the clock was set back. The schedule then runs from ``now``
    (waiting for the stamp would stall the job for the length of the jump); trial-alerts is
    not repeated by it, its per-Workspace marker in Salesforce protects it."""
    return last_run is not None and last_run > now + CLOCK_BACK_TOLERANCE


def retry_at(last_run: dt.datetime | None, last_result: str | None) -> dt.datetime | None:
    """When a failed or unfinished (killed) run is retried: soon, not at the next scheduled
    time a day later. All jobs are safe to re-run (trial-alerts: its Salesforce marker)."""
    if last_run is None or last_result not in UNFINISHED:
        return None
    return last_run + RETRY_FAILED_AFTER


def is_due(trigger: BaseTrigger, last_run: dt.datetime | None, now: dt.datetime,
           last_result: str | None = None) -> bool:
    """True when a fire time after the last run has come, when the last run failed or never
    finished and its retry time has come, or when the clock went back (a scheduled fire with
    the last run in the future). Never run: not due until the schedule says so."""
    if last_run is None:
        return False
    if clock_went_back(last_run, now):
        return True
    retry = retry_at(last_run, last_result)
    if retry is not None and retry <= now:
        return True
    upcoming = next_fire(trigger, last_run)
    return upcoming is not None and upcoming <= now


def first_run_at(trigger: BaseTrigger, last_run: dt.datetime | None, now: dt.datetime,
                 last_result: str | None = None) -> dt.datetime | None:
    """When a job should first run after a (re)start: now, once, if a run was missed;
    a failed or killed run at its retry time; otherwise its next fire time after both
    ``now`` and the last run (after ``now`` only, when the clock went back)."""
    if clock_went_back(last_run, now):
        return next_fire(trigger, now)
    if is_due(trigger, last_run, now, last_result):
        return now
    after = now if last_run is None else max(now, last_run)
    upcoming = next_fire(trigger, after)
    retry = retry_at(last_run, last_result)
    if retry is not None and (upcoming is None or retry < upcoming):
        return retry
    return upcoming
