"""The ``lifecycle-sync`` command line: one subcommand per job, each with ``--help``."""

from __future__ import annotations

import argparse
import os
import sys
from importlib import metadata

from service.gc_pause import gc_paused

with gc_paused():  # the commands' imports are most of the start-up: see service.gc_pause
    from service import (
        check_cmd,
        check_org_cmd,
        db_cmd,
        emulator_cmd,
        jobs_cmd,
        publish_cmd,
        replay_cmd,
        review_cmd,
        run_cmd,
        status_cmd,
    )

DIST_NAME = "lifecycle-sync"
EX_SIGPIPE = 141  # what a shell reports for a tool killed by SIGPIPE (`... | head`)


def version() -> str:
    """The installed distribution's version (a checkout run without installing: unknown)."""
    try:
        return metadata.version(DIST_NAME)
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lifecycle-sync",
        description=(
            "Keeps Salesforce true to what self-serve customers do in the product: subscribes "
            "to SelfServeTrialEvent__e and LeadChangeEvent over the Salesforce Pub/Sub API and "
            "applies trials, conversions and churn to Salesforce records."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_cmd.add_parser(sub)
    check_cmd.add_parser(sub)
    check_org_cmd.add_parser(sub)
    status_cmd.add_parser(sub)
    emulator_cmd.add_parser(sub)
    jobs_cmd.add_parser(sub)
    publish_cmd.add_parser(sub)
    replay_cmd.add_parser(sub)
    db_cmd.add_parser(sub)
    review_cmd.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
