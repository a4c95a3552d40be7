"""Relative paths resolve one documented way (against the config file's folder), whatever
the current directory; state-directory mistakes are explained, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fr_cli import (
    AS_NOBODY,
    NOBODY,
    RunningDaemon,
    can_switch_to_nobody,
    cli,
    jwt_toml,
    write_config,
)
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
    """A directory this user cannot write in. Root passes permission bits, so as root it is
    made immutable (chattr +i), which stops root too (and defeats an os.access check)."""
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    if os.geteuid() == 0:
        immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True,
                                   check=False)
        if immutable.returncode != 0:
            pytest.skip(f"chattr +i not possible here: {immutable.stderr!r}")
    return folder


def _in_proc(tmp_path: Path) -> Path:
    return Path("/proc/lifecycle-sync-nope")  # no one, not even root, can create it


@pytest.fixture
def mutable(tmp_path: Path) -> Iterator[None]:
    """Undo chattr +i, or pytest could not remove the test's folder."""
    yield
    if (tmp_path / "ro").exists() and os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(tmp_path / "ro")], check=False)


@pytest.mark.usefixtures("mutable")
@pytest.mark.parametrize(("make", "reason"), [
    (_file, "exists but is not a directory"),
    (_under_file, "cannot be created"),
    (_read_only, "is not writable by this user"),
    (_in_proc, "does not exist and cannot be created"),
], ids=["is-a-file", "cannot-be-created", "read-only", "in-proc"])
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


@pytest.fixture
def world_readable() -> Iterator[Path]:
    """A folder outside pytest's root-only tmp tree, so another user can read a config."""
    folder = Path(tempfile.mkdtemp(prefix="fr-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def test_pre_enable_check_as_a_dynamic_user_names_state_directory(
    world_readable: Path, info: dict[str, Any]
) -> None:
    """docs/deployment.md's check runs as a dynamic user, who cannot create a state directory
    in /var/lib: the failure must point at StateDirectory=, and once that directory exists
    (owned by the user, as systemd makes it) the check passes."""
    if not can_switch_to_nobody():
        pytest.skip("needs root, setpriv and a checkout an unprivileged user can read")
    var_lib = world_readable / "var-lib"
    var_lib.mkdir(mode=0o755)  # root's, like /var/lib
    for name in ("private_key", "ca_cert"):
        shutil.copy(info[name], world_readable / Path(info[name]).name)
        (world_readable / Path(info[name]).name).chmod(0o644)
    state = var_lib / "lifecycle-sync"
    config = write_config(world_readable, jwt_toml(
        info, state=str(state), key_file=Path(info["private_key"]).name,
        ca_file=Path(info["ca_cert"]).name))
    config.chmod(0o644)
    fresh = cli("check-config", "--config", str(config), prefix=AS_NOBODY)
    assert fresh.returncode == EX_CONFIG, fresh.stderr
    assert f"FAILED: state directory {state}: " in fresh.stderr
    assert "does not exist and cannot be created" in fresh.stderr
    assert "-p StateDirectory=lifecycle-sync" in fresh.stderr
    assert "ok: jwt login as" in fresh.stderr  # the network checks still ran
    state.mkdir(mode=0o700)
    os.chown(state, NOBODY, NOBODY)  # what StateDirectory= does for the dynamic user
    provided = cli("check-config", "--config", str(config), prefix=AS_NOBODY)
    assert provided.returncode == 0, provided.stderr
    assert sorted(os.listdir(state)) == []  # checked, not written


def test_check_config_leaves_a_missing_state_dir_missing(
    tmp_path: Path, info: dict[str, Any]
) -> None:
    state = tmp_path / "new" / "deeper" / "state"
    config = write_config(tmp_path / "etc", jwt_toml(info, state=str(state)))
    done = cli("check-config", "--offline", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert f"ok: state directory {state}" in done.stderr
    assert not (tmp_path / "new").exists()  # created to prove it can be, then removed


def test_state_option_beats_the_environment_which_beats_the_file(
    tmp_path: Path, info: dict[str, Any]
) -> None:
    """README's order for ``service.state_dir``: ``--state``, then the environment, then the
    file."""
    config = write_config(tmp_path / "etc", jwt_toml(info))
    env = {"LIFECYCLE_SYNC_SERVICE_STATE_DIR": str(tmp_path / "from-env")}
    by_env = cli("check-config", "--offline", "--config", str(config), env=env)
    assert by_env.returncode == 0, by_env.stderr
    assert tomllib.loads(by_env.stdout)["service"]["state_dir"] == str(tmp_path / "from-env")
    by_option = cli("check-config", "--offline", "--config", str(config), "--state",
                    str(tmp_path / "from-option"), env=env)
    assert by_option.returncode == 0, by_option.stderr
    assert (tomllib.loads(by_option.stdout)["service"]["state_dir"]
            == str(tmp_path / "from-option"))
