"""``lifecycle-sync run`` (and the config sources ``check-config`` shares with it).

``run --config FILE`` is the production form. ``run --emulator-info FILE --state DIR`` is the
documented shortcut for the local emulator: the connection settings come from the JSON file
``lifecycle-sync emulator --info-file`` writes (mode 0600, it holds credentials), and
everything else from defaults and ``LIFECYCLE_SYNC_*`` variables.

Exit codes follow sysexits so systemd can tell "fix the config" from "try again":
0 clean stop, 1 runtime failure, 75 (EX_TEMPFAIL) another instance holds the state directory,
78 (EX_CONFIG) invalid configuration, or a fatal condition found at run time that a
restart cannot fix (unknown topic, no permission, rejected credentials, a refused replay ID
under ``on_invalid_replay = fail``, a lost, replaced or damaged inbox); use
``RestartPreventExitStatus=78``. An inbox that cannot be written (an I/O error) exits 1; a
full disk does not: intake pauses, alerts once and resumes by itself when there is room.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from service.config import AUTH_MODES, Config, ConfigError, build_config, load_config
from service.config_schema import Problems, env_overrides
from service.log_json import LOG_FORMATS, resolve_format

EX_CONFIG = 78
EX_TEMPFAIL = 75


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``run``."""
    run = sub.add_parser(
        "run", help="run the daemon: subscribe and land every event in the local inbox",
        description="Subscribes to the configured topics and stores every event durably in "
                    "STATE/inbox.db until SIGTERM or SIGINT. One instance per state directory.",
        epilog="exit codes: 0 clean stop, 1 runtime failure (e.g. the inbox cannot be "
               "written), 75 another instance holds the state directory, 78 invalid "
               "configuration or a fatal condition a restart cannot fix (unknown topic, "
               "rejected credentials, refused replay ID, lost or damaged inbox)",
    )
    config_source_args(run)
    run.add_argument(
        "--reset-inbox", action="store_true",
        help="start afresh deliberately: accept a missing (or replaced) STATE/inbox.db and "
             "record the new one as this state directory's inbox. Without it, a state "
             "directory whose inbox has gone refuses to start (exit 78). Use once, never in "
             "the unit file: it turns that protection off. It deletes nothing")
    run.add_argument(
        "--log-format", choices=LOG_FORMATS, default="auto",
        help="json: one JSON object per line on stdout (for journald and log shippers); "
             "text: one line per record on stderr, for humans; auto (default): json when "
             "systemd's journal holds the output (JOURNAL_STREAM is set), else text. Either "
             "way no token, key or email address is logged at INFO and above")
    run.set_defaults(func=_run)


def config_source_args(p: argparse.ArgumentParser) -> None:
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", type=Path, metavar="FILE", help="the TOML config file")
    source.add_argument("--emulator-info", type=Path, metavar="FILE",
                        help="take connection settings from an emulator info file")
    p.add_argument("--state", type=Path, metavar="DIR",
                   help="state directory (overrides service.state_dir; required with "
                        "--emulator-info)")
    p.add_argument("--auth", choices=("auto", *AUTH_MODES), default="auto",
                   help="with --emulator-info: which flow to use (auto: JWT, else client "
                        "credentials, else the static token, as the info file allows)")


def resolve_config(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Config:
    """The validated config named by ``--config`` or ``--emulator-info``."""
    env = os.environ if env is None else env
    if args.config is not None:
        if args.auth != "auto":
            raise ConfigError([f"--auth {args.auth}: only applies with --emulator-info; with "
                               "--config the flow is auth.mode in the file (or "
                               "LIFECYCLE_SYNC_AUTH_MODE)"])
        return load_config(args.config, env, state_dir=args.state)
    if args.state is None:
        raise ConfigError(["--state: required with --emulator-info"])
    state = Path(os.path.abspath(args.state))
    return config_from_emulator_info(args.emulator_info, state, args.auth, env)


def config_from_emulator_info(
    info_path: Path, state_dir: Path, auth: str, env: Mapping[str, str]
) -> Config:
    """Build a config from an emulator info file, environment overrides applied on top."""
    try:
        info = json.loads(info_path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError([f"--emulator-info: can't read {info_path}: {exc}"]) from None
    if not isinstance(info, dict):
        raise ConfigError([f"--emulator-info: {info_path} is not a JSON object"])
    mode = _emulator_auth_mode(info) if auth == "auto" else auth
    origin = f"emulator info {info_path}"
    keys = {
        "service": {"state_dir": str(state_dir)},
        "auth": _emulator_auth(info, mode),
        "pubsub": {"endpoint": info.get("pubsub_endpoint"), "ca_file": info.get("ca_cert")},
    }
    merged = {s: {k: (v, f"{origin}: {k}") for k, v in t.items() if v} for s, t in keys.items()}
    problems = Problems()
    for section, table in env_overrides(env, problems).items():
        merged.setdefault(section, {}).update(table)
    return build_config(merged, problems, env, base_dir=info_path.parent, source=str(info_path))


def _emulator_auth_mode(info: Mapping[str, Any]) -> str:
    if info.get("private_key") and info.get("username"):
        return "jwt"
    if info.get("client_secret") and info.get("login_url"):
        return "client_credentials"
    return "static_token"


def _emulator_auth(info: Mapping[str, Any], mode: str) -> dict[str, Any]:
    auth = {"mode": mode, "login_url": info.get("login_url"), "client_id": info.get("client_id"),
            "username": info.get("username")}
    if mode == "static_token":
        auth.update(instance_url=info.get("instance_url"), tenant_id=info.get("tenant_id"),
                    access_token=info.get("access_token"))
    elif mode == "jwt":
        key = str(info.get("private_key", ""))
        auth["private_key" if key.startswith("-----BEGIN") else "private_key_file"] = key
    else:  # client_credentials, password
        auth["client_secret"] = info.get("client_secret")
        if mode == "password":
            auth["password"] = info.get("password")
    return auth


def config_or_report(args: argparse.Namespace) -> Config | None:
    """The validated config, or None after printing every problem (the caller exits 78)."""
    try:
        return resolve_config(args)
    except ConfigError as exc:
        print(f"lifecycle-sync: {exc}", file=sys.stderr)
        return None


def _run(args: argparse.Namespace) -> int:
    config = config_or_report(args)
    if config is None:
        return EX_CONFIG
    from service.gc_pause import gc_paused

    with gc_paused(freeze=True):  # the daemon's imports, without collector passes over them
        from service.wiring import run_daemon  # heavy imports (grpc) only when really running

    return run_daemon(config, reset_inbox=args.reset_inbox,
                      log_format=resolve_format(args.log_format))
