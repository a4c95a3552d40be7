"""The ``lifecycle-sync`` command line: one subcommand per job, each with ``--help``."""

from __future__ import annotations

import argparse
import sys

from service import emulator_cmd, run_cmd, status_cmd


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lifecycle-sync",
        description=(
            "Keeps Salesforce true to what self-serve customers do in the product: subscribes "
            "to SelfServeTrialEvent__e and LeadChangeEvent over the Salesforce Pub/Sub API and "
            "applies trials, conversions and churn to Salesforce records."
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_cmd.add_parser(sub)
    status_cmd.add_parser(sub)
    emulator_cmd.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
