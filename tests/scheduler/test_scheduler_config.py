"""The [scheduler], [alerts] and [retention] sections: parsed, defaulted, errors name the key,
and check-config prints them back as loadable TOML."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

from service.check_cmd import effective_tables, to_toml
from service.config import ConfigError, load_config

BASE = """
[service]
state_dir = "state"
[auth]
mode = "static_token"
instance_url = "https://x.example.com"
tenant_id = "00D"
"""
ENV = {"LIFECYCLE_SYNC_AUTH_ACCESS_TOKEN": "t"}


def _load(tmp_path: Path, extra: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    path = tmp_path / "c.toml"
    path.write_text(BASE + extra)
    return load_config(path, {**ENV, **(env or {})})


def test_defaults_and_values(tmp_path: Path) -> None:
    s = _load(tmp_path, "").scheduler
    assert (s.enabled, s.retry.interval_min, s.retry.max_attempts) == (True, 5.0, 8)
    assert (s.alerts.at, s.alerts.timezone, s.alerts.thresholds_days) == (
        dt.time(9, 0), "UTC", (7, 1))
    assert (s.retention.completed_days, s.retention.error_redact_days) == (30.0, 90.0)
    s = _load(tmp_path, '[alerts]\ntime = "07:45"\ntimezone = "America/New_York"\n'
                        "thresholds_days = [1, 14, 3]\n",
              {"LIFECYCLE_SYNC_SCHEDULER_RETRY_MAX_ATTEMPTS": "4"}).scheduler
    assert (s.alerts.at, s.alerts.zone.key, s.alerts.thresholds_days) == (
        dt.time(7, 45), "America/New_York", (14, 3, 1))
    assert s.retry.max_attempts == 4


@pytest.mark.parametrize(("extra", "expected"), [
    ('[alerts]\ntimezone = "Mars/Olympus"\n', "alerts.timezone: unknown time zone"),
    ('[alerts]\ntime = "9 o\'clock"\n', "alerts.time: expected a time of day"),
    ("[alerts]\nthresholds_days = [7, 7]\n", "alerts.thresholds_days: a threshold is listed"),
    ("[retention]\ncompleted_days = 0\n", "retention.completed_days: must be between 1"),
    ("[scheduler]\nretry_intervl_min = 5\n", "scheduler.retry_intervl_min: unknown key "
                                            "(did you mean retry_interval_min?)"),
])
def test_invalid_values_name_the_key(tmp_path: Path, extra: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, extra)
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems


def test_check_config_prints_them_back_as_loadable_toml(tmp_path: Path) -> None:
    config = _load(tmp_path, '[alerts]\ntime = "08:30"\ntimezone = "Europe/Paris"\n')
    tables = tomllib.loads(to_toml(effective_tables(config)))
    assert tables["alerts"] == {"time": "08:30", "timezone": "Europe/Paris",
                                "thresholds_days": [7, 1]}
    assert tables["scheduler"]["retry_interval_min"] == 5.0
    assert tables["retention"]["time"] == "03:30"


def test_the_example_marks_misfire_grace_s_deprecated_not_as_skipping_late_fires() -> None:
    """README: the key is no longer used (a missed fire always runs once); the example
    configuration must not promise that late fires are skipped."""
    text = (Path(__file__).parents[2] / "lifecycle-sync.example.toml").read_text()
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "misfire_grace_s =" in line)
    block = [line for line in lines[at - 3:at + 1] if line.startswith("#")]
    assert "deprecated" in " ".join(block).lower()
    assert not any("skipped until" in line for line in block)
    assert lines[at].startswith("# ")  # not set: old files may, the example does not
