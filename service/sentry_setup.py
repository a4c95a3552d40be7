"""Sentry for the daemon: off without a DSN; scrubbed, grouped and tagged when on.

Settings come from ``[sentry]`` in the config file (or ``LIFECYCLE_SYNC_SENTRY_*``), else the
SDK's standard ``SENTRY_DSN``, ``SENTRY_ENVIRONMENT`` and ``SENTRY_RELEASE`` variables.
Local variables are never sent (``include_local_variables=False``: they hold payloads with
emails); every event and breadcrumb is scrubbed (:mod:`service.sentry_scrub`).

The problems the daemon already reports "once per error class" (apply failures, poison
events, failing jobs) reach Sentry through :func:`report`, with a fingerprint of their kind
and class, so a thousand refused records are one issue, not a thousand. Their loggers are
not turned into events a second time. Scheduled jobs send Cron check-ins (:func:`monitored`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scheduler.settings import SchedulerSettings
from service.sentry_scrub import scrub_event, scrub_text, scrub_value

log = logging.getLogger("lifecycle_sync.sentry")
# Loggers whose first-per-class lines are sent by report() with a fingerprint instead.
REPORTED_LOGGERS = ("lifecycle_sync.apply", "subscriber.poison", "lifecycle_sync.jobs")
_DENY = ["email", "emails", "email__c", "access_token", "client_secret", "private_key",
         "assertion", "refresh_token"]  # on top of the SDK's DEFAULT_DENYLIST

if TYPE_CHECKING:
    from types import ModuleType


def _sdk() -> ModuleType | None:
    """The SDK if this process imported it (:func:`init_sentry` does), else None. The SDK is
    imported only when Sentry is on: importing it costs ~100 ms of CPU at start-up (its HTTP
    transport pulls urllib3 and asyncio), and with it off nothing of it is ever used."""
    return sys.modules.get("sentry_sdk")


@dataclass(frozen=True)
class SentrySettings:
    """``dsn`` empty: Sentry is off. ``crons``: scheduled jobs send check-ins."""

    dsn: str = ""
    environment: str = ""  # empty: SENTRY_ENVIRONMENT, else "production" (from_env)
    release: str = ""
    crons: bool = True

    @property
    def enabled(self) -> bool:
        return bool(self.dsn)


def from_env(settings: SentrySettings, env: Mapping[str, str]) -> SentrySettings:
    """Fill what the config left empty from the SDK's standard variables; the default release
    (the installed version) only when Sentry is on, as nothing else reads it."""
    dsn = settings.dsn or env.get("SENTRY_DSN", "")
    return SentrySettings(
        dsn=dsn,
        # An explicit setting beats the variable, as in the SDK itself: "If you do not set
        # environment in init(), the Sentry SDK will check for the environment variable,
        # SENTRY_ENVIRONMENT. If this is not set, environment will default to production"
        # (docs.sentry.io/platforms/python/configuration/environments/).
        environment=settings.environment or env.get("SENTRY_ENVIRONMENT", "") or "production",
        release=(settings.release or env.get("SENTRY_RELEASE", "")
                 or (default_release() if dsn else "")),
        crons=settings.crons)


def default_release() -> str:
    from importlib import metadata  # ~50 ms of imports: only when Sentry is on

    try:
        return f"lifecycle-sync@{metadata.version('lifecycle-sync')}"
    except metadata.PackageNotFoundError:
        return "lifecycle-sync@unknown"


def init_sentry(settings: SentrySettings, secrets: Iterable[str] = ()) -> bool:
    """Start the SDK when a DSN is set; returns whether it did."""
    if not settings.enabled:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.logging import LoggingIntegration, ignore_logger
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    masked = tuple(s for s in secrets if s)

    def before_send(event: Any, hint: Any) -> Any:
        return scrub_event(event, masked, hint)

    def before_breadcrumb(crumb: Any, hint: Any) -> Any:
        return scrub_value(crumb, masked)

    sentry_sdk.init(
        dsn=settings.dsn, environment=settings.environment,
        release=settings.release or default_release(),  # PII off: the default
        include_local_variables=False, max_request_body_size="never", max_breadcrumbs=50,
        event_scrubber=EventScrubber(recursive=True, denylist=[*DEFAULT_DENYLIST, *_DENY]),
        before_send=before_send, before_breadcrumb=before_breadcrumb,
        before_send_transaction=None, traces_sample_rate=None, shutdown_timeout=2,
        integrations=[LoggingIntegration(level=logging.INFO, event_level=logging.ERROR)],
    )
    for name in REPORTED_LOGGERS:
        ignore_logger(name)
    log.info("Sentry on: environment %s, release %s", settings.environment,
             settings.release or default_release())
    return True


def flush(timeout_s: float = 2.0) -> None:
    """Send what is queued (at shutdown); a no-op when Sentry is off."""
    sentry_sdk = _sdk()
    if sentry_sdk is None:
        return
    client = sentry_sdk.get_client()
    if client.is_active():
        client.flush(timeout=timeout_s)


def report(kind: str, error_class: str, message: str,
           tags: Mapping[str, str | None] | None = None, level: str = "warning") -> None:
    """One problem of ``kind`` (``apply``, ``poison``, ``job``) and ``error_class``: grouped by
    exactly those two, tagged (never with an email), message scrubbed. A no-op when off."""
    sentry_sdk = _sdk()
    if sentry_sdk is None or not sentry_sdk.get_client().is_active():
        return
    with sentry_sdk.new_scope() as scope:
        scope.fingerprint = ["lifecycle-sync", kind, error_class]
        scope.set_tag("kind", kind)
        scope.set_tag("error_code", error_class)
        for key, value in (tags or {}).items():
            if value and "@" not in value:
                scope.set_tag(key, value)
        scope.set_extra("detail", scrub_text(message)[:500])
        sentry_sdk.capture_message(f"{kind}: {error_class}", level=level)


@contextlib.contextmanager
def fatal_scope(error_code: str) -> Iterator[None]:
    """Events captured inside (the "stopped: Fatal" log line) are level ``fatal`` and carry
    the cause's ``error_code`` tag, which :func:`service.sentry_scrub.fingerprint` groups by:
    a refused replay ID is its own issue, not one with every other fatal stop."""
    sentry_sdk = _sdk()
    if sentry_sdk is None or not sentry_sdk.get_client().is_active():
        yield
        return
    with sentry_sdk.new_scope() as scope:
        scope.set_level("fatal")
        if error_code:
            scope.set_tag("error_code", error_code)
        yield


def monitored(slug: str, job: Callable[[Any], str], monitor_config: Mapping[str, Any]
              ) -> Callable[[Any], str]:
    """``job`` wrapped in Sentry Cron check-ins: in_progress, then ok or error (re-raised);
    the first failure of each error class is also reported as an issue."""
    reported: set[str] = set()

    def run(now: Any) -> str:
        if _sdk() is None:  # Sentry is off: no check-ins to send
            return job(now)
        import sentry_sdk.crons
        from sentry_sdk.crons import MonitorStatus

        config: Any = dict(monitor_config)
        check_in_id = sentry_sdk.crons.capture_checkin(
            monitor_slug=slug, status=MonitorStatus.IN_PROGRESS, monitor_config=config)
        started = time.monotonic()
        try:
            result = job(now)
        except BaseException as exc:
            # A routine postponement (e.g. KeysBusy: apply cycles held the job's keys) is a
            # run that went as designed: ok, no issue; the runner still retries it soon.
            routine = bool(getattr(exc, "routine", False))
            sentry_sdk.crons.capture_checkin(
                monitor_slug=slug, check_in_id=check_in_id,
                status=MonitorStatus.OK if routine else MonitorStatus.ERROR,
                duration=time.monotonic() - started, monitor_config=config)
            if routine:
                raise
            error_class = str(getattr(exc, "error_class", type(exc).__name__))
            if error_class not in reported:
                reported.add(error_class)
                report("job", error_class, str(exc), {"job": slug}, level="error")
            raise
        sentry_sdk.crons.capture_checkin(
            monitor_slug=slug, check_in_id=check_in_id, status=MonitorStatus.OK,
            duration=time.monotonic() - started, monitor_config=config)
        return result

    return run


def monitor_configs(settings: SchedulerSettings) -> dict[str, dict[str, Any]]:
    """Each job's Sentry monitor: its schedule, so a missed or failed run raises an issue."""
    zone = settings.alerts.timezone
    common = {"checkin_margin": 10, "max_runtime": 60, "failure_issue_threshold": 1}

    def daily(at: dt.time) -> dict[str, Any]:
        return {"schedule": {"type": "crontab", "value": f"{at.minute} {at.hour} * * *"},
                "timezone": zone, **common}

    def every(minutes: float) -> dict[str, Any]:
        return {"schedule": {"type": "interval", "value": max(1, round(minutes)),
                             "unit": "minute"}, **common}

    return {"retry-parked": every(settings.retry.interval_min),
            "trial-alerts": daily(settings.alerts.at),
            "retention": daily(settings.retention.at),
            "reconcile-gaps": every(settings.reconcile_interval_min)}
