"""``check-config`` catches what a new admin gets wrong, before ``run`` retries it forever.

Each test runs the real CLI in a subprocess against the in-process emulator, with a config
written the way an admin writes one from the emulator's info file.
"""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from fr_cli import (
    ROOT,
    cli,
    ec_pem,
    jwt_toml,
    refused_port,
    rsa_der,
    rsa_p12,
    rsa_pem,
    write_config,
)
from helpers.children import module_argv

from benchmarks.rig import child_env
from emulator.server import Emulator

EX_CONFIG, EX_UNAVAILABLE = 78, 69


@pytest.fixture
def info(emulator: Emulator) -> dict[str, Any]:
    found: dict[str, Any] = emulator.info()
    return found


def _failures(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("FAILED: ")]


def test_a_correct_config_passes_every_check(tmp_path: Path, info: dict[str, Any]) -> None:
    done = cli("check-config", "--config", str(write_config(tmp_path, jwt_toml(info))))
    assert done.returncode == 0, done.stderr
    assert _failures(done.stderr) == []
    for what in ("TLS to Pub/Sub endpoint", "TLS to login URL", "jwt login as",
                 "GetTopic /event/SelfServeTrialEvent__e", "GetTopic /data/LeadChangeEvent",
                 "JWT private key", "state directory"):
        assert f"ok: {what}" in done.stderr, done.stderr


def test_wrong_pubsub_port_fails_and_names_the_key(tmp_path: Path, info: dict[str, Any]) -> None:
    with refused_port() as port:
        config = write_config(tmp_path, jwt_toml(info, endpoint=f"127.0.0.1:{port}"))
        done = cli("check-config", "--config", str(config))
    assert done.returncode == EX_UNAVAILABLE
    [failure] = _failures(done.stderr)
    assert f"TCP connection to 127.0.0.1:{port} refused" in failure
    assert "pubsub.endpoint" in failure


def test_wrong_login_port_fails_before_any_login(tmp_path: Path, info: dict[str, Any]) -> None:
    with refused_port() as port:
        config = write_config(tmp_path, jwt_toml(info, login_url=f"https://127.0.0.1:{port}"))
        done = cli("check-config", "--config", str(config))
    assert done.returncode == EX_UNAVAILABLE
    [failure] = _failures(done.stderr)
    assert f"127.0.0.1:{port} refused" in failure
    assert "auth.login_url" in failure
    assert "login as" not in done.stderr  # not attempted once the URL is unreachable


def test_wrong_ca_fails_the_tls_handshake_and_asks_about_ca_file(
    tmp_path: Path, info: dict[str, Any]
) -> None:
    other_ca = "/etc/ssl/certs/ca-certificates.crt"
    if not Path(other_ca).is_file():
        pytest.skip("no system CA bundle to use as the wrong CA")
    done = cli("check-config", "--config",
               str(write_config(tmp_path, jwt_toml(info, ca_file=other_ca))))
    assert done.returncode == EX_UNAVAILABLE
    failures = _failures(done.stderr)
    assert len(failures) == 2  # Pub/Sub and login URL; the login is not attempted
    for failure in failures:
        assert "TLS handshake with 127.0.0.1:" in failure
        assert f"is pubsub.ca_file ({other_ca}) the CA that signed this server?" in failure


def test_wrong_key_is_rejected_at_login_with_what_to_check(
    tmp_path: Path, info: dict[str, Any]
) -> None:
    key = tmp_path / "other.pem"
    key.write_text(rsa_pem())
    config = write_config(tmp_path, jwt_toml(info, key_file=str(key)))
    done = cli("check-config", "--config", str(config))
    assert done.returncode == EX_UNAVAILABLE
    [failure] = _failures(done.stderr)
    assert "invalid_grant" in failure
    assert "belongs to the certificate uploaded to the connected app" in failure


@pytest.mark.parametrize(("content", "reason"), [
    ("not a key at all\n", "is not PEM (no '-----BEGIN' line)"),
    (rsa_pem(password=b"secret"), "is encrypted (passphrase-protected)"),
    (ec_pem(), "is not an RSA key (EC)"),
    ("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
     "is a certificate, not a private key"),
], ids=["not-pem", "encrypted", "ec", "certificate"])
def test_unusable_key_is_explained_by_check_config_and_run(
    tmp_path: Path, info: dict[str, Any], content: str, reason: str
) -> None:
    key = tmp_path / "key.pem"
    key.write_text(content)
    config = write_config(tmp_path, jwt_toml(info, key_file=str(key)))
    checked = cli("check-config", "--config", str(config))
    assert checked.returncode == EX_CONFIG
    [failure] = _failures(checked.stderr)
    assert failure.startswith("FAILED: JWT private key:")
    assert reason in failure
    ran = cli("run", "--config", str(config))
    assert ran.returncode == EX_CONFIG
    assert reason in ran.stderr
    assert "Traceback" not in ran.stderr
    assert "[redacted]" not in ran.stderr  # was: "cannot sign the JWT assertion: [redacted]"
    assert not (tmp_path / "state").exists()  # refused before touching the state


@pytest.mark.parametrize(("content", "reason"), [
    (rsa_der(), "is a DER (binary) private key, not PEM: convert it with `openssl pkey "
                "-inform DER"),
    (rsa_p12(), "is a PKCS#12 bundle (.p12/.pfx), not a PEM private key: extract the key "
                "with `openssl pkcs12"),
    (b"\x00\xff\xfe binary", "is binary, not text"),
], ids=["der", "pkcs12", "binary"])
def test_binary_key_file_is_explained_not_a_traceback(
    tmp_path: Path, info: dict[str, Any], content: bytes, reason: str
) -> None:
    key = tmp_path / "key.bin"
    key.write_bytes(content)
    config = write_config(tmp_path, jwt_toml(info, key_file=str(key)))
    for command in ("check-config", "run"):
        done = cli(command, "--config", str(config))
        assert done.returncode == EX_CONFIG, done.stderr  # was: 1, UnicodeDecodeError
        assert "Traceback" not in done.stderr
        assert f"auth.private_key_file: secret file {key} {reason}" in done.stderr
        assert "required when" not in done.stderr  # it was given, just unusable
    assert not (tmp_path / "state").exists()


def test_key_file_that_is_a_directory_says_so(tmp_path: Path, info: dict[str, Any]) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    config = write_config(tmp_path, jwt_toml(info, key_file=str(keys)))
    done = cli("check-config", "--offline", "--config", str(config))
    assert done.returncode == EX_CONFIG
    assert f"auth.private_key_file: {keys} is a directory, not a secret file" in done.stderr
    assert "required when" not in done.stderr  # was: "set auth.private_key_file", as it was


def test_ca_file_without_a_pem_certificate_is_named(
    tmp_path: Path, info: dict[str, Any]
) -> None:
    ca = tmp_path / "ca.der"
    ca.write_bytes(b"0\x82\x01\x0a not a PEM certificate")
    config = write_config(tmp_path, jwt_toml(info, ca_file=str(ca)))
    done = cli("check-config", "--offline", "--config", str(config))
    assert done.returncode == EX_CONFIG
    [failure] = _failures(done.stderr)
    assert f"FAILED: CA file {ca}: pubsub.ca_file {ca} holds no PEM certificate" in failure
    assert "cannot be read" not in failure  # was: the OSError branch caught the SSLError


def test_network_checks_run_when_a_local_check_fails(
    tmp_path: Path, info: dict[str, Any]
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    config = write_config(tmp_path, jwt_toml(info, state=str(tmp_path / "a-file" / "state")))
    done = cli("check-config", "--config", str(config))
    assert done.returncode == EX_CONFIG
    [failure] = _failures(done.stderr)
    assert failure.startswith(f"FAILED: state directory {tmp_path / 'a-file' / 'state'}: ")
    for what in ("TLS to Pub/Sub endpoint", "TLS to login URL", "jwt login as",
                 "GetTopic /event/SelfServeTrialEvent__e"):
        assert f"ok: {what}" in done.stderr, done.stderr  # was: none tried


def test_an_unusable_key_skips_only_the_login(tmp_path: Path, info: dict[str, Any]) -> None:
    key = tmp_path / "key.pem"
    key.write_text(ec_pem())
    with refused_port() as port:
        done = cli("check-config", "--config", str(write_config(tmp_path, jwt_toml(
            info, key_file=str(key), login_url=f"https://127.0.0.1:{port}"))))
    assert done.returncode == EX_CONFIG
    failures = _failures(done.stderr)
    assert failures[0].startswith("FAILED: JWT private key: ")
    assert "FAILED: TLS to login URL" in failures[1]  # still tried, and still reported
    assert "ok: TLS to Pub/Sub endpoint" in done.stderr
    assert "skipped: login and GetTopic: they need the private key" in done.stderr


def test_printed_config_can_be_fed_back(tmp_path: Path, info: dict[str, Any]) -> None:
    first = cli("check-config", "--offline", "--config",
                str(write_config(tmp_path / "a", jwt_toml(info))))
    assert first.returncode == 0, first.stderr
    printed = tomllib.loads(first.stdout)
    assert printed["auth"]["private_key_file"] == info["private_key"]
    again = write_config(tmp_path / "b", first.stdout)
    second = cli("check-config", "--offline", "--config", str(again))
    assert second.returncode == 0, second.stderr
    assert tomllib.loads(second.stdout) == printed


def test_auth_option_with_config_is_reported(tmp_path: Path, info: dict[str, Any]) -> None:
    config = write_config(tmp_path, jwt_toml(info))
    for command in ("check-config", "run"):
        done = cli(command, "--config", str(config), "--auth", "client_credentials")
        assert done.returncode == EX_CONFIG
        assert "--auth client_credentials: only applies with --emulator-info" in done.stderr


def test_secret_in_file_and_environment_is_a_reported_conflict(
    tmp_path: Path, info: dict[str, Any]
) -> None:
    config = write_config(tmp_path, jwt_toml(info))
    env = {"LIFECYCLE_SYNC_AUTH_PRIVATE_KEY": Path(info["private_key"]).read_text()}
    done = cli("check-config", "--offline", "--config", str(config), env=env)
    assert done.returncode == EX_CONFIG
    assert ("auth.private_key: given twice, as auth.private_key_file and as "
            "LIFECYCLE_SYNC_AUTH_PRIVATE_KEY") in done.stderr
    assert "required when" not in done.stderr  # was: "set the variable you just set"


def test_environment_beats_the_file_for_ordinary_keys(
    tmp_path: Path, info: dict[str, Any]
) -> None:
    config = write_config(tmp_path, jwt_toml(info, extra="batch_size = 50"))
    done = cli("check-config", "--offline", "--config", str(config),
               env={"LIFECYCLE_SYNC_PUBSUB_BATCH_SIZE": "7"})
    assert done.returncode == 0, done.stderr
    assert tomllib.loads(done.stdout)["pubsub"]["batch_size"] == 7


def test_check_config_into_a_closed_pipe_exits_without_traceback(
    tmp_path: Path, info: dict[str, Any]
) -> None:
    config = write_config(tmp_path, jwt_toml(info))
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head` that has already gone: every write fails with EPIPE
    try:
        done = subprocess.run(
            module_argv("service", "check-config", "--offline", "--config", str(config)),
            stdout=write_end, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=child_env(),
            timeout=60)
    finally:
        os.close(write_end)
    assert done.returncode == 141
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr


def test_failures_piped_into_head_still_show_and_set_the_exit_code(
    tmp_path: Path, info: dict[str, Any]
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    config = write_config(tmp_path, jwt_toml(info, state=str(tmp_path / "a-file")))
    command = module_argv("service", "check-config", "--offline", "--config", str(config))
    env = child_env()
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written: deterministic EPIPE
    try:
        closed = subprocess.run(command, stdout=write_end, stderr=subprocess.PIPE, text=True,
                                cwd=ROOT, env=env, timeout=60)
    finally:
        os.close(write_end)
    piped = subprocess.run(  # what an admin types; racy before the fix (141 or 78)
        ["bash", "-c", '"$@" | head -1; exit "${PIPESTATUS[0]}"', "bash", *command],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    for done in (closed, piped):
        assert done.returncode == EX_CONFIG, done.stderr  # was: 141, no FAILED line
        assert f"FAILED: state directory {tmp_path / 'a-file'}: " in done.stderr
        assert "Traceback" not in done.stderr
    assert piped.stdout.startswith("# effective configuration from ")


def test_static_token_is_checked_with_get_topic(tmp_path: Path, info: dict[str, Any]) -> None:
    token = tmp_path / "token"
    token.write_text(info["access_token"])
    text = f"""
[service]
state_dir = "state"
[auth]
mode = "static_token"
instance_url = "{info['instance_url']}"
tenant_id = "{info['tenant_id']}"
access_token_file = "token"
[pubsub]
endpoint = "{info['pubsub_endpoint']}"
ca_file = "{info['ca_cert']}"
"""
    done = cli("check-config", "--config", str(write_config(tmp_path, text)))
    assert done.returncode == 0, done.stderr
    assert "ok: GetTopic /event/SelfServeTrialEvent__e" in done.stderr
    token.write_text("00Dbogus!token")
    refused = cli("check-config", "--config", str(write_config(tmp_path, text)))
    assert refused.returncode == EX_UNAVAILABLE
    assert "FAILED: GetTopic /event/SelfServeTrialEvent__e:" in refused.stderr


def test_unknown_topic_fails_get_topic_and_says_what_to_check(
    tmp_path: Path, info: dict[str, Any]
) -> None:
    config = write_config(tmp_path, jwt_toml(info, extra='topics = ["/event/Nope__e"]'))
    done = cli("check-config", "--config", str(config))
    assert done.returncode == EX_UNAVAILABLE
    [failure] = _failures(done.stderr)
    assert failure.startswith("FAILED: GetTopic /event/Nope__e: ")
    assert "is the topic name right" in failure
    assert "GetTopic /event/Nope__e failed" not in failure  # the label says it once


def test_pubsub_endpoint_at_the_rest_port_asks_for_the_pubsub_port(
    tmp_path: Path, info: dict[str, Any]
) -> None:
    rest = info["login_url"].removeprefix("https://")
    config = write_config(tmp_path, jwt_toml(info, endpoint=rest))
    done = cli("check-config", "--config", str(config))
    assert done.returncode == EX_UNAVAILABLE
    [failure] = _failures(done.stderr)  # was: one ALPN error per topic, no hint
    assert failure.startswith(f"FAILED: TLS to Pub/Sub endpoint {rest}: ")
    assert "does not speak HTTP/2" in failure
    assert "is pubsub.endpoint the Pub/Sub port" in failure
    assert "GetTopic" not in done.stderr  # not attempted on a port that cannot answer it
