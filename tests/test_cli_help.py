"""Every ``lifecycle-sync`` subcommand explains itself with ``--help`` and exits 0."""

from __future__ import annotations

import pytest
from helpers.children import run_cli
from helpers.cli_reference import reference

from benchmarks.rig import code_root
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


def test_the_cli_reference_is_every_commands_help_as_printed() -> None:
    """docs/cli-reference.txt is what operators read: it must be the CLI's own --help text
    (options, defaults, wording); regenerate it as tests/helpers/cli_reference.py says."""
    documented = (code_root() / "docs" / "cli-reference.txt").read_text()
    assert reference() == documented
