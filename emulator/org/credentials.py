"""Client credentials for the connected app: the JWT signing key pair and the user's password.

A real JWT bearer setup uploads a certificate to the connected app and keeps the private key
with the client. The emulator does both halves at first start: it writes an RSA key and a
self-signed certificate to ``STATE/oauth/``, trusts the certificate for JWT assertions, and
hands the key's path out in the info file. A password for the (deprecated) password grant is
kept beside them. Later starts reuse the files, so client configuration stays valid.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.tls import self_signed_builder


@dataclass(frozen=True)
class ClientCredentials:
    """Where the JWT key and certificate live, and the integration user's password."""

    private_key: Path
    certificate: Path
    password: str

    def certificate_pem(self) -> bytes:
        return self.certificate.read_bytes()


def ensure_client_credentials(state_dir: Path) -> ClientCredentials:
    """Create the key pair and password in ``state_dir/oauth`` unless they already exist."""
    folder = state_dir / "oauth"
    creds = ClientCredentials(folder / "jwt-key.pem", folder / "jwt-cert.pem", "")
    secrets_file = folder / "password.json"
    if creds.private_key.exists() and creds.certificate.exists() and secrets_file.exists():
        password = str(json.loads(secrets_file.read_text())["password"])
        return ClientCredentials(creds.private_key, creds.certificate, password)
    folder.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_private(creds.private_key, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    creds.certificate.write_bytes(_certificate(key).public_bytes(serialization.Encoding.PEM))
    password = "Emu-" + secrets.token_urlsafe(18)
    _write_private(secrets_file, json.dumps({"password": password}).encode())
    return ClientCredentials(creds.private_key, creds.certificate, password)


def _certificate(key: rsa.RSAPrivateKey) -> x509.Certificate:
    builder = self_signed_builder(key, "lifecycle-sync JWT client", dt.timedelta(days=3650))
    return builder.sign(key, hashes.SHA256())


def _write_private(path: Path, data: bytes) -> None:
    path.touch(mode=0o600)
    path.write_bytes(data)
