"""Checks of what an operator provides on this machine: the state directory, keys, the CA.

Each returns None when all is well, else one sentence that says what is wrong and what to
do, so ``check-config`` can list it and ``run`` can refuse to start (exit 78) with it
instead of a traceback. None of them writes anything.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import tempfile
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from service.config import INBOX_FILE, Config
from service.config_schema import Secret
from service.lifecycle import LOCK_NAME


def state_dir_problem(state_dir: Path) -> str | None:
    """Why the daemon could not use (or create) ``state_dir``, or None.

    It tries what ``run`` does instead of asking ``os.access`` (which says yes to root for a
    read-only mount, an immutable directory or /proc), and leaves nothing behind: a missing
    directory is created and removed again, an existing one gets a temporary file created and
    removed, and the lock and inbox files, if there, are opened for writing and closed.
    """
    if state_dir.exists() or state_dir.is_symlink():
        if not state_dir.is_dir():
            return (f"service.state_dir {state_dir} exists but is not a directory (a file?): "
                    "point state_dir at a directory, or move that file away")
        why = _not_writable(state_dir)
        if why is not None:
            return (f"service.state_dir {state_dir} is not writable by this user (uid "
                    f"{os.getuid()}): {why}; the inbox and the lock live there: fix its "
                    "owner, mode or mount, or run as its owner")
        return None
    parent = state_dir.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return (f"service.state_dir {state_dir} cannot be created: {parent} is not a "
                "directory")
    try:
        _create_and_remove(state_dir, parent)
    except PermissionError as exc:
        return _cannot_create(state_dir, f"{exc.strerror}", systemd_hint=True)
    except OSError as exc:
        return _cannot_create(state_dir, f"{exc.strerror or exc}", systemd_hint=False)
    return None


def _not_writable(state_dir: Path) -> str | None:
    """Why ``run`` could not write in the existing ``state_dir``, or None."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".check-config-", dir=state_dir)
        os.close(fd)
        os.unlink(probe)
        for name in (LOCK_NAME, INBOX_FILE):
            if (state_dir / name).exists():
                os.close(os.open(state_dir / name, os.O_RDWR))
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return None


def _create_and_remove(state_dir: Path, existing: Path) -> None:
    """Create ``state_dir`` as ``run`` would (with its missing parents), then remove exactly
    the directories this created (a daemon that started meanwhile keeps its files)."""
    created = [state_dir, *(p for p in state_dir.parents if p != existing and
                            existing in p.parents)]
    state_dir.mkdir(parents=True, mode=0o700)
    for folder in created:  # deepest first
        with contextlib.suppress(OSError):
            folder.rmdir()


def _cannot_create(state_dir: Path, why: str, *, systemd_hint: bool) -> str:
    """The message for a state directory that does not exist yet and cannot be made: under
    systemd a permission error is normal until the unit's ``StateDirectory=`` creates it."""
    message = (f"service.state_dir {state_dir} does not exist and cannot be created ({why}; "
               f"uid {os.getuid()})")
    if not systemd_hint:
        return f"{message}: choose another state_dir"
    return (f"{message}. Under systemd the unit's StateDirectory= creates it at start: to "
            "check as the service would, give systemd-run `-p StateDirectory=lifecycle-sync` "
            "(docs/deployment.md, 'Check the configuration'); otherwise create it, or choose "
            "another state_dir")


def private_key_problem(key: Secret) -> str | None:
    """Why ``key`` cannot sign the JWT bearer assertion (RS256), or None."""
    where = f"the private key from {key.origin}" if key.origin else "the private key"
    text = key.reveal()
    if "-----BEGIN" not in text:
        return (f"{where} is not PEM (no '-----BEGIN' line): give the PEM private key whose "
                "certificate is uploaded to the connected app")
    if "-----BEGIN CERTIFICATE" in text and "PRIVATE KEY" not in text:
        return (f"{where} is a certificate, not a private key: give the private key the "
                "certificate was made from (the certificate goes to the connected app)")
    try:
        loaded = serialization.load_pem_private_key(text.encode(), password=None)
    except TypeError:
        return (f"{where} is encrypted (passphrase-protected) and the daemon cannot prompt "
                "for it: store it unencrypted (`openssl pkey -in KEY -out KEY.plain`) and "
                "protect the file instead (mode 0600, or systemd-creds)")
    except (ValueError, UnsupportedAlgorithm) as exc:
        return f"{where} cannot be read as a PEM private key ({exc})"
    if not isinstance(loaded, rsa.RSAPrivateKey):
        kind = type(loaded).__name__.removeprefix("_").replace("PrivateKey", "") or "other"
        return (f"{where} is not an RSA key ({kind}); the JWT bearer flow signs with RS256 "
                "and needs an RSA private key")
    return None


def ca_file_problem(ca_file: Path) -> str | None:
    """Why ``ca_file`` cannot serve as the trusted CA bundle, or None."""
    try:
        ssl.create_default_context(cafile=str(ca_file))
    except FileNotFoundError:
        return f"pubsub.ca_file {ca_file} does not exist"
    except ssl.SSLError:  # an OSError too: caught first, or it would read as "cannot be read"
        return (f"pubsub.ca_file {ca_file} holds no PEM certificate: give the CA certificate "
                "(-----BEGIN CERTIFICATE-----) that signed the server's certificate")
    except OSError as exc:
        return f"pubsub.ca_file {ca_file} cannot be read: {exc.strerror or exc}"
    return None


def startup_problems(config: Config) -> list[str]:
    """What ``run`` refuses to start with (exit 78), each said once, in words."""
    found = [state_dir_problem(config.service.state_dir)]
    if config.auth.private_key is not None:
        found.append(private_key_problem(config.auth.private_key))
    if config.pubsub.ca_file is not None:
        found.append(ca_file_problem(config.pubsub.ca_file))
    return [problem for problem in found if problem is not None]
