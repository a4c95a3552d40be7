"""``lifecycle-sync check-config``: everything ``run`` would meet, tried without side effects.

stdout gets the effective configuration as TOML that ``--config`` accepts again (relative
paths resolved to absolute ones, each secret as the file it came from); stderr gets one line
per check, ``ok:`` or ``FAILED:``, each failure saying what was tried and what to check.
Nothing is left behind: the state directory is tried as ``run`` uses it (a missing one is
created and removed again, an existing one gets a temporary file created and removed, so a
read-only mount or /proc fails here as it would in ``run``, even for root); the login is a
login.
A failed local check does not stop the network checks, so one run lists every failure; only
checks that need what failed print ``skipped:`` (all connections need a usable CA file, the
login and GetTopic a usable key).

Exit codes: 0 every check passed; 78 (EX_CONFIG) the configuration is invalid or a local
check failed (state directory, private key, CA file); 69 (EX_UNAVAILABLE) only network
checks failed (endpoint unreachable, TLS handshake refused, login rejected, topic missing);
141 every check passed but stdout's reader went away before the TOML was written. The
checks run first, so a closed pipe never hides a failure or its exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from service.config import Config, Secret, redacted
from service.local_checks import ca_file_problem, private_key_problem, state_dir_problem
from service.run_cmd import EX_CONFIG, config_or_report, config_source_args

EX_UNAVAILABLE = 69
EX_SIGPIPE = 141  # all checks passed, but the reader of stdout went away (`| head`)
Check = tuple[str, str | None]  # (what was checked, the problem or None)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``check-config``."""
    check = sub.add_parser(
        "check-config", help="validate the configuration and try every connection, no writes",
        description="Loads the config exactly as `run` would (file, environment, secret "
                    "files), checks the state directory, the private key and the CA file, "
                    "then connects to the Pub/Sub endpoint and the login URL with the "
                    "configured CA, logs in once and asks GetTopic for each topic. Prints "
                    "the effective configuration as TOML on stdout (it can be fed back with "
                    "--config) and one ok/FAILED line per check on stderr.",
        epilog="exit codes: 0 all checks passed, 78 invalid configuration or a local check "
               "failed (state directory, key, CA file), 69 only network checks failed",
    )
    config_source_args(check)
    check.add_argument("--offline", action="store_true",
                       help="skip the network checks (connections, login, GetTopic)")
    check.set_defaults(func=_check_config)


def config_and_local_checks(args: argparse.Namespace) -> tuple[Config, list[Check]] | None:
    """The config ``args`` name and its local checks (state directory, key, CA file); None
    after printing why the config is invalid. ``check-config`` and ``check`` start here."""
    config = config_or_report(args)
    return None if config is None else (config, local_checks(config))


def _check_config(args: argparse.Namespace) -> int:
    # The checks run before anything is printed, and their lines go to stderr whatever
    # happens to stdout: `check-config | head` must still show every FAILED line and exit
    # with the checks' code, not die of SIGPIPE half-way through the TOML.
    found = config_and_local_checks(args)
    if found is None:
        return EX_CONFIG
    config, local = found
    remote: list[Check] = []
    skipped: list[str] = []
    if not args.offline:
        remote, skipped = _network_checks(config, local)
    printed = _write_stdout(
        f"# effective configuration from {os.path.abspath(config.source)}: relative paths "
        f"resolved, secrets shown as the files they came from\n{to_toml(effective_tables(config))}")
    for what, problem in local + remote:
        print(f"ok: {what}" if problem is None else f"FAILED: {what}: {problem}",
              file=sys.stderr)
    for what in skipped:
        print(f"skipped: {what}", file=sys.stderr)
    if _failed(local):
        return EX_CONFIG
    if _failed(remote):
        return EX_UNAVAILABLE
    return 0 if printed else EX_SIGPIPE


def _write_stdout(text: str) -> bool:
    """Write ``text`` to stdout; False when the reader has gone (stdout then points at
    /dev/null, so nothing later, not even the interpreter's final flush, raises)."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return False
    return True


def _network_checks(config: Config, local: list[Check]) -> tuple[list[Check], list[str]]:
    """The network checks, whatever the local ones found (an admin wants every failure at
    once), except those that need what failed: the CA file for all of them, the private key
    for the login and GetTopic. Returns the checks and what was skipped, and why."""
    failed = {what for what, problem in local if problem is not None}
    if any(what.startswith("CA file ") for what in failed):
        return [], ["network checks: every connection needs the CA file that failed above"]
    from service.remote_checks import remote_checks  # loads grpc

    if "JWT private key" in failed:
        return (remote_checks(config, login=False),
                ["login and GetTopic: they need the private key that failed above"])
    return remote_checks(config), []


def local_checks(config: Config) -> list[Check]:
    """Checks that need no network: state directory, private key, CA file."""
    results: list[Check] = [
        (f"state directory {config.service.state_dir}",
         state_dir_problem(config.service.state_dir)),
    ]
    if config.auth.private_key is not None:
        results.append(("JWT private key", private_key_problem(config.auth.private_key)))
    if config.pubsub.ca_file is not None:
        results.append((f"CA file {config.pubsub.ca_file}", ca_file_problem(config.pubsub.ca_file)))
    return results


def _failed(results: list[Check]) -> bool:
    return any(problem is not None for _, problem in results)


def effective_tables(config: Config) -> dict[str, dict[str, Any]]:
    """The settings as TOML-ready tables; a secret read from a file becomes ``<key>_file``,
    any other secret a ``#`` comment naming where it came from (never its value)."""
    out: dict[str, dict[str, Any]] = {}
    for section in ("service", "auth", "pubsub", "inbox"):
        table = getattr(config, section)
        out[section] = {}
        for f in fields(table):
            value = getattr(table, f.name)
            if value is None or value == "":
                continue
            if isinstance(value, Secret):
                out[section].update(_secret_entry(f.name, value))
            else:
                out[section][f.name] = _plain(value)
    plain = redacted(config)  # the scheduled jobs' sections, with times as "HH:MM"
    out.update({section: plain[section] for section in ("scheduler", "alerts", "retention")})
    return out


def _secret_entry(key: str, secret: Secret) -> dict[str, Any]:
    if secret.origin and Path(secret.origin).is_absolute():
        return {f"{key}_file": secret.origin}
    return {f"# {key}": f"from {secret.origin or 'an unnamed source'} (not shown; give it as "
                        f"{key}_file or LIFECYCLE_SYNC_AUTH_{key.upper()})"}


def _plain(value: object) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def to_toml(tables: Mapping[str, Mapping[str, Any]]) -> str:
    """Render flat tables of str, number, bool and list-of-str values as TOML; a key that
    starts with ``#`` becomes a comment line."""
    lines: list[str] = []
    for section, table in tables.items():
        lines.append(f"\n[{section}]")
        for key, value in table.items():
            lines.append(f"{key}: {value}" if key.startswith("#") else
                         f"{key} = {_toml_value(value)}")
    text = "\n".join(lines).lstrip("\n") + "\n"
    tomllib.loads(text)  # what we print must be loadable again
    return text


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))
