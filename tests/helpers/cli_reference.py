"""Every ``lifecycle-sync`` command's ``--help``, as ``docs/cli-reference.txt`` holds it.

``tests/test_cli_help.py`` compares the two, so the reference operators read is the CLI's own
text and a change of an option, a default or a help sentence shows up in review. After
changing the CLI on purpose, regenerate it with
``PYTHONPATH=tests .venv/bin/python -m helpers.cli_reference > docs/cli-reference.txt``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator

from service.cli import build_parser

WIDTH = "100"  # argparse wraps to $COLUMNS: fixed, so the text is the same in any terminal


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """``parser`` and every subcommand's parser under it, depth first, in declaration order."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):  # aliases share a parser
                yield from _parsers(child)


def reference() -> str:
    """The ``--help`` of every command, each under a ``$ lifecycle-sync ... --help`` line."""
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        return "".join(f"$ {p.prog} --help\n{p.format_help()}\n" for p in _parsers(build_parser()))
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before


if __name__ == "__main__":
    print(reference(), end="")
