"""``[apply]`` settings (file and environment) reach the apply loop and the gateway."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import ConfigError, load_config

TOML = """
[service]
state_dir = "{state}"
[auth]
mode = "jwt"
client_id = "3MVG9abc"
username = "integration@example.com"
private_key_file = "key.pem"
[apply]
workers = 2
create_opportunity = true
"""


def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None):
    (tmp_path / "key.pem").write_text("PEM")
    path = tmp_path / "config.toml"
    path.write_text(text.format(state=tmp_path / "state"))
    return load_config(path, {"CREDENTIALS_DIRECTORY": str(tmp_path), **(env or {})})


def test_apply_settings_from_file_and_environment(tmp_path):
    config = _load(tmp_path, TOML, {"LIFECYCLE_SYNC_APPLY_LIMIT_PAUSE_S": "60"})
    assert (config.apply.workers, config.apply.batch_size, config.apply.limit_pause_s,
            config.apply.create_opportunity) == (2, 200, 60.0, True)


def test_apply_defaults_and_bad_values_name_the_key(tmp_path):
    config = _load(tmp_path, TOML.split("[apply]")[0])
    assert (config.apply.workers, config.apply.create_opportunity) == (6, False)
    with pytest.raises(ConfigError, match=r"apply.batch_size: must be between 1 and 200"):
        _load(tmp_path, TOML + "batch_size = 500\n")
    with pytest.raises(ConfigError, match=r"apply.create_opportunity: expected true or false"):
        _load(tmp_path, TOML.replace("true", '"maybe"'))


def test_wiring_builds_one_gateway_per_worker(tmp_path):
    from service.apply_wiring import apply_loop
    from subscriber.auth import Session, SessionProvider, StaticToken
    from subscriber.inbox import Inbox

    config = _load(tmp_path, TOML + 'lead_auto_assign = "off"\ntrial_length_days = 9\n')
    sessions = SessionProvider(StaticToken(Session("t", "https://x.example", "00D")))
    with Inbox(tmp_path / "inbox.db") as inbox:
        loop = apply_loop(config, sessions, inbox)
        assert len(loop._gateways) == 2
        assert all(g._settings.create_opportunity for g in loop._gateways)
        assert all(g._settings.auto_assign == "FALSE" for g in loop._gateways)
        assert all(g.rules.trial_length_days == 9 for g in loop._gateways)


@pytest.mark.parametrize(("value", "header"), [
    ('"on"', "TRUE"), ("true", "TRUE"), ('"off"', "FALSE"), ("false", "FALSE"),
    ('"01Q5g000000AbCdEAF"', "01Q5g000000AbCdEAF")])
def test_lead_auto_assign_becomes_the_header_value(tmp_path, value, header):
    from service.jobs_wiring import gateway_settings

    config = _load(tmp_path, TOML + f"lead_auto_assign = {value}\n")
    assert gateway_settings(config).auto_assign == header


def test_rule_settings_defaults_file_and_environment(tmp_path):
    from decimal import Decimal

    from handlers.rule_settings import RuleSettings
    from service.jobs_wiring import gateway_settings

    assert gateway_settings(_load(tmp_path, TOML)).rules == RuleSettings(
        trial_length_days=30, mrr_ceiling=Decimal("100000"), new_trial_task=False)
    assert gateway_settings(_load(tmp_path, TOML)).auto_assign == "TRUE"  # on by default
    config = _load(tmp_path, TOML + "trial_length_days = 14\nmrr_ceiling = 2500.5\n",
                   {"LIFECYCLE_SYNC_APPLY_NEW_TRIAL_TASK": "true"})
    assert gateway_settings(config).rules == RuleSettings(14, Decimal("2500.5"), True)


@pytest.mark.parametrize(("line", "message"), [
    ('lead_auto_assign = "sometimes"', "apply.lead_auto_assign: expected on, off or an "
                                       "AssignmentRule ID"),
    ('lead_auto_assign = "0015g000000AbCdEAF"', "apply.lead_auto_assign"),  # an Account ID
    ("trial_length_days = 0", "apply.trial_length_days: must be between 1 and 365"),
    ("mrr_ceiling = -1", "apply.mrr_ceiling: must be between")])
def test_bad_rule_settings_name_the_key(tmp_path, line, message):
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, TOML + line + "\n")
