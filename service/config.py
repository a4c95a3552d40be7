"""The daemon's settings: one TOML file plus ``LIFECYCLE_SYNC_<SECTION>_<KEY>`` overrides.

Loaded and validated once, at start-up, and every problem is reported together, each naming
its key, so one edit fixes a broken deployment instead of one restart per typo. Secrets never
live in the TOML file: it is typically world-readable in /etc and checked into config
management. They come from ``*_file`` keys (systemd ``LoadCredential=`` puts them in
``$CREDENTIALS_DIRECTORY``) or from the environment.

Precedence, one rule per question (README "Configuration precedence"):

- a key set both in the file and as ``LIFECYCLE_SYNC_<SECTION>_<KEY>``: the environment wins;
  ``--state DIR`` beats both for ``service.state_dir``;
- a secret given twice (``auth.private_key_file`` and ``LIFECYCLE_SYNC_AUTH_PRIVATE_KEY``):
  refused with a message naming both, never silently resolved;
- relative paths (``service.state_dir``, ``pubsub.ca_file``, from the file or the
  environment) resolve against the config file's folder, so the daemon finds the same state
  whatever the current directory; relative ``*_file`` secrets resolve under
  ``$CREDENTIALS_DIRECTORY`` when it is set, else against the config file's folder;
  ``--state DIR`` is a command-line path and resolves against the current directory.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from scheduler.settings import (
    AlertSettings,
    RetentionSettings,
    RetrySettings,
    SchedulerSettings,
)
from service.config_schema import (
    AUTH_MODES,
    DEFAULT_TOPICS,
    ENV_PREFIX,
    REQUIRED_BY_MODE,
    SECRET_KEYS,
    SPEC,
    Problems,
    Secret,
    check_required,
    check_value,
    env_overrides,
    unknown_keys,
)
from service.config_secrets import load_secrets, reject_plain_secrets
from service.sentry_setup import SentrySettings

INBOX_FILE = "inbox.db"

__all__ = [
    "AUTH_MODES", "DEFAULT_TOPICS", "AuthConfig", "Config", "ConfigError", "InboxConfig",
    "PubSubConfig", "Secret", "ServiceConfig", "inbox_path", "load_config",
]


def inbox_path(state_dir: Path) -> Path:
    """Where the inbox lives in a state directory (the daemon and ``status`` agree here)."""
    return state_dir / INBOX_FILE


class ConfigError(Exception):
    """The configuration can't be used; ``problems`` lists every reason, one per key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class ServiceConfig:
    """Where state lives and how the process behaves."""

    state_dir: Path
    log_level: str = "INFO"
    mode: str = "live"  # "shadow": decide everything, write nothing (service/shadow.py)
    shutdown_timeout_s: float = 8.0


@dataclass(frozen=True)
class AuthConfig:
    """How to get a Salesforce session; which fields matter depends on ``mode``."""

    mode: str
    login_url: str = "https://login.salesforce.com"
    client_id: str = ""
    username: str = ""
    instance_url: str = ""
    tenant_id: str = ""
    timeout_s: float = 30.0
    client_secret: Secret | None = None
    private_key: Secret | None = None
    password: Secret | None = None
    access_token: Secret | None = None


@dataclass(frozen=True)
class PubSubConfig:
    """The Pub/Sub API connection and what to do when a stored replay ID is refused.

    ``keepalive_s`` is how often the server promises a response on an idle stream (Salesforce:
    270 s); silence longer than that plus ``watchdog_margin_s`` means the stream is dead.
    ``max_receive_bytes`` caps one gRPC message (a 100-event response must fit).
    """

    endpoint: str = "api.pubsub.salesforce.com:7443"
    ca_file: Path | None = None
    topics: tuple[str, ...] = DEFAULT_TOPICS
    on_invalid_replay: str = "fail"
    start_from: str = "earliest"
    batch_size: int = 100
    keepalive_s: float = 270.0
    watchdog_margin_s: float = 30.0
    ping_interval_s: float = 150.0
    ping_timeout_s: float = 20.0
    max_receive_bytes: int = 32 * 1024 * 1024
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0


@dataclass(frozen=True)
class InboxConfig:
    """How long applied entries stay (their dedupe keys catch replays); others always stay.
    ``backend``: ``sqlite`` (the state directory's file) or ``postgres`` (``dsn``, shared by an
    active/standby pair; ``lease_ttl_s`` and ``takeover_wait_s``: service.failover)."""

    retention_days: float = 7.0
    backend: str = "sqlite"
    dsn: str = ""
    lease_ttl_s: float = 15.0
    takeover_wait_s: float | None = None


@dataclass(frozen=True)
class ApplyConfig:
    """The apply loop: cycles in flight, entries per cycle, the pause after
    REQUEST_LIMIT_EXCEEDED, and whether converting a Lead also creates an Opportunity."""

    workers: int = 6
    batch_size: int = 200
    limit_pause_s: float = 300.0
    create_opportunity: bool = False


@dataclass(frozen=True)
class MetricsConfig:
    """``port``: /metrics, /healthz and /readyz on 127.0.0.1:port; 0 (default) is off.
    ``apply_stuck_s``: pending entries this old with no apply cycle finishing meanwhile (and
    no deliberate pause) make the daemon not ready and stop the watchdog pings."""

    port: int = 0
    apply_stuck_s: float = 300.0


@dataclass(frozen=True)
class Config:
    """Everything :mod:`service.wiring` needs to build the daemon."""

    service: ServiceConfig
    auth: AuthConfig
    pubsub: PubSubConfig
    inbox: InboxConfig
    source: str = ""
    apply: ApplyConfig = ApplyConfig()
    scheduler: SchedulerSettings = dataclasses.field(default_factory=SchedulerSettings)
    sentry: SentrySettings = dataclasses.field(default_factory=SentrySettings)
    metrics: MetricsConfig = MetricsConfig()

    def secrets(self) -> list[str]:
        """Secret values, for the log scrubber to mask wherever they appear."""
        found = (self.auth.client_secret, self.auth.private_key, self.auth.password,
                 self.auth.access_token)
        return [s.reveal() for s in found if s is not None]


def load_config(
    path: Path, env: Mapping[str, str] | None = None, state_dir: Path | None = None
) -> Config:
    """Read ``path``, apply environment overrides and validate; raises :class:`ConfigError`."""
    env = os.environ if env is None else env
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError([f"config file {path} does not exist"]) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([f"config file {path}: {exc}"]) from None
    problems = Problems()
    reject_plain_secrets(raw, problems)
    unknown_keys(raw, problems)
    merged = _merge(raw, env_overrides(env, problems))
    if state_dir is not None:
        merged.setdefault("service", {})["state_dir"] = (os.path.abspath(state_dir), "--state")
    base_dir = Path(os.path.abspath(path)).parent
    return build_config(merged, problems, env, base_dir=base_dir, source=str(path))


def build_config(
    merged: dict[str, dict[str, tuple[Any, str]]],
    problems: Problems,
    env: Mapping[str, str],
    base_dir: Path,
    source: str,
) -> Config:
    """Check each (value, origin) pair against the schema and assemble the config."""
    check_required(merged, problems)
    values: dict[str, dict[str, Any]] = {}
    for section, spec in SPEC.items():
        given = merged.get(section, {})
        values[section] = {}
        for key, field in spec.items():
            if key.endswith("_file") and key[:-5] in SECRET_KEYS:
                continue  # consumed by load_secrets
            if key in given:
                value, origin = given[key]
                values[section][key] = check_value(section, key, field, value, origin, problems)
            elif field.default is not None:
                values[section][key] = field.default
    _resolve_paths(values, base_dir)
    secrets = load_secrets(merged.get("auth", {}), problems, env, base_dir)
    _check_mode(values["auth"], secrets, problems, given=merged.get("auth", {}))
    _check_backoff(values["pubsub"], problems)
    _check_inbox(values["inbox"], problems)
    problems.raise_if_any(ConfigError)
    return Config(
        service=ServiceConfig(**values["service"]),
        auth=AuthConfig(
            **values["auth"], client_secret=secrets["client_secret"],
            private_key=secrets["private_key"], password=secrets["password"],
            access_token=secrets["access_token"],
        ),
        pubsub=PubSubConfig(**values["pubsub"]),
        inbox=InboxConfig(**values["inbox"]),
        apply=ApplyConfig(**values["apply"]),
        scheduler=scheduler_settings(values),
        sentry=SentrySettings(**{"environment": "production", **values["sentry"]}),
        metrics=MetricsConfig(**values["metrics"]),
        source=source,
    )


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


def _merge(
    raw: dict[str, Any], env_values: dict[str, dict[str, tuple[Any, str]]]
) -> dict[str, dict[str, tuple[Any, str]]]:
    merged: dict[str, dict[str, tuple[Any, str]]] = {}
    for section, table in raw.items():
        if isinstance(table, dict):
            merged[section] = {k: (v, f"{section}.{k}") for k, v in table.items()}
    for section, table in env_values.items():
        merged.setdefault(section, {}).update(table)
    return merged


# Keys holding a path; a relative one resolves against the config file's folder.
_PATH_KEYS = (("service", "state_dir"), ("pubsub", "ca_file"))


def _resolve_paths(values: dict[str, dict[str, Any]], base_dir: Path) -> None:
    for section, key in _PATH_KEYS:
        value = values[section].get(key)
        if isinstance(value, Path) and not value.is_absolute():
            values[section][key] = Path(os.path.normpath(base_dir / value))


def _check_backoff(pubsub: dict[str, Any], problems: Problems) -> None:
    low, high = pubsub.get("backoff_initial_s"), pubsub.get("backoff_max_s")
    if low is not None and high is not None and high < low:
        problems.add(f"pubsub.backoff_max_s: must be at least pubsub.backoff_initial_s ({low})")


def _check_inbox(inbox: dict[str, Any], problems: Problems) -> None:
    if inbox.get("backend") == "postgres" and not inbox.get("dsn"):
        problems.add("inbox.dsn: required with inbox.backend = \"postgres\" (a libpq "
                     "connection string, e.g. \"host=db1,db2 dbname=sync "
                     "target_session_attrs=read-write\"; put the password in a passfile)")
    elif _dsn_has_password(str(inbox.get("dsn", ""))):
        problems.add("inbox.dsn: holds a password; put it in a passfile (~/.pgpass, "
                     "PGPASSFILE or passfile= in the DSN) so it never sits in the TOML")


def _dsn_has_password(dsn: str) -> bool:
    """``password=`` (key/value form) or ``user:secret@`` (URI form)."""
    return bool(re.search(r"(^|\s)password\s*=", dsn)
                or re.match(r"^postgres(ql)?://[^/@]*:[^/@]*@", dsn))


def _check_mode(
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


def redacted(config: Config) -> dict[str, dict[str, Any]]:
    """The effective settings as plain values, with each secret shown only by its origin."""
    out: dict[str, dict[str, Any]] = {}
    for section in ("service", "auth", "pubsub", "inbox", "apply", "metrics"):
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
