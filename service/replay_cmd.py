"""``lifecycle-sync replay --topic T --from earliest|latest|REPLAY_ID``: move a checkpoint.

For re-reading events (after fixing a bug, or to skip a backlog on purpose). It takes the
state directory's lock, so it refuses while the daemon runs (exit 75: stop it first; a
checkpoint moved under a running stream would be overwritten at its next batch). It asks
for confirmation unless ``--yes``. A replay ID becomes the checkpoint (the daemon resumes
after it); ``earliest``/``latest`` are recorded as a jump the next subscription follows
once, until its first checkpoint. Events delivered again are deduplicated by the inbox, so
nothing is applied twice; events skipped by ``latest`` are gone and need reconciling.

Exit codes: 0 moved; 1 not confirmed; 64 (EX_USAGE) bad --from or unknown topic;
75 (EX_TEMPFAIL) the daemon holds the state directory; 78 invalid configuration, or no
inbox / a lost or replaced inbox in the state directory (checked like the daemon's start).

With ``inbox.backend = "postgres"`` the checkpoint is in the shared database: ``replay``
takes the deployment's lease for the move, so it refuses (75) while any node is active.
"""

from __future__ import annotations

import argparse
import sys

from service.config import Config, ConfigError, inbox_path
from service.inbox_backend import ActiveElsewhere, held_inbox, is_postgres
from service.lifecycle import AlreadyRunning, state_lock
from service.run_cmd import EX_CONFIG, EX_TEMPFAIL, config_source_args, resolve_config
from subscriber.errors import Fatal

EX_USAGE = 64


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "replay", help="move a topic's checkpoint (daemon stopped), with confirmation",
        description="Moves where the daemon resumes a topic: earliest (every retained event, "
                    "up to 72 hours, delivered again and deduplicated), latest (skip "
                    "everything published so far: reconcile it), or a replay ID (hex, as "
                    "`status` and `publish` print; resume after it).",
        epilog="exit codes: 0 moved, 1 not confirmed, 64 bad --from or unknown topic, 75 the "
               "daemon is running (stop it first), 78 invalid configuration or no/another inbox in "
               "the state directory")
    p.add_argument("--topic", required=True, help="e.g. /event/SelfServeTrialEvent__e")
    p.add_argument("--from", dest="start", required=True, metavar="earliest|latest|REPLAY_ID")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    config_source_args(p)
    p.set_defaults(func=_replay)


def parse_start(text: str) -> str | bytes:
    """``earliest``, ``latest`` or the replay ID's bytes; ValueError otherwise."""
    if text in ("earliest", "latest"):
        return text
    try:
        replay_id = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"--from {text!r}: expected earliest, latest or a hex replay ID"
                         ) from None
    if not replay_id:
        raise ValueError("--from: the replay ID is empty")
    return replay_id


def _replay(args: argparse.Namespace) -> int:
    try:
        start = parse_start(args.start)
        config = resolve_config(args)
    except ValueError as exc:
        print(f"lifecycle-sync replay: {exc}", file=sys.stderr)
        return EX_USAGE
    except ConfigError as exc:
        print(f"lifecycle-sync: {exc}", file=sys.stderr)
        return EX_CONFIG
    if args.topic not in config.pubsub.topics:
        print(f"lifecycle-sync replay: {args.topic} is not a configured topic "
              f"({', '.join(config.pubsub.topics)})", file=sys.stderr)
        return EX_USAGE
    try:
        with state_lock(config.service.state_dir):
            return _move(config, args.topic, start, args.yes)
    except ActiveElsewhere as exc:
        print(f"lifecycle-sync replay: refusing: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    except Fatal as exc:  # a lost or replaced inbox, a PostgreSQL schema behind the code
        print(f"lifecycle-sync replay: refusing: {exc}", file=sys.stderr)
        return EX_CONFIG
    except AlreadyRunning as exc:
        print(f"lifecycle-sync replay: refusing: {exc}. Stop the daemon first "
              "(systemctl stop lifecycle-sync)", file=sys.stderr)
        return EX_TEMPFAIL


def _move(config: Config, topic: str, start: str | bytes, yes: bool) -> int:
    """Move the checkpoint in the configured inbox, opened like the daemon's start: a
    mistyped ``--state``, a lost or a replaced inbox is refused (exit 78), never answered
    with a fresh inbox whose checkpoint would be moved. On PostgreSQL the move is under the
    lease, so only while no daemon of the deployment is active."""
    state_dir = config.service.state_dir
    if not is_postgres(config) and not inbox_path(state_dir).exists():
        print(f"lifecycle-sync replay: no inbox in {state_dir}: is --state right? (the daemon "
              "creates it at its first start; start_from sets where a new one begins)",
              file=sys.stderr)
        return EX_CONFIG
    with held_inbox(config) as inbox:
        current = inbox.checkpoint(topic).replay_id
        where = current.hex() if current else "(no checkpoint yet)"
        target = start if isinstance(start, str) else f"after replay ID {start.hex()}"
        question = f"Move {topic} from {where} to {target}?"
        if not yes and not _confirm(question):
            print("not moved", file=sys.stderr)
            return 1
        if isinstance(start, bytes):
            inbox.set_checkpoint(topic, start)
        else:
            inbox.record_jump(topic, f"replay-{start}", current or b"", starting=False)
    print(f"{topic}: resumes from {target} at the next start (was {where})")
    return 0


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        print(f"{question} Not asked: stdin is not a terminal; pass --yes", file=sys.stderr)
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
