"""Where the daemon's secrets come from: a ``*_file`` key or the environment, never the TOML.

The config file is typically world-readable in /etc and kept in config management, so a
secret written into it is refused (with the two places it may come from). A secret file is
read once, at load time, and every way it can be unusable (missing, unreadable, empty, a
directory, not text) is one problem naming the key, so ``check-config`` and ``run`` explain
it instead of failing later with a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from service.config_schema import ENV_PREFIX, SECRET_KEYS, Problems, Secret


def reject_plain_secrets(raw: dict[str, Any], problems: Problems) -> None:
    for section, table in raw.items():
        if not isinstance(table, dict):
            continue
        for key in table:
            if key in SECRET_KEYS:
                env_name = f"{ENV_PREFIX}{section.upper()}_{key.upper()}"
                problems.add(
                    f"{section}.{key}: secrets are not read from the config file; set "
                    f"{section}.{key}_file to a file holding it (e.g. under "
                    f"$CREDENTIALS_DIRECTORY via systemd LoadCredential=) or set {env_name}"
                )


def load_secrets(
    auth: dict[str, tuple[Any, str]], problems: Problems, env: Mapping[str, str], base_dir: Path
) -> dict[str, Secret | None]:
    """Each secret from its ``*_file`` key (file wins) or its environment variable."""
    loaded: dict[str, Secret | None] = {}
    for key in SECRET_KEYS:
        loaded[key] = None
        if f"{key}_file" in auth and key in auth:
            problems.add(
                f"auth.{key}: given twice, as {auth[f'{key}_file'][1]} and as {auth[key][1]}; "
                "remove one of them (a secret is never picked silently)")
        elif f"{key}_file" in auth:
            value, origin = auth[f"{key}_file"]
            loaded[key] = _read_secret_file(str(value), origin, problems, env, base_dir)
        elif key in auth:  # only the environment can set these; the TOML ones were rejected
            value, origin = auth[key]
            loaded[key] = Secret(str(value), origin) if str(value) else None
    return loaded


def _read_secret_file(
    value: str, origin: str, problems: Problems, env: Mapping[str, str], base_dir: Path
) -> Secret | None:
    expanded = Path(os.path.expandvars(value)).expanduser()
    if not expanded.is_absolute():
        expanded = Path(os.path.normpath(
            Path(env.get("CREDENTIALS_DIRECTORY") or base_dir) / expanded))
    if expanded.is_dir():
        problems.add(f"{origin}: {expanded} is a directory, not a secret file: name the file "
                     "that holds the secret (e.g. the key file inside that directory)")
        return None
    try:
        data = expanded.read_bytes()
    except OSError as exc:
        problems.add(f"{origin}: can't read secret file {expanded}: {exc.strerror or exc}")
        return None
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        problems.add(f"{origin}: secret file {expanded} {binary_secret_problem(data, expanded)}")
        return None
    if not text:
        problems.add(f"{origin}: secret file {expanded} is empty")
        return None
    return Secret(text, str(expanded))


def binary_secret_problem(data: bytes, path: Path) -> str:
    """Why a secret file that is not UTF-8 text cannot be used, and how to convert it: keys
    exported as DER or PKCS#12 are the usual cause (Salesforce's JWT guide makes PEM, but
    keystores and Windows tools export the binary forms)."""
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    pem = path.with_suffix(".pem")
    try:
        load_der_private_key(data, password=None)
        return (f"is a DER (binary) private key, not PEM: convert it with `openssl pkey "
                f"-inform DER -in {path} -outform PEM -out {pem}` and name the .pem")
    except TypeError:  # DER, but encrypted
        return (f"is an encrypted DER (binary) private key, not PEM: convert it with `openssl "
                f"pkey -inform DER -in {path} -outform PEM -out {pem}` (it asks for "
                "the passphrase and writes the key unencrypted) and name the .pem")
    except (ValueError, UnsupportedAlgorithm):
        pass
    if _is_pkcs12(data):
        return (f"is a PKCS#12 bundle (.p12/.pfx), not a PEM private key: extract the key "
                f"with `openssl pkcs12 -in {path} -nocerts -nodes | openssl pkey -out "
                f"{pem}` and name the .pem")
    try:
        x509.load_der_x509_certificate(data)
        return ("is a DER certificate, not a private key: give the private key the "
                "certificate was made from, as PEM (the certificate goes to the connected app)")
    except ValueError:
        pass
    return "is binary, not text: a secret file holds text (a PEM key, a secret, a token)"


def _is_pkcs12(data: bytes) -> bool:
    """A PKCS#12 PFX is a DER SEQUENCE whose first element is INTEGER 3 (RFC 7292 4)."""
    if len(data) < 8 or data[0] != 0x30:
        return False
    length_octets = data[1] & 0x7F if data[1] & 0x80 else 0
    return data[2 + length_octets:5 + length_octets] == b"\x02\x01\x03"
