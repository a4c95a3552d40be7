"""The scheduler's settings (the ``[scheduler]``, ``[alerts]`` and ``[retention]`` sections).

Defaults are the safe choice: retries every 5 minutes with backoff doubling from 5 minutes up
to a day, review after 8 attempts; alerts at 09:00 UTC for 7 days and 1 day before a trial
ends; Completed parked rows kept 30 days, Error rows' payloads redacted after 90 days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

JOB_NAMES = ("retry-parked", "trial-alerts", "retention", "reconcile-gaps")


@dataclass(frozen=True)
class RetrySettings:
    interval_min: float = 5.0
    max_attempts: int = 8
    backoff_initial_min: float = 5.0
    backoff_max_min: float = 1440.0
    batch_size: int = 200


@dataclass(frozen=True)
class AlertSettings:
    at: dt.time = dt.time(9, 0)
    timezone: str = "UTC"
    thresholds_days: tuple[int, ...] = (7, 1)
    owner_allowlist: tuple[str, ...] = ()  # User IDs; empty: every owner (pilots: the team)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class RetentionSettings:
    completed_days: float = 30.0
    error_redact_days: float = 90.0
    at: dt.time = dt.time(3, 30)
    job_runs_days: float = 90.0


@dataclass(frozen=True)
class SchedulerSettings:
    enabled: bool = True
    misfire_grace_s: float = 6 * 3600.0
    retry: RetrySettings = RetrySettings()
    alerts: AlertSettings = AlertSettings()
    retention: RetentionSettings = RetentionSettings()
    # reconcile-gaps (scheduler.reconcile_gaps): no call at all while no replay gap is open.
    reconcile_interval_min: float = 15.0
