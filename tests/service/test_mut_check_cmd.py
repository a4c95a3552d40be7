"""``lifecycle-sync check-config`` in process against the emulator over TLS: the order and
wording of its ok/FAILED/skipped lines for the static-token flow, a CA file that is not one,
and ``--offline`` (mutation testing found the skip line and the instance check unpinned)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from emulator.server import Emulator

# _write_stdout, private: the CLI reaches it only with a child whose stdout reader has gone
# (test_first_run_check_config.py does that, beyond mutmut's 10 s per-mutant budget).
from service.check_cmd import _write_stdout
from service.cli import main

TOPICS = ("/event/SelfServeTrialEvent__e", "/data/LeadChangeEvent")


def static_token_config(tmp_path: Path, info: dict[str, Any], ca_file: str) -> Path:
    (tmp_path / "token").write_text(info["access_token"])
    path = tmp_path / "sync.toml"
    path.write_text(f"""
[service]
state_dir = "state"
[auth]
mode = "static_token"
instance_url = "{info['instance_url']}"
tenant_id = "{info['tenant_id']}"
access_token_file = "token"
[pubsub]
endpoint = "{info['pubsub_endpoint']}"
ca_file = "{ca_file}"
""")
    return path


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["check-config", *args])
    out = capsys.readouterr()
    assert out.out.startswith("# effective configuration from ")
    return code, out.err.splitlines()


def test_a_static_token_is_checked_by_tls_to_both_endpoints_then_get_topic(
        emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    info = emulator.info()
    cfg = static_token_config(tmp_path, info, info["ca_cert"])
    code, lines = check(capsys, "--config", str(cfg))
    assert code == 0, lines
    assert lines == [f"ok: state directory {tmp_path / 'state'}",
                     f"ok: CA file {info['ca_cert']}",
                     f"ok: TLS to Pub/Sub endpoint {info['pubsub_endpoint']}",
                     f"ok: TLS to instance {info['instance_url']}",
                     *(f"ok: GetTopic {topic}" for topic in TOPICS)]


def test_a_ca_file_that_is_no_certificate_skips_every_network_check(
        emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    cfg = static_token_config(tmp_path, emulator.info(), str(tmp_path / "ca.pem"))
    code, lines = check(capsys, "--config", str(cfg))
    assert code == 78
    assert lines[1].startswith(f"FAILED: CA file {tmp_path / 'ca.pem'}: ")
    assert lines[2:] == [
        "skipped: network checks: every connection needs the CA file that failed above"]


def test_offline_runs_only_the_local_checks(
        emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    info = emulator.info()
    cfg = static_token_config(tmp_path, info, info["ca_cert"])
    code, lines = check(capsys, "--config", str(cfg), "--offline")
    assert code == 0
    assert lines == [f"ok: state directory {tmp_path / 'state'}",
                     f"ok: CA file {info['ca_cert']}"]


def test_output_to_a_reader_that_has_gone_reports_false_and_later_writes_are_harmless(
        monkeypatch: pytest.MonkeyPatch) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head` that has already gone: every write fails with EPIPE
    with os.fdopen(write_end, "w") as closed:
        monkeypatch.setattr(sys, "stdout", closed)
        assert _write_stdout("# effective configuration\n" * 10) is False
        closed.write("the interpreter's final flush\n")
        closed.flush()  # stdout now points at /dev/null: nothing raises
        assert _write_stdout("more\n") is True


@pytest.mark.parametrize("flow", ["client_credentials", "jwt"])
def test_each_login_flow_from_the_emulator_info_logs_in(
        emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        flow: str) -> None:
    info_file = tmp_path / "info.json"
    emulator.write_info(info_file)
    info = emulator.info()
    code, lines = check(capsys, "--emulator-info", str(info_file), "--state",
                        str(tmp_path / "state"), "--auth", flow)
    assert code == 0, lines
    assert lines[0] == f"ok: state directory {tmp_path / 'state'}"  # --state, as given
    assert f"ok: {flow} login as {info['username']}" in lines
    assert lines[-2:] == [f"ok: GetTopic {topic}" for topic in TOPICS]
