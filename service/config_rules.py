"""Checks across keys (and path resolution) that one key's schema cannot express, and the
scheduler settings, which three sections make together."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scheduler.settings import (
    AlertSettings,
    RetentionSettings,
    RetrySettings,
    SchedulerSettings,
)
from service.config_schema import ENV_PREFIX, REQUIRED_BY_MODE, SECRET_KEYS, Problems, Secret

# Keys holding a path; a relative one resolves against the config file's folder.
_PATH_KEYS = (("service", "state_dir"), ("pubsub", "ca_file"))


def resolve_paths(values: dict[str, dict[str, Any]], base_dir: Path) -> None:
    for section, key in _PATH_KEYS:
        value = values[section].get(key)
        if isinstance(value, Path) and not value.is_absolute():
            values[section][key] = Path(os.path.normpath(base_dir / value))


def check_backoff(pubsub: dict[str, Any], problems: Problems) -> None:
    low, high = pubsub.get("backoff_initial_s"), pubsub.get("backoff_max_s")
    if low is not None and high is not None and high < low:
        problems.add(f"pubsub.backoff_max_s: must be at least pubsub.backoff_initial_s ({low})")


def check_mode(
    auth: dict[str, Any], secrets: dict[str, Secret | None], problems: Problems,
    given: Mapping[str, Any],
) -> None:
    mode = auth.get("mode")
    if mode not in REQUIRED_BY_MODE:
        return  # a missing or wrong mode was already reported
    for key in REQUIRED_BY_MODE[mode]:
        if key in SECRET_KEYS and f"{key}_file" in given:
            continue  # given; if it could not be read, load_secrets said why
        present = secrets.get(key) is not None if key in SECRET_KEYS else bool(auth.get(key))
        if not present:
            how = (f" (set auth.{key}_file or {ENV_PREFIX}AUTH_{key.upper()})"
                   if key in SECRET_KEYS else "")
            problems.add(f"auth.{key}: required when auth.mode = {mode!r}{how}")


def check_inbox(inbox: dict[str, Any], mode: str, problems: Problems) -> None:
    """A PostgreSQL DSN: present, parseable, password-free; and never with shadow mode.

    Shadow on the shared PostgreSQL inbox is refused rather than given a lease of its own: a
    lease only decides who writes, and a shadow daemon would still land events and move the
    checkpoints the live pair reads, and its watermark would sit in their meta table. Shadow
    runs on the SQLite backend (its own inbox file) beside a live pair, which it then cannot
    disturb."""
    if inbox.get("backend") != "postgres":
        return
    dsn = str(inbox.get("dsn", ""))
    if not dsn:
        problems.add("inbox.dsn: required with inbox.backend = \"postgres\" (a libpq "
                     "connection string, e.g. \"host=db1,db2 dbname=sync "
                     "target_session_attrs=read-write\"; put the password in a passfile)")
    else:
        _check_dsn(dsn, problems)
    if mode == "shadow":
        problems.add("service.mode: \"shadow\" is refused with inbox.backend = \"postgres\": "
                     "a shadow daemon would land events and move the checkpoints of the live "
                     "pair's shared inbox; run shadow with inbox.backend = \"sqlite\" (its own "
                     "inbox file in its state_dir) against the same org")


def _check_dsn(dsn: str, problems: Problems) -> None:
    """Parsed by libpq itself (psycopg's ``conninfo_to_dict``), so every form counts:
    ``password=`` pairs, ``?password=`` in a URI and ``user:secret@`` userinfo; likewise the
    client key's passphrase, ``sslpassword=``. Messages never
    quote the DSN: it may hold the very secret being refused."""
    try:
        import psycopg
        from psycopg import conninfo
    except ImportError:
        return  # opening the backend names the missing extra (service/inbox_backend.py)
    try:
        params = conninfo.conninfo_to_dict(dsn)
    except psycopg.Error:  # not its text: libpq's message may quote part of a value
        problems.add("inbox.dsn: not a libpq connection string (\"key=value ...\" pairs or "
                     "a postgresql:// URI)")
        return
    if params.get("password"):
        problems.add("inbox.dsn: holds a password; never put it in the TOML. Use a passfile "
                     "(~/.pgpass of the service user, PGPASSFILE, or passfile= in the DSN, mode "
                     "0600) or set PGPASSWORD in the service's environment file (systemd "
                     "EnvironmentFile=, mode 0600)")
    if params.get("sslpassword"):
        problems.add("inbox.dsn: holds sslpassword (the client key's passphrase); never put "
                     "it in the TOML. Give sslkey= a key file without a passphrase, readable "
                     "only by the service user (mode 0600)")


def scheduler_settings(values: dict[str, dict[str, Any]]) -> SchedulerSettings:
    """The ``[scheduler]``, ``[alerts]`` and ``[retention]`` sections as scheduler settings."""
    s, a, r = values["scheduler"], values["alerts"], values["retention"]
    return SchedulerSettings(
        enabled=s["enabled"], misfire_grace_s=s["misfire_grace_s"],
        retry=RetrySettings(interval_min=s["retry_interval_min"],
                            max_attempts=s["retry_max_attempts"],
                            backoff_initial_min=s["retry_backoff_initial_min"],
                            backoff_max_min=s["retry_backoff_max_min"]),
        alerts=AlertSettings(at=a["time"], timezone=a["timezone"],
                             thresholds_days=a["thresholds_days"],
                             owner_allowlist=a["owner_allowlist"]),
        retention=RetentionSettings(completed_days=r["completed_days"],
                                    error_redact_days=r["error_redact_days"], at=r["time"]))
