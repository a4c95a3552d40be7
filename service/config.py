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
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scheduler.settings import SchedulerSettings
from service.config_rules import (
    check_backoff,
    check_inbox,
    check_mode,
    resolve_paths,
    scheduler_settings,
)
from service.config_schema import (
    AUTH_MODES,
    DEFAULT_TOPICS,
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
    "PubSubConfig", "Secret", "ServiceConfig", "SlaConfig", "inbox_path", "load_config",
    "redacted",
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
    REQUEST_LIMIT_EXCEEDED, the retry backoff of failed cycles and records (jittered,
    doubling from ``retry_initial_s`` up to ``retry_max_s``; a record still failing after
    ``max_attempts`` is parked for review), whether converting a Lead also creates an
    Opportunity, and how long a REST/SOAP call may wait for an answer (a stalled server must
    not wedge a worker). The rules: ``lead_auto_assign`` (``Sforce-Auto-Assign``: TRUE, FALSE
    or a rule ID), ``new_trial_task``, ``trial_length_days``, ``mrr_ceiling``."""

    workers: int = 6
    batch_size: int = 200
    limit_pause_s: float = 300.0
    retry_initial_s: float = 1.0
    retry_max_s: float = 60.0
    max_attempts: int = 8
    create_opportunity: bool = False
    lead_auto_assign: str = "TRUE"
    new_trial_task: bool = False
    trial_length_days: int = 30
    mrr_ceiling: float = 100_000.0
    read_timeout_s: float = 120.0


@dataclass(frozen=True)
class MetricsConfig:
    """``port``: /metrics, /healthz and /readyz on 127.0.0.1:port; 0 (default) is off.
    ``apply_stuck_s``: pending entries this old with no apply cycle finishing meanwhile (and
    no deliberate pause) make the daemon not ready and stop the watchdog pings."""

    port: int = 0
    apply_stuck_s: float = 300.0


@dataclass(frozen=True)
class SlaConfig:
    """The sync SLA (service/sla.py): the oldest pending event may wait at most
    ``publish_to_applied_s`` since it was published (its CreatedDate/commitTimestamp), and
    at most ``parked_errors_max`` Event_Cache__c rows may be parked in Error (0: not
    checked; else the retry-parked job counts them, one COUNT() query per run, and the check
    reads its last figure). A breach is one Sentry warning, a metric and a ``status`` line."""

    publish_to_applied_s: float = 60.0
    parked_errors_max: int = 100
    check_interval_s: float = 30.0


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
    sla: SlaConfig = SlaConfig()

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
    values = _checked_values(merged, problems)
    resolve_paths(values, base_dir)
    secrets = load_secrets(merged.get("auth", {}), problems, env, base_dir)
    check_mode(values["auth"], secrets, problems, given=merged.get("auth", {}))
    check_backoff(values["pubsub"], problems)
    check_inbox(values["inbox"], values["service"].get("mode", "live"), problems)
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
        sentry=SentrySettings(**values["sentry"]),
        metrics=MetricsConfig(**values["metrics"]),
        sla=SlaConfig(**values["sla"]),
        source=source,
    )


def _checked_values(merged: dict[str, dict[str, tuple[Any, str]]], problems: Problems
                    ) -> dict[str, dict[str, Any]]:
    """Every schema key's parsed value (or its default), problems recorded by key."""
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
    return values


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


from service.config_report import redacted  # noqa: E402 - it reads Config, defined above
