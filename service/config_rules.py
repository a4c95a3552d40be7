"""Checks across keys (and path resolution) that one key's schema cannot express."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from service.config_schema import ENV_PREFIX, REQUIRED_BY_MODE, SECRET_KEYS, Problems, Secret

# Keys holding a path; a relative one resolves against the config file's folder.
_PATH_KEYS = (("service", "state_dir"), ("pubsub", "ca_file"))


def resolve_paths(values: dict[str, dict[str, Any]], base_dir: Path) -> None:
    for section, key in _PATH_KEYS:
        value = values[section].get(key)
        if isinstance(value, Path) and not value.is_absolute():
            values[section][key] = Path(os.path.normpath(base_dir / value))


def check_backoff(pubsub: dict[str, Any], problems: Problems) -> None:
    low, high = pubsub.get("backoff_initial_s"), pubsub.get("backoff_max_s")
    if low is not None and high is not None and high < low:
        problems.add(f"pubsub.backoff_max_s: must be at least pubsub.backoff_initial_s ({low})")


def check_mode(
    auth: dict[str, Any], secrets: dict[str, Secret | None], problems: Problems,
    given: Mapping[str, Any],
) -> None:
    mode = auth.get("mode")
    if mode not in REQUIRED_BY_MODE:
        return  # a missing or wrong mode was already reported
    for key in REQUIRED_BY_MODE[mode]:
        if key in SECRET_KEYS and f"{key}_file" in given:
            continue  # given; if it could not be read, load_secrets said why
        present = secrets.get(key) is not None if key in SECRET_KEYS else bool(auth.get(key))
        if not present:
            how = (f" (set auth.{key}_file or {ENV_PREFIX}AUTH_{key.upper()})"
                   if key in SECRET_KEYS else "")
            problems.add(f"auth.{key}: required when auth.mode = {mode!r}{how}")


def check_inbox(inbox: dict[str, Any], problems: Problems) -> None:
    if inbox.get("backend") == "postgres" and not inbox.get("dsn"):
        problems.add("inbox.dsn: required with inbox.backend = \"postgres\" (a libpq "
                     "connection string, e.g. \"host=db1,db2 dbname=sync "
                     "target_session_attrs=read-write\"; put the password in a passfile)")
    elif _dsn_has_password(str(inbox.get("dsn", ""))):
        problems.add("inbox.dsn: holds a password; put it in a passfile (~/.pgpass, "
                     "PGPASSFILE or passfile= in the DSN) so it never sits in the TOML")


def _dsn_has_password(dsn: str) -> bool:
    """``password=`` (key/value form) or ``user:secret@`` (URI form)."""
    return bool(re.search(r"(^|\s)password\s*=", dsn)
                or re.match(r"^postgres(ql)?://[^/@]*:[^/@]*@", dsn))
