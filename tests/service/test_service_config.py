"""Configuration: TOML + environment, every problem named by its key, secrets never in TOML."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.children import run_cli

from service.config import ConfigError, Secret, load_config, redacted

ROOT = Path(__file__).resolve().parents[2]

JWT_TOML = """
[service]
state_dir = "{state}"
[auth]
mode = "jwt"
client_id = "3MVG9abc"
username = "integration@example.com"
private_key_file = "key.pem"
[pubsub]
topics = ["/event/SelfServeTrialEvent__e"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lifecycle-sync.toml"
    path.write_text(text.replace("{state}", str(tmp_path / "state")))
    return path


def _problems(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, env or {})
    return caught.value.problems


def test_valid_jwt_config_reads_key_from_credentials_directory(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n")
    config = load_config(_write(tmp_path, JWT_TOML), {"CREDENTIALS_DIRECTORY": str(creds)})
    assert config.auth.mode == "jwt"
    assert config.auth.private_key is not None
    assert config.auth.private_key.reveal().startswith("-----BEGIN PRIVATE KEY-----")
    assert config.pubsub.topics == ("/event/SelfServeTrialEvent__e",)
    assert config.pubsub.on_invalid_replay == "fail"
    assert config.service.state_dir == tmp_path / "state"


def test_environment_overrides_keys_and_supplies_secrets(tmp_path: Path) -> None:
    text = JWT_TOML.replace('mode = "jwt"', 'mode = "client_credentials"').replace(
        'private_key_file = "key.pem"', "")
    env = {
        "LIFECYCLE_SYNC_AUTH_CLIENT_SECRET": "s3cr3t-value",
        "LIFECYCLE_SYNC_PUBSUB_BATCH_SIZE": "25",
        "LIFECYCLE_SYNC_PUBSUB_TOPICS": "/event/A__e,/data/B",
        "LIFECYCLE_SYNC_SERVICE_LOG_LEVEL": "debug",
    }
    config = load_config(_write(tmp_path, text), env)
    assert config.auth.client_secret == Secret("s3cr3t-value")
    assert config.pubsub.batch_size == 25
    assert config.pubsub.topics == ("/event/A__e", "/data/B")
    assert config.service.log_level == "DEBUG"


def test_every_problem_is_listed_with_its_key(tmp_path: Path) -> None:
    text = """
[service]
log_level = "LOUD"
[auth]
mode = "jwt"
[pubsub]
topic = ["/event/X__e"]
batch_size = 500
on_invalid_replay = "skip"
[extra]
a = 1
"""
    problems = _problems(_write(tmp_path, text), {"LIFECYCLE_SYNC_PUBSUB_ENDPONT": "x:1"})
    joined = "\n".join(problems)
    for expected in (
        "service.state_dir: required",
        "service.log_level:",
        "pubsub.topic: unknown key (did you mean topics?)",
        "pubsub.batch_size: must be between 1 and 100",
        "pubsub.on_invalid_replay: expected one of fail, earliest, latest",
        "[extra]: unknown section",
        "LIFECYCLE_SYNC_PUBSUB_ENDPONT: unknown setting (did you mean "
        "LIFECYCLE_SYNC_PUBSUB_ENDPOINT?)",
        "auth.client_id: required when auth.mode = 'jwt'",
        "auth.username: required when auth.mode = 'jwt'",
        "auth.private_key: required when auth.mode = 'jwt'",
    ):
        assert expected in joined, f"{expected!r} not in:\n{joined}"


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    problems = _problems(_write(tmp_path, JWT_TOML), {
        "LIFECYCLE_SYNC_PUBSUB_KEEPALIVE_S": "soon", "CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert any(p.startswith("pubsub.keepalive_s (from LIFECYCLE_SYNC_PUBSUB_KEEPALIVE_S)")
               for p in problems), problems


def test_plain_secret_in_toml_is_refused_with_how_to_pass_it(tmp_path: Path) -> None:
    text = JWT_TOML.replace('private_key_file = "key.pem"', 'client_secret = "hunter2"')
    problems = _problems(_write(tmp_path, text))
    message = next(p for p in problems if p.startswith("auth.client_secret:"))
    assert "auth.client_secret_file" in message
    assert "LIFECYCLE_SYNC_AUTH_CLIENT_SECRET" in message
    assert "hunter2" not in "\n".join(problems)


def test_missing_secret_file_is_named(tmp_path: Path) -> None:
    problems = _problems(_write(tmp_path, JWT_TOML), {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert any(p.startswith("auth.private_key_file: can't read secret file") for p in problems)


def test_missing_and_malformed_files_are_reported(tmp_path: Path) -> None:
    assert "does not exist" in _problems(tmp_path / "nope.toml")[0]
    bad = tmp_path / "bad.toml"
    bad.write_text("[service\n")
    assert str(bad) in _problems(bad)[0]


def test_redacted_view_hides_secret_values(tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_text("PEM-CONTENT-XYZ")
    config = load_config(_write(tmp_path, JWT_TOML), {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    view = redacted(config)
    assert "PEM-CONTENT-XYZ" not in repr(view)
    assert view["auth"]["private_key"] == f"[redacted] from {tmp_path / 'key.pem'}"
    assert "PEM-CONTENT-XYZ" not in repr(config)


def test_check_config_prints_effective_config_without_secrets(tmp_path: Path) -> None:
    from fr_cli import rsa_pem  # check-config parses the key: it must be a real one

    key = rsa_pem()
    (tmp_path / "key.pem").write_text(key)
    path = _write(tmp_path, JWT_TOML)
    done = run_cli("check-config", "--offline", "--config", str(path),
                   env={"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert 'on_invalid_replay = "fail"' in done.stdout
    body = key.splitlines()[1]
    assert body not in done.stdout + done.stderr


def test_check_config_fails_listing_problems(tmp_path: Path) -> None:
    path = _write(tmp_path, "[service]\nstate_dir = 3\n[auth]\nmode = \"static\"\n")
    done = run_cli("check-config", "--config", str(path))
    assert done.returncode == 78
    assert "service.state_dir:" in done.stderr
    assert "auth.mode: expected one of jwt, client_credentials, password, static_token" in (
        done.stderr)


def test_example_config_is_valid(tmp_path: Path) -> None:
    (tmp_path / "sf_jwt_key").write_text("PEM")
    config = load_config(ROOT / "lifecycle-sync.example.toml",
                         {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert config.auth.mode == "jwt"


def test_receive_limit_and_ping_timeout_reach_the_intake(tmp_path: Path) -> None:
    from service.wiring import intake_settings  # loads grpc; only this test needs it

    text = JWT_TOML + "max_receive_bytes = 8388608\n"
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path), "LIFECYCLE_SYNC_PUBSUB_PING_TIMEOUT_S": "7.5"}
    (tmp_path / "key.pem").write_text("PEM")
    settings = intake_settings(load_config(_write(tmp_path, text), env))
    assert settings.max_receive_bytes == 8 * 1024 * 1024
    assert settings.ping_timeout_s == 7.5
    env["LIFECYCLE_SYNC_PUBSUB_MAX_RECEIVE_BYTES"] = "67108864"  # the environment wins
    assert intake_settings(load_config(_write(tmp_path, text), env)).max_receive_bytes == 1 << 26
    defaults = intake_settings(load_config(_write(tmp_path, JWT_TOML), env={
        "CREDENTIALS_DIRECTORY": str(tmp_path)}))
    assert (defaults.max_receive_bytes, defaults.ping_timeout_s) == (32 * 1024 * 1024, 20.0)


@pytest.mark.parametrize(("line", "env", "expected"), [
    ("max_receive_bytes = 1024", {},
     "pubsub.max_receive_bytes: must be between 4194304 and 2147483647, got 1024"),
    ("max_receive_bytes = \"lots\"", {}, "pubsub.max_receive_bytes: expected an integer"),
    ("ping_timeout_s = 0", {}, "pubsub.ping_timeout_s: must be between 1 and 600, got 0"),
    ("", {"LIFECYCLE_SYNC_PUBSUB_MAX_RECEIVE_BYTES": "4096"},
     "pubsub.max_receive_bytes (from LIFECYCLE_SYNC_PUBSUB_MAX_RECEIVE_BYTES): must be between"),
    ("", {"LIFECYCLE_SYNC_PUBSUB_PING_TIMEOUT_S": "never"},
     "pubsub.ping_timeout_s (from LIFECYCLE_SYNC_PUBSUB_PING_TIMEOUT_S): expected a number"),
])
def test_invalid_receive_limit_or_ping_timeout_names_the_key(
    tmp_path: Path, line: str, env: dict[str, str], expected: str
) -> None:
    (tmp_path / "key.pem").write_text("PEM")
    path = _write(tmp_path, JWT_TOML + line + "\n")
    problems = _problems(path, {"CREDENTIALS_DIRECTORY": str(tmp_path), **env})
    assert any(p.startswith(expected) for p in problems), problems


def test_example_config_documents_every_key() -> None:
    import tomllib

    from service.config_schema import SECRET_KEYS, SPEC

    text = (ROOT / "lifecycle-sync.example.toml").read_text()
    example = tomllib.loads(text)
    for section, fields in SPEC.items():
        for key in fields:
            if key.endswith("_file") and key[:-5] in SECRET_KEYS:
                continue  # one *_file key per auth mode, the others in comments
            assert key in example.get(section, {}) or f"# {key} = " in text, f"{section}.{key}"
