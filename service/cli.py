"""The ``lifecycle-sync`` command line: one subcommand per job, each with ``--help``."""

from __future__ import annotations

import argparse
import os
import sys
from types import ModuleType

from service.gc_pause import gc_paused

with gc_paused():  # the commands' imports are most of the start-up: see service.gc_pause
    from service import run_cmd

DIST_NAME = "lifecycle-sync"
EX_SIGPIPE = 141  # what a shell reports for a tool killed by SIGPIPE (`... | head`)


def version() -> str:
    """The installed distribution's version (a checkout run without installing: unknown)."""
    from importlib import metadata  # ~70 ms of imports that only --version needs

    try:
        return metadata.version(DIST_NAME)
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _other_commands() -> list[ModuleType]:
    """Every command but ``run``, in ``--help`` order; imported only when the command line is
    not a plain ``run``, so the daemon's start-up does not pay for the other commands'
    imports (Salesforce clients, the scheduler, the emulator's CLI)."""
    with gc_paused():
        from service import (
            check_cmd,
            check_org_cmd,
            db_cmd,
            emulator_cmd,
            jobs_cmd,
            publish_cmd,
            replay_cmd,
            review_cmd,
            status_cmd,
        )
    return [check_cmd, check_org_cmd, status_cmd, emulator_cmd, jobs_cmd, publish_cmd,
            replay_cmd, db_cmd, review_cmd]


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; for ``argv`` starting with ``run`` (the daemon), only ``run``
    (its options, help and errors are the same)."""
    parser = argparse.ArgumentParser(
        prog="lifecycle-sync",
        description=(
            "Keeps Salesforce true to what self-serve customers do in the product: subscribes "
            "to SelfServeTrialEvent__e and LeadChangeEvent over the Salesforce Pub/Sub API and "
            "applies trials, conversions and churn to Salesforce records."
        ),
    )
    only_run = argv is not None and argv[:1] == ["run"]
    if not only_run:
        parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_cmd.add_parser(sub)
    for command in [] if only_run else _other_commands():
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        code: int = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`check-config | head`): nothing left to say to it. Point
        # stdout at /dev/null so the interpreter's final flush cannot raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EX_SIGPIPE
    return code


if __name__ == "__main__":
    sys.exit(main())
