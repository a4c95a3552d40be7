"""The shape of the configuration: every section, key, type and default, in one table.

Kept apart from :mod:`service.config` so the table reads as documentation: a key that is not
here is rejected (with a "did you mean"), and the environment override for a key is derived
from its place here (``auth.client_id`` → ``LIFECYCLE_SYNC_AUTH_CLIENT_ID``).
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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


Parser = Callable[[Any], Any]


@dataclass(frozen=True)
class Field:
    """One key: how to parse a TOML or environment value, and its default (None: no default)."""

    parse: Parser
    default: Any = None
    required: bool = False


class _Invalid(ValueError):
    """A value that doesn't fit its key; the message says what was expected."""


def _fail(message: str) -> NoReturn:
    raise _Invalid(message)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        _fail("expected a non-empty string")
    return value.strip()


def _url(value: Any) -> str:
    text = _text(value).rstrip("/")
    if not text.startswith(("https://", "http://")):
        _fail(f"expected an https:// URL, got {text!r}")
    return text


def _endpoint(value: Any) -> str:
    host, _, port = _text(value).rpartition(":")
    if not host or not port.isdigit():
        _fail(f"expected host:port, got {value!r}")
    return f"{host}:{port}"


def _number(kind: type, low: float, high: float) -> Parser:
    what = "an integer" if kind is int else "a number"

    def parse(value: Any) -> Any:
        if isinstance(value, bool):
            _fail(f"expected {what}")
        try:
            number = kind(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            _fail(f"expected {what}, got {value!r}")
        if not low <= number <= high:
            _fail(f"must be between {_plain(low)} and {_plain(high)}, got {number}")
        return number

    return parse


def _plain(number: float) -> str:
    """1, 0.01, 4194304: never 4.1943e+06."""
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def _choice(options: tuple[str, ...], upper: bool = False) -> Parser:
    def parse(value: Any) -> str:
        text = _text(value)
        text = text.upper() if upper else text.lower()
        if text not in options:
            _fail(f"expected one of {', '.join(options)}, got {value!r}")
        return text

    return parse


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    _fail(f"expected true or false, got {value!r}")
    return False  # unreachable: _fail raises


def _path(value: Any) -> Path:
    return Path(_text(value)).expanduser()


def _clock_time(value: Any) -> dt.time:
    text = _text(value)
    try:
        parsed = dt.time.fromisoformat(text)
    except ValueError:
        _fail(f"expected a time of day like 09:00, got {value!r}")
    return parsed.replace(second=0, microsecond=0)


def _zone(value: Any) -> str:
    text = _text(value)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        _fail(f"unknown time zone {text!r} (use an IANA name like Europe/Paris)")
    return text


def _days_list(value: Any) -> tuple[int, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        _fail("expected a non-empty list of whole days, like [7, 1]")
    days = tuple(_number(int, 0, 365)(v) for v in items)
    if len(set(days)) != len(days):
        _fail("a threshold is listed twice")
    return tuple(sorted(days, reverse=True))


def _ids(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        _fail("expected a list of Salesforce User IDs, like [\"005000000000001AAA\"]")
    ids = tuple(_text(v) for v in items)
    for one in ids:
        if len(one) not in (15, 18) or not one.startswith("005") or not one.isalnum():
            _fail(f"{one!r} is not a User ID (15 or 18 characters starting 005)")
    return ids


def _topics(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        _fail("expected a non-empty list of topic names")
    topics = tuple(_text(t) for t in items)
    for topic in topics:
        if not topic.startswith(("/event/", "/data/")):
            _fail(f"topic {topic!r} must start with /event/ or /data/")
    if len(set(topics)) != len(topics):
        _fail("a topic is listed twice")
    return topics


SPEC: dict[str, dict[str, Field]] = {
    "service": {
        "state_dir": Field(_path, required=True),
        "log_level": Field(_choice(LOG_LEVELS, upper=True), "INFO"),
        "mode": Field(_choice(("live", "shadow")), "live"),
        "shutdown_timeout_s": Field(_number(float, 1, 600), 8.0),
    },
    "auth": {
        "mode": Field(_choice(AUTH_MODES), required=True),
        "login_url": Field(_url, "https://login.salesforce.com"),
        "client_id": Field(_text),
        "username": Field(_text),
        "instance_url": Field(_url),
        "tenant_id": Field(_text),
        "timeout_s": Field(_number(float, 1, 600), 30.0),
        **{f"{key}_file": Field(_text) for key in SECRET_KEYS},
    },
    "pubsub": {
        "endpoint": Field(_endpoint, "api.pubsub.salesforce.com:7443"),
        "ca_file": Field(_path),
        "topics": Field(_topics, DEFAULT_TOPICS),
        "on_invalid_replay": Field(_choice(REPLAY_POLICIES), "fail"),
        "start_from": Field(_choice(START_POSITIONS), "earliest"),
        "batch_size": Field(_number(int, 1, 100), 100),
        "keepalive_s": Field(_number(float, 1, 3600), 270.0),
        "watchdog_margin_s": Field(_number(float, 0, 3600), 30.0),
        "ping_interval_s": Field(_number(float, 1, 3600), 150.0),
        "ping_timeout_s": Field(_number(float, 1, 600), 20.0),
        "max_receive_bytes": Field(_number(int, MIN_RECEIVE_BYTES, MAX_RECEIVE_BYTES),
                                   32 * 1024 * 1024),
        "backoff_initial_s": Field(_number(float, 0.01, 600), 1.0),
        "backoff_max_s": Field(_number(float, 0.01, 3600), 60.0),
    },
    "inbox": {
        "retention_days": Field(_number(float, 3, 3650), 7.0),  # >= the 72 h replay window
    },
    "apply": {
        "workers": Field(_number(int, 1, 32), 6),
        "batch_size": Field(_number(int, 1, 200), 200),  # 200: one sObject Collections call
        "limit_pause_s": Field(_number(float, 1, 86400), 300.0),
        "create_opportunity": Field(_bool, False),
    },
    "scheduler": {  # scheduler/ (README "Scheduled jobs")
        "enabled": Field(_bool, True),
        "misfire_grace_s": Field(_number(float, 1, 7 * 86400), 6 * 3600.0),
        "retry_interval_min": Field(_number(float, 0.01, 1440), 5.0),
        "retry_max_attempts": Field(_number(int, 1, 1000), 8),
        "retry_backoff_initial_min": Field(_number(float, 0.1, 1440), 5.0),
        "retry_backoff_max_min": Field(_number(float, 0.1, 43200), 1440.0),
    },
    "alerts": {
        "time": Field(_clock_time, dt.time(9, 0)),
        "timezone": Field(_zone, "UTC"),
        "thresholds_days": Field(_days_list, (7, 1)),
        "owner_allowlist": Field(_ids, ()),
    },
    "metrics": {  # service/metrics.py, service/health.py; port 0: no HTTP server
        "port": Field(_number(int, 0, 65535), 0),
        "apply_stuck_s": Field(_number(float, 10, 86400), 300.0),
    },
    "sentry": {  # service/sentry_setup.py; empty dsn: SENTRY_DSN, else off
        "dsn": Field(_url),
        "environment": Field(_text),
        "release": Field(_text),
        "crons": Field(_bool, True),
    },
    "retention": {
        "completed_days": Field(_number(float, 1, 3650), 30.0),
        "error_redact_days": Field(_number(float, 1, 3650), 90.0),
        "time": Field(_clock_time, dt.time(3, 30)),
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
    except _Invalid as exc:
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
