"""A config file written from the emulator's info file survives an emulator restart when the
emulator runs on fixed ports (README "Running the daemon")."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from fr_cli import ROOT, cli, free_ports, jwt_toml, write_config
from helpers.children import child_env, module_argv
from svc_waiting import wait_until


def _emulator(work: Path, ports: list[int]) -> subprocess.Popen[bytes]:
    (work / "emu.json").unlink(missing_ok=True)
    proc = subprocess.Popen(
        module_argv("service", "emulator", "--state", str(work / "emu"),
                    "--info-file", str(work / "emu.json"), "--pubsub-port", str(ports[0]),
                    "--rest-port", str(ports[1]), "--admin-port", str(ports[2])),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=child_env())
    wait_until(lambda: (work / "emu.json").exists() or proc.poll() is not None, 60,
               what="the emulator's info file")
    assert proc.poll() is None
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 0


def test_config_from_info_file_survives_a_restart_on_fixed_ports(tmp_path: Path) -> None:
    ports = free_ports(3)
    first = _emulator(tmp_path, ports)
    try:
        info = json.loads((tmp_path / "emu.json").read_text())
        config = write_config(tmp_path / "etc", jwt_toml(info))
        assert cli("check-config", "--config", str(config)).returncode == 0
    finally:
        _stop(first)
    second = _emulator(tmp_path, ports)
    try:
        again = json.loads((tmp_path / "emu.json").read_text())
        assert again["pubsub_endpoint"] == info["pubsub_endpoint"]
        assert again["login_url"] == info["login_url"]
        done = cli("check-config", "--config", str(config))
        assert done.returncode == 0, done.stderr
    finally:
        _stop(second)
