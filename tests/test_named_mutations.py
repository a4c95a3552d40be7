"""``tools.named_mutations`` stays in step with the code it breaks: a merge that rewrites a
mutated line fails here, in a fast test, instead of stopping the tool half-way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tools.named_mutations import MUTATIONS, chosen

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_each_mutated_text_occurs_exactly_once_in_its_file(
        mutation: tuple[str, str, list[tuple[str, str]], list[str]]) -> None:
    _, path, edits, _ = mutation
    text = (ROOT / path).read_text()
    for old, _ in edits:
        assert text.count(old) == 1, (path, old)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_each_named_test_exists(
        mutation: tuple[str, str, list[tuple[str, str]], list[str]]) -> None:
    for test in mutation[3]:
        file, _, name = test.partition("::")
        assert (ROOT / file).is_file(), test
        assert not name or f"def {name}(" in (ROOT / file).read_text(), test


def test_help_prints_usage_instead_of_crashing() -> None:
    done = subprocess.run([sys.executable, "-m", "tools.named_mutations", "--help"],
                          cwd=ROOT, capture_output=True, text=True, check=False, timeout=60,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert "usage: python -m tools.named_mutations" in done.stdout


def test_no_index_means_every_mutation_and_a_wrong_one_is_refused() -> None:
    assert chosen([]) == list(range(len(MUTATIONS)))
    assert chosen(["2", "0"]) == [2, 0]
    with pytest.raises(SystemExit) as refused:
        chosen([str(len(MUTATIONS))])
    assert refused.value.code == 2
