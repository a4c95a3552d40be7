"""``check-config``'s effective configuration for the scheduled jobs' sections and Sentry:
every value as the config gave it, times as HH:MM, the DSN only by its host, and printable
TOML that loads back to the same configuration (mutation testing found these unpinned)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from service.check_cmd import to_toml
from service.config import load_config
from service.config_report import redacted

CONFIG = """
[service]
state_dir = "state"
[auth]
mode = "static_token"
instance_url = "https://127.0.0.1:9"
tenant_id = "00Dxx0000000001"
[scheduler]
enabled = false
misfire_grace_s = 90
retry_interval_min = 7
retry_max_attempts = 4
retry_backoff_initial_min = 3
retry_backoff_max_min = 77
[alerts]
time = "08:15"
timezone = "Europe/Paris"
thresholds_days = [1, 7]
owner_allowlist = ["005000000000001AAA"]
[retention]
completed_days = 20
error_redact_days = 60
time = "02:30"
[sentry]
dsn = "https://0123abcd@o1.ingest.sentry.io/42"
environment = "pilot"
crons = false
"""
ENV = {"LIFECYCLE_SYNC_AUTH_ACCESS_TOKEN": "tok"}


def test_the_scheduled_jobs_and_sentry_sections_are_shown_as_configured(tmp_path: Path) -> None:
    (tmp_path / "sync.toml").write_text(CONFIG)
    out = redacted(load_config(tmp_path / "sync.toml", ENV))
    assert out["scheduler"] == {"enabled": False, "misfire_grace_s": 90,
                                "retry_interval_min": 7, "retry_max_attempts": 4,
                                "retry_backoff_initial_min": 3, "retry_backoff_max_min": 77}
    assert out["alerts"] == {"time": "08:15", "timezone": "Europe/Paris",
                             "thresholds_days": [7, 1], "owner_allowlist": ["005000000000001AAA"]}
    assert out["retention"] == {"completed_days": 20, "error_redact_days": 60, "time": "02:30"}
    assert out["sentry"] == {"dsn": "o1.ingest.sentry.io/42", "crons": False,
                             "environment": "pilot"}
    assert out["auth"]["access_token"] == "[redacted] from LIFECYCLE_SYNC_AUTH_ACCESS_TOKEN"


def test_the_printed_configuration_loads_back_to_the_same_settings(tmp_path: Path) -> None:
    (tmp_path / "sync.toml").write_text(CONFIG)
    first = load_config(tmp_path / "sync.toml", ENV)
    tables = redacted(first)
    tables["sentry"]["dsn"] = "https://0123abcd@o1.ingest.sentry.io/42"  # shown by host only
    del tables["auth"]["access_token"]  # secrets are shown by origin, given apart
    printed = to_toml(tables)
    assert tomllib.loads(printed)["retention"]["error_redact_days"] == 60
    (tmp_path / "again.toml").write_text(printed)
    again = load_config(tmp_path / "again.toml", ENV)
    assert again.scheduler == first.scheduler
    assert again.sentry == first.sentry
    assert again.apply == first.apply
