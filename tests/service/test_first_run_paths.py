"""Relative paths resolve one documented way (against the config file's folder), whatever
the current directory; state-directory mistakes are explained, never a traceback."""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from fr_cli import RunningDaemon, cli, jwt_toml, write_config
from svc_waiting import wait_until

from emulator.server import Emulator
from service.connection_state import read_connection_state

EX_CONFIG = 78


@pytest.fixture
def info(emulator: Emulator) -> dict[str, Any]:
    found: dict[str, Any] = emulator.info()
    return found


def test_relative_paths_resolve_against_the_config_file(
    tmp_path: Path, info: dict[str, Any]
) -> None:
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    elsewhere.mkdir()
    work.mkdir()
    shutil.copy(info["private_key"], work / "key.pem")
    shutil.copy(info["ca_cert"], work / "ca.pem")
    write_config(work, jwt_toml(info, state="state", key_file="key.pem", ca_file="ca.pem"))
    done = cli("check-config", "--config", "../work/config.toml", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    printed = tomllib.loads(done.stdout)
    assert printed["service"]["state_dir"] == str(work / "state")
    assert printed["pubsub"]["ca_file"] == str(work / "ca.pem")
    assert printed["auth"]["private_key_file"] == str(work / "key.pem")
    with RunningDaemon("--config", "../work/config.toml", log_file=tmp_path / "run.log",
                       cwd=elsewhere) as daemon:
        wait_until(lambda: (read_connection_state(work / "state") or {}).get("topics"), 60,
                   what="the daemon's state under work/")
        assert daemon.stop() == 0, daemon.log()
    assert (work / "state" / "inbox.db").exists()
    assert sorted(os.listdir(elsewhere)) == []  # was: a new, empty state in the cwd


def test_state_dir_option_is_relative_to_the_current_directory(
    tmp_path: Path, info: dict[str, Any]
) -> None:
    config = write_config(tmp_path / "etc", jwt_toml(info))
    (tmp_path / "cwd").mkdir()
    done = cli("check-config", "--offline", "--config", str(config), "--state", "here",
               cwd=tmp_path / "cwd")
    assert done.returncode == 0, done.stderr
    assert tomllib.loads(done.stdout)["service"]["state_dir"] == str(tmp_path / "cwd" / "here")


def _file(tmp_path: Path) -> Path:
    (tmp_path / "a-file").write_text("not a directory")
    return tmp_path / "a-file"


def _under_file(tmp_path: Path) -> Path:
    return _file(tmp_path) / "state"


def _read_only(tmp_path: Path) -> Path:
    if os.geteuid() == 0:
        pytest.skip("root writes to read-only directories")
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    return folder


@pytest.mark.parametrize(("make", "reason"), [
    (_file, "exists but is not a directory"),
    (_under_file, "cannot be created"),
    (_read_only, "is not writable by this user"),
], ids=["is-a-file", "cannot-be-created", "read-only"])
def test_state_dir_problems_are_explained_not_tracebacks(
    tmp_path: Path, info: dict[str, Any], make: Any, reason: str
) -> None:
    state = make(tmp_path)
    config = write_config(tmp_path / "etc", jwt_toml(info, state=str(state)))
    checked = cli("check-config", "--offline", "--config", str(config))
    assert checked.returncode == EX_CONFIG  # was: rc 0
    assert f"FAILED: state directory {state}: " in checked.stderr
    assert reason in checked.stderr
    ran = cli("run", "--config", str(config))
    assert ran.returncode == EX_CONFIG  # was: a traceback and rc 1
    assert "Traceback" not in ran.stderr
    assert f"cannot start: service.state_dir {state}" in ran.stderr
    assert reason in ran.stderr
