"""When each job runs: APScheduler triggers, and the one rule that keeps runs single.

A job is *due* when the first fire time after its last recorded run has come. Everything
that decides whether to run uses that rule with an explicit ``now`` (the injected clock), so:

- a restart after a missed fire time runs the job once, at start (however many were missed);
- a clock jump forward runs it once (APScheduler coalesces the missed fire times, and the
  rule refuses the second of two fires with nothing due in between);
- a clock jump back never repeats a run already made for a later fire time: the next fire
  time is computed from the last run, not from the (earlier) clock.
"""

from __future__ import annotations

import datetime as dt

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scheduler.settings import SchedulerSettings

_TICK = dt.timedelta(microseconds=1)
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
    }


def describe(name: str, settings: SchedulerSettings) -> str:
    """The schedule in words, for ``jobs list``."""
    if name == "retry-parked":
        return f"every {settings.retry.interval_min:g} min"
    if name == "trial-alerts":
        return f"daily at {settings.alerts.at:%H:%M} {settings.alerts.timezone}"
    return f"daily at {settings.retention.at:%H:%M} {settings.alerts.timezone}"


def next_fire(trigger: BaseTrigger, after: dt.datetime) -> dt.datetime | None:
    """The first fire time strictly after ``after`` (on the trigger's own grid: computed
    without a previous fire time, so an off-schedule ``jobs run`` does not shift it)."""
    found: dt.datetime | None = trigger.get_next_fire_time(None, after + _TICK)
    return found


def is_due(trigger: BaseTrigger, last_run: dt.datetime | None, now: dt.datetime) -> bool:
    """True when a fire time after the last run has come (never run: the first fire after
    ``now`` has not come, so it is not due until the schedule says so)."""
    if last_run is None:
        return False
    upcoming = next_fire(trigger, last_run)
    return upcoming is not None and upcoming <= now


def first_run_at(trigger: BaseTrigger, last_run: dt.datetime | None, now: dt.datetime
                 ) -> dt.datetime | None:
    """When a job should first run after a (re)start: now, once, if a run was missed;
    otherwise its next fire time after both ``now`` and the last run."""
    if is_due(trigger, last_run, now):
        return now
    after = now if last_run is None else max(now, last_run)
    return next_fire(trigger, after)
