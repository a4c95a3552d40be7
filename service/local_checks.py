"""Checks of what an operator provides on this machine: the state directory, keys, the CA.

Each returns None when all is well, else one sentence that says what is wrong and what to
do, so ``check-config`` can list it and ``run`` can refuse to start (exit 78) with it
instead of a traceback. None of them writes anything.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from service.config import Config
from service.config_schema import Secret


def state_dir_problem(state_dir: Path) -> str | None:
    """Why the daemon could not use (or create) ``state_dir``, or None."""
    if state_dir.exists() or state_dir.is_symlink():
        if not state_dir.is_dir():
            return (f"service.state_dir {state_dir} exists but is not a directory (a file?): "
                    "point state_dir at a directory, or move that file away")
        if not os.access(state_dir, os.W_OK | os.X_OK):
            return (f"service.state_dir {state_dir} is not writable by this user (uid "
                    f"{os.getuid()}): the inbox and the lock live there; fix its owner or "
                    "mode, or run as its owner")
        return None
    parent = state_dir.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return (f"service.state_dir {state_dir} cannot be created: {parent} is not a "
                "directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        return (f"service.state_dir {state_dir} does not exist and cannot be created: "
                f"{parent} is not writable by this user (uid {os.getuid()}); create it "
                "(systemd: StateDirectory=) or choose another state_dir")
    return None


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
    except OSError as exc:
        return f"pubsub.ca_file {ca_file} cannot be read: {exc.strerror or exc}"
    except ssl.SSLError:
        return f"pubsub.ca_file {ca_file} holds no PEM certificate"
    return None


def startup_problems(config: Config) -> list[str]:
    """What ``run`` refuses to start with (exit 78), each said once, in words."""
    found = [state_dir_problem(config.service.state_dir)]
    if config.auth.private_key is not None:
        found.append(private_key_problem(config.auth.private_key))
    if config.pubsub.ca_file is not None:
        found.append(ca_file_problem(config.pubsub.ca_file))
    return [problem for problem in found if problem is not None]
