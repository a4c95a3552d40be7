"""The effective configuration as plain values (``check-config`` prints it): every secret
shown only by where it came from, the Sentry DSN only by its host."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.config_schema import Secret

if TYPE_CHECKING:
    from service.config import Config


def redacted(config: Config) -> dict[str, dict[str, Any]]:
    """The effective settings as plain values, with each secret shown only by its origin."""
    out: dict[str, dict[str, Any]] = {}
    for section in ("service", "auth", "pubsub", "inbox", "apply", "metrics", "sla"):
        table = getattr(config, section)
        values = ((f.name, getattr(table, f.name)) for f in fields(table))
        out[section] = {key: _plain(value) for key, value in values if value not in (None, "")}
    sched = config.scheduler
    out["scheduler"] = {"enabled": sched.enabled, "misfire_grace_s": sched.misfire_grace_s,
                        "retry_interval_min": sched.retry.interval_min,
                        "retry_max_attempts": sched.retry.max_attempts,
                        "retry_backoff_initial_min": sched.retry.backoff_initial_min,
                        "retry_backoff_max_min": sched.retry.backoff_max_min}
    out["alerts"] = {"time": sched.alerts.at.strftime("%H:%M"),
                     "timezone": sched.alerts.timezone,
                     "thresholds_days": list(sched.alerts.thresholds_days)}
    if sched.alerts.owner_allowlist:
        out["alerts"]["owner_allowlist"] = list(sched.alerts.owner_allowlist)
    out["retention"] = {"completed_days": sched.retention.completed_days,
                        "error_redact_days": sched.retention.error_redact_days,
                        "time": sched.retention.at.strftime("%H:%M")}
    out["sentry"] = {"dsn": _dsn_host(config.sentry.dsn), "crons": config.sentry.crons,
                     **{k: v for k in ("environment", "release")
                        if (v := getattr(config.sentry, k))}}
    return out


def _dsn_host(dsn: str) -> str:
    """Where events go, without the DSN's key."""
    return dsn.rpartition("@")[2] if dsn else "(off unless SENTRY_DSN is set)"


def _plain(value: object) -> Any:
    if isinstance(value, Secret):
        return f"[redacted] from {value.origin}" if value.origin else "[redacted]"
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value
