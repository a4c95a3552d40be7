"""Loading the TOML config as an operator writes it: ``--state`` wins over the file, relative
paths are the config file's, secret files are read (never taken inline), every problem is
reported at once with its key, and the environment overrides the file (mutation testing
found the ``--state`` override unpinned)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import ConfigError, load_config

BASE = """
[service]
state_dir = "state"
[auth]
mode = "static_token"
instance_url = "https://127.0.0.1:9"
tenant_id = "00Dxx0000000001"
"""
TOKEN = {"LIFECYCLE_SYNC_AUTH_ACCESS_TOKEN": "tok-1"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf" / "sync.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_state_given_on_the_command_line_wins_over_the_files(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE), TOKEN, state_dir=Path("elsewhere"))
    assert config.service.state_dir == Path.cwd() / "elsewhere"


def test_relative_paths_are_resolved_against_the_config_files_directory(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE), TOKEN)
    assert config.service.state_dir == tmp_path / "conf" / "state"
    assert config.source == str(tmp_path / "conf" / "sync.toml")


def test_a_secret_file_is_read_relative_to_the_config_and_trimmed(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + 'access_token_file = "token.txt"\n')
    (path.parent / "token.txt").write_text("  tok-from-file\n")
    config = load_config(path, {})
    assert config.auth.access_token is not None
    assert config.auth.access_token.reveal() == "tok-from-file"
    assert config.secrets() == ["tok-from-file"]


def test_the_environment_overrides_the_file_and_every_problem_is_listed(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE + "[pubsub]\nbatch_size = 10\n"),
                         {**TOKEN, "LIFECYCLE_SYNC_PUBSUB_BATCH_SIZE": "20"})
    assert config.pubsub.batch_size == 20
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, BASE + "[pubsub]\nbacth_size = 10\nbackoff_initial_s = 9\n"
                          "backoff_max_s = 1\n"), {**TOKEN, "LIFECYCLE_SYNC_PUBSUB_NOPE": "1"})
    text = str(caught.value)
    assert "pubsub.bacth_size" in text
    assert "did you mean batch_size?" in text
    assert "LIFECYCLE_SYNC_PUBSUB_NOPE: unknown setting" in text
    assert "pubsub.backoff_max_s: must be at least pubsub.backoff_initial_s (9" in text


def test_apply_settings_are_taken_from_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE + "[apply]\ncreate_opportunity = true\n"), TOKEN)
    assert config.apply.create_opportunity is True
