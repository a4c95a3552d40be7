"""The shape of the configuration: every section, key, type and default, in one table.

Kept apart from :mod:`service.config` so the table reads as documentation: a key that is not
here is rejected (with a "did you mean"), and the environment override for a key is derived
from its place here (``auth.client_id`` → ``LIFECYCLE_SYNC_AUTH_CLIENT_ID``).
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Mapping
from typing import Any

from service.config_values import (
    Field,
    Invalid,
    assignment_rule,
    boolean,
    choice,
    clock_time,
    days_list,
    endpoint,
    nonempty_text,
    number,
    path_value,
    topic_list,
    url,
    user_ids,
    zone,
)

ENV_PREFIX = "LIFECYCLE_SYNC_"
DEFAULT_TOPICS = ("/event/SelfServeTrialEvent__e", "/data/LeadChangeEvent")
AUTH_MODES = ("jwt", "client_credentials", "password", "static_token")
SECRET_KEYS = ("client_secret", "private_key", "password", "access_token")
REQUIRED_BY_MODE: dict[str, tuple[str, ...]] = {
    "jwt": ("login_url", "client_id", "username", "private_key"),
    "client_credentials": ("login_url", "client_id", "client_secret"),
    "password": ("login_url", "client_id", "client_secret", "username", "password"),
    "static_token": ("instance_url", "tenant_id", "access_token"),
}
INBOX_BACKENDS = ("sqlite", "postgres")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
REPLAY_POLICIES = ("fail", "earliest", "latest")
START_POSITIONS = ("earliest", "latest")
# gRPC's receive limit: room for a full 100-event response at the low end, a C int at the top
# (the bounds subscriber.settings checks; importing the subscriber package here would load grpc).
MIN_RECEIVE_BYTES = 4 * 1024 * 1024
MAX_RECEIVE_BYTES = 2**31 - 1


class Secret:
    """A secret value that never prints itself; call :meth:`reveal` where it is really used."""

    __slots__ = ("_value", "origin")

    def __init__(self, value: str, origin: str = "") -> None:
        self._value = value
        self.origin = origin  # the file or variable it came from, safe to show

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('[redacted]')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class Problems:
    """Collects configuration problems so all of them can be reported at once."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def raise_if_any(self, error: Callable[[list[str]], Exception]) -> None:
        if self.items:
            raise error(self.items)


SPEC: dict[str, dict[str, Field]] = {
    "service": {
        "state_dir": Field(path_value, required=True),
        "log_level": Field(choice(LOG_LEVELS, upper=True), "INFO"),
        "mode": Field(choice(("live", "shadow")), "live"),
        "shutdown_timeout_s": Field(number(float, 1, 600), 8.0),
    },
    "auth": {
        "mode": Field(choice(AUTH_MODES), required=True),
        "login_url": Field(url, "https://login.salesforce.com"),
        "client_id": Field(nonempty_text),
        "username": Field(nonempty_text),
        "instance_url": Field(url),
        "tenant_id": Field(nonempty_text),
        "timeout_s": Field(number(float, 1, 600), 30.0),
        **{f"{key}_file": Field(nonempty_text) for key in SECRET_KEYS},
    },
    "pubsub": {
        "endpoint": Field(endpoint, "api.pubsub.salesforce.com:7443"),
        "ca_file": Field(path_value),
        "topics": Field(topic_list, DEFAULT_TOPICS),
        "on_invalid_replay": Field(choice(REPLAY_POLICIES), "fail"),
        "start_from": Field(choice(START_POSITIONS), "earliest"),
        "batch_size": Field(number(int, 1, 100), 100),
        "keepalive_s": Field(number(float, 1, 3600), 270.0),
        "watchdog_margin_s": Field(number(float, 0, 3600), 30.0),
        "ping_interval_s": Field(number(float, 1, 3600), 150.0),
        "ping_timeout_s": Field(number(float, 1, 600), 20.0),
        "max_receive_bytes": Field(number(int, MIN_RECEIVE_BYTES, MAX_RECEIVE_BYTES),
                                   32 * 1024 * 1024),
        "backoff_initial_s": Field(number(float, 0.01, 600), 1.0),
        "backoff_max_s": Field(number(float, 0.01, 3600), 60.0),
    },
    "inbox": {
        "retention_days": Field(number(float, 3, 3650), 7.0),  # >= the 72 h replay window
        # issue 12: "postgres" for an active/standby pair sharing one PostgreSQL
        "backend": Field(choice(INBOX_BACKENDS), "sqlite"),
        "dsn": Field(nonempty_text),  # libpq; passwords in a passfile, never here
        "lease_ttl_s": Field(number(float, 3, 600), 15.0),
        "takeover_wait_s": Field(number(float, 0, 3600)),  # default: TTL + longest SF request
    },
    "apply": {
        "workers": Field(number(int, 1, 32), 6),
        "batch_size": Field(number(int, 1, 200), 200),  # 200: one sObject Collections call
        "limit_pause_s": Field(number(float, 1, 86400), 300.0),
        "retry_initial_s": Field(number(float, 0.01, 3600), 1.0),
        "retry_max_s": Field(number(float, 0.01, 86400), 60.0),
        "max_attempts": Field(number(int, 1, 100), 8),
        "create_opportunity": Field(boolean, False),
        # handlers/ (README "Lead owners and new-trial Tasks", "Conflicting data")
        "lead_auto_assign": Field(assignment_rule, "TRUE"),  # on | off | an AssignmentRule ID
        "new_trial_task": Field(boolean, False),
        "trial_length_days": Field(number(int, 1, 365), 30),
        "mrr_ceiling": Field(number(float, 0.01, 99_999_999_999_999.99), 100_000.0),
        "read_timeout_s": Field(number(float, 1, 600), 120.0),
    },
    "scheduler": {  # scheduler/ (README "Scheduled jobs")
        "enabled": Field(boolean, True),
        "misfire_grace_s": Field(number(float, 1, 7 * 86400), 6 * 3600.0),
        "retry_interval_min": Field(number(float, 0.01, 1440), 5.0),
        "retry_max_attempts": Field(number(int, 1, 1000), 8),
        "retry_backoff_initial_min": Field(number(float, 0.1, 1440), 5.0),
        "retry_backoff_max_min": Field(number(float, 0.1, 43200), 1440.0),
    },
    "alerts": {
        "time": Field(clock_time, dt.time(9, 0)),
        "timezone": Field(zone, "UTC"),
        "thresholds_days": Field(days_list, (7, 1)),
        "owner_allowlist": Field(user_ids, ()),
    },
    "metrics": {  # service/metrics.py, service/health.py; port 0: no HTTP server
        "port": Field(number(int, 0, 65535), 0),
        "apply_stuck_s": Field(number(float, 10, 86400), 300.0),
    },
    "sla": {  # service/sla.py: the sync SLA
        "publish_to_applied_s": Field(number(float, 1, 7 * 86400), 60.0),
        "parked_errors_max": Field(number(int, 0, 1_000_000), 100),
        "check_interval_s": Field(number(float, 0.2, 3600), 30.0),
    },
    "sentry": {  # service/sentry_setup.py; empty dsn: SENTRY_DSN, else off
        "dsn": Field(url),
        "environment": Field(nonempty_text),
        "release": Field(nonempty_text),
        "crons": Field(boolean, True),
    },
    "retention": {
        "completed_days": Field(number(float, 1, 3650), 30.0),
        "error_redact_days": Field(number(float, 1, 3650), 90.0),
        "time": Field(clock_time, dt.time(3, 30)),
    },
}
# Keys that only the environment may set (secrets); the config loader reads them separately.
_ENV_ONLY = {"auth": frozenset(SECRET_KEYS)}


def check_value(
    section: str, key: str, field: Field, value: Any, origin: str, problems: Problems
) -> Any:
    """The parsed value, or None after recording a problem that names ``origin``."""
    try:
        return field.parse(value)
    except Invalid as exc:
        where = f"{section}.{key}" + ("" if origin == f"{section}.{key}" else f" (from {origin})")
        problems.add(f"{where}: {exc}")
        return None


def check_required(given: Mapping[str, Mapping[str, object]], problems: Problems) -> None:
    """Report every required key that no source set."""
    for section, fields in SPEC.items():
        for key, field in fields.items():
            if field.required and key not in given.get(section, {}):
                env_name = f"{ENV_PREFIX}{section.upper()}_{key.upper()}"
                problems.add(f"{section}.{key}: required (set it in [{section}] or {env_name})")


def unknown_keys(raw: Mapping[str, Any], problems: Problems) -> None:
    """Report sections and keys the schema doesn't know, suggesting the nearest known name."""
    for section, table in raw.items():
        if section not in SPEC:
            problems.add(f"[{section}]: unknown section{_hint(section, list(SPEC))}")
            continue
        if not isinstance(table, dict):
            problems.add(f"{section}: expected a [{section}] table")
            continue
        for key in table:
            if key not in SPEC[section] and key not in _ENV_ONLY.get(section, ()):
                problems.add(f"{section}.{key}: unknown key{_hint(key, list(SPEC[section]))}")


def env_overrides(
    env: Mapping[str, str], problems: Problems
) -> dict[str, dict[str, tuple[str, str]]]:
    """``LIFECYCLE_SYNC_<SECTION>_<KEY>`` variables as {section: {key: (value, variable)}}."""
    found: dict[str, dict[str, tuple[str, str]]] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        section, _, key = name[len(ENV_PREFIX):].lower().partition("_")
        known = section in SPEC and (key in SPEC[section] or key in _ENV_ONLY.get(section, ()))
        if not known:
            names = [f"{ENV_PREFIX}{s.upper()}_{k.upper()}" for s in SPEC for k in SPEC[s]]
            problems.add(f"{name}: unknown setting{_hint(name, names)}")
            continue
        found.setdefault(section, {})[key] = (value, name)
    return found


def _hint(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(known)})"
