"""Helpers for the first-run tests: the real CLI in a subprocess, configs an admin would write,
and keys of every wrong kind.

Subprocesses get only PATH plus what a test sets, never the developer's environment.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from helpers.children import module_argv
from helpers.ports import refused_port  # noqa: F401 - its old home; tests import it here

from benchmarks.rig import child_env

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout_s: float = 120.0, prefix: tuple[str, ...] = ()
        ) -> subprocess.CompletedProcess[str]:
    """``lifecycle-sync ARGS`` as ``python -m service``, in ``cwd`` (default: the checkout);
    ``prefix`` runs it through another command (e.g. :data:`AS_NOBODY`)."""
    # As another user (prefix) the stats shim could not write its report: plain ``-m``.
    argv = [sys.executable, "-m", "service", *args] if prefix else module_argv("service", *args)
    return subprocess.run([*prefix, *argv], capture_output=True, text=True,
                          env=child_env(env), cwd=cwd or ROOT, timeout=timeout_s)


NOBODY = 65534
# As an unprivileged user, like the unit's dynamic user (root passes every permission check).
AS_NOBODY = ("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")


def can_switch_to_nobody() -> bool:
    """Root with setpriv, and a checkout the unprivileged user can import the product from
    (a clone under a 0700 directory such as ``mktemp -d`` cannot be read by it)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    probe = subprocess.run([*AS_NOBODY, sys.executable, "-c", "import service.cli"],
                           cwd=ROOT, capture_output=True, timeout=60, check=False)
    return probe.returncode == 0


def jwt_toml(info: dict[str, Any], *, state: str = "state", endpoint: str | None = None,
             login_url: str | None = None, ca_file: str | None = None,
             key_file: str | None = None, extra: str = "") -> str:
    """A JWT config for the emulator, as an admin writes one from its info file."""
    return f"""
[service]
state_dir = "{state}"
[auth]
mode = "jwt"
login_url = "{login_url or info['login_url']}"
client_id = "{info['client_id']}"
username = "{info['username']}"
private_key_file = "{key_file or info['private_key']}"
[pubsub]
endpoint = "{endpoint or info['pubsub_endpoint']}"
ca_file = "{ca_file or info['ca_cert']}"
{extra}
"""


def write_config(folder: Path, text: str, name: str = "config.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports for a server to bind next (bound together, then released).

    Only for a server started right after (the emulator on fixed ports): between release and
    its bind another process could take one, and its start then fails loudly. For a port that
    must refuse connections use :func:`refused_port`, which never lets go of it.
    """
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def rsa_pem(password: bytes | None = None) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password
        else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             encryption).decode()


def rsa_der() -> bytes:
    """An unencrypted RSA private key as DER (what keystores and Windows tools export)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def rsa_p12(password: bytes = b"secret") -> bytes:
    """An RSA private key in a password-protected PKCS#12 bundle (.p12/.pfx)."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return pkcs12.serialize_key_and_certificates(
        b"jwt", key, None, None, serialization.BestAvailableEncryption(password))


def other_ca_pem() -> str:
    """A self-signed CA certificate that signed nothing the emulator serves (a wrong CA)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "some other CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def ec_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


class RunningDaemon:
    """``lifecycle-sync run ARGS`` in the background, stderr to ``log_file``."""

    def __init__(self, *args: str, log_file: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.log_file = log_file
        with log_file.open("ab") as log:
            self.proc = subprocess.Popen(
                module_argv("service", "run", *args), stdout=subprocess.DEVNULL,
                stderr=log, cwd=cwd or ROOT, env=child_env({**FAST, **(env or {})}))

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM and the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout_s)

    def __enter__(self) -> RunningDaemon:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)


# Quick reconnects, so a test sees several failed attempts in well under a second.
FAST = {
    "LIFECYCLE_SYNC_PUBSUB_KEEPALIVE_S": "5",
    "LIFECYCLE_SYNC_PUBSUB_BACKOFF_INITIAL_S": "0.05",
    "LIFECYCLE_SYNC_PUBSUB_BACKOFF_MAX_S": "0.2",
}


def log_lines(text: str) -> list[str]:
    """Log lines without their timestamps (so repeats compare equal)."""
    return [line.split(" ", 1)[1] for line in text.splitlines() if " " in line]
