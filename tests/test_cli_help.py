"""Every ``lifecycle-sync`` subcommand explains itself with ``--help`` and exits 0."""

from __future__ import annotations

import pytest
from helpers.children import run_cli

from service.cli import build_parser


def _subcommands() -> list[str]:
    parser = build_parser()
    actions = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return sorted(actions[0].choices)  # type: ignore[attr-defined]


def test_the_documented_subcommands_exist() -> None:
    assert {"run", "status", "check-config", "emulator"} <= set(_subcommands())


@pytest.mark.parametrize("command", [None, *_subcommands()])
def test_help_explains_and_exits_0(command: str | None) -> None:
    done = run_cli(*([command] if command else []), "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: lifecycle-sync")
    description = done.stdout.split("\n\n")[1]
    assert len(description.split()) >= 8, done.stdout  # a sentence that says what it does
