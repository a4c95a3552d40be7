"""Secret and key files as an admin gets them wrong: a DER key named with the exact command
that converts it (path in, .pem out), and a non-RSA PEM key named by its kind; and the
retry-parked schedule's every setting taken from the config (mutation testing found these
unpinned)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from service.config import ConfigError, load_config
from service.config_schema import Secret
from service.local_checks import private_key_problem

JWT = """
[service]
state_dir = "state"
[auth]
mode = "jwt"
login_url = "https://login.example"
client_id = "cid"
username = "u@example.com"
private_key_file = "key.der"
"""


def test_a_der_key_file_is_refused_with_the_command_that_converts_it(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    der = tmp_path / "key.der"
    der.write_bytes(key.private_bytes(serialization.Encoding.DER,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    (tmp_path / "sync.toml").write_text(JWT)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "sync.toml", {})
    assert (f"auth.private_key_file: secret file {der} is a DER (binary) private key, not "
            f"PEM: convert it with `openssl pkey -inform DER -in {der} -outform PEM -out "
            f"{tmp_path / 'key.pem'}` and name the .pem") in str(caught.value)


@pytest.mark.parametrize(("key", "kind"), [(ec.generate_private_key(ec.SECP256R1()),
                                            "EC"),
                                           (ed25519.Ed25519PrivateKey.generate(), "Ed25519")])
def test_a_pem_key_that_is_not_rsa_is_named_by_its_kind(key: object, kind: str) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM,  # type: ignore[attr-defined]
                            serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    assert private_key_problem(Secret(pem, "auth.private_key_file key.pem")) == (
        f"the private key from auth.private_key_file key.pem is not an RSA key ({kind}); the "
        "JWT bearer flow signs with RS256 and needs an RSA private key")


def test_every_retry_parked_setting_is_taken_from_the_config(tmp_path: Path) -> None:
    (tmp_path / "sync.toml").write_text(
        '[service]\nstate_dir = "s"\n[auth]\nmode = "static_token"\n'
        'instance_url = "https://127.0.0.1:9"\ntenant_id = "00Dxx0000000001"\n'
        "[scheduler]\nretry_interval_min = 7\nretry_max_attempts = 4\n"
        "retry_backoff_initial_min = 3\nretry_backoff_max_min = 77\n")
    config = load_config(tmp_path / "sync.toml", {"LIFECYCLE_SYNC_AUTH_ACCESS_TOKEN": "t"})
    retry = config.scheduler.retry
    assert (retry.interval_min, retry.max_attempts, retry.backoff_initial_min,
            retry.backoff_max_min) == (7, 4, 3, 77)


def test_a_der_certificate_given_as_the_key_says_to_give_the_private_key(
        tmp_path: Path) -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lifecycle-sync")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    der = tmp_path / "key.der"
    der.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    (tmp_path / "sync.toml").write_text(JWT)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "sync.toml", {})
    assert (f"secret file {der} is a DER certificate, not a private key: give the private "
            "key the certificate was made from, as PEM (the certificate goes to the connected "
            "app)") in str(caught.value)
