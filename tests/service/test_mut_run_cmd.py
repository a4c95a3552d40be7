"""``--emulator-info``: which login flow ``--auth auto`` picks from what the info file offers,
and the settings each flow takes from it (the emulator's own info file over TLS, in process);
sd_notify to ``$NOTIFY_SOCKET`` and JSON logs on stdout as the daemon's start configures
them. Mutation testing found these unpinned at unit level."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.rig import NotifySocket
from emulator.server import Emulator
from service.cli import main
from service.config import Config
from service.lifecycle import Notifier
from service.logging_setup import configure_logging
from service.run_cmd import config_from_emulator_info


@pytest.fixture
def info(emulator: Emulator) -> dict[str, object]:
    return dict(emulator.info())


def from_info(tmp_path: Path, info: dict[str, object], auth: str = "auto") -> Config:
    path = tmp_path / "info.json"
    path.write_text(json.dumps(info))
    return config_from_emulator_info(path, tmp_path / "state", auth, {})


def test_auto_picks_jwt_only_with_both_a_key_and_a_username(
        tmp_path: Path, info: dict[str, object]) -> None:
    assert from_info(tmp_path, info).auth.mode == "jwt"
    without_user = {k: v for k, v in info.items() if k != "username"}
    assert from_info(tmp_path, without_user).auth.mode == "client_credentials"
    without_key = {k: v for k, v in info.items() if k != "private_key"}
    assert from_info(tmp_path, without_key).auth.mode == "client_credentials"
    token_only = {k: v for k, v in info.items()
                  if k not in ("private_key", "client_secret")}
    assert from_info(tmp_path, token_only).auth.mode == "static_token"


def test_a_static_token_from_the_info_file_carries_the_org_and_instance(
        tmp_path: Path, info: dict[str, object]) -> None:
    config = from_info(tmp_path, info, "static_token")
    assert config.auth.tenant_id == info["tenant_id"]
    assert config.auth.instance_url == str(info["instance_url"]).rstrip("/")
    assert config.auth.access_token is not None
    assert config.auth.access_token.reveal() == info["access_token"]
    assert config.service.state_dir == tmp_path / "state"


def test_sd_notify_goes_to_the_socket_systemd_names(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    sock = NotifySocket(tmp_path / "notify")
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", str(sock.path))
        monkeypatch.setenv("WATCHDOG_USEC", "4000000")
        notifier = Notifier()
        assert notifier.watchdog_interval_s == 2.0  # half the watchdog timeout
        notifier.ready("up")
        assert sock.drain()[:1] == ["READY=1"]
        assert "STATUS=up" in sock.drain()
    finally:
        sock.close()


@pytest.fixture
def root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    kept, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in kept:
        root.addHandler(handler)
    root.setLevel(level)


def test_json_logging_writes_one_object_per_line_on_stdout(
        root_handlers: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", ["s3cr3t"], fmt="json")
    logging.getLogger("lifecycle_sync.test").info("login with s3cr3t")
    logging.getLogger("lifecycle_sync.test").debug("not at INFO")
    out = capsys.readouterr()
    [line] = out.out.splitlines()
    record = json.loads(line)
    assert (record["level"], record["logger"]) == ("INFO", "lifecycle_sync.test")
    assert "s3cr3t" not in record["msg"]
    assert out.err == ""


def test_emulator_info_with_state_uses_that_state_directory(
        emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    info_file = tmp_path / "info.json"
    emulator.write_info(info_file)
    assert main(["check-config", "--emulator-info", str(info_file), "--state", "st",
                 "--offline"]) == 0
    printed = capsys.readouterr().out
    assert f'state_dir = "{Path.cwd() / "st"}"' in printed
