"""``tools.mutation_report``: the score of a sample and its 95 % interval, equivalent mutants
out of the score and accepted (not equivalent) survivors in it, and exclusion entries that
check themselves against the mutant they were reviewed for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.mutation_exclusions import fingerprint, load
from tools.mutation_report import main, wilson_95

# A mutated module as mutmut writes it: the original function and two mutants, with the span
# index (1-based, inclusive lines of each generated function) that ``mutmut show`` reads.
MODULE = """\
def x_f__mutmut_orig(a):
    return a + 1
def x_f__mutmut_1(a):
    return a - 1
def x_f__mutmut_2(a):
    return a + 2
"""
SPANS = {"x_f__mutmut_orig": [1, 2], "x_f__mutmut_1": [3, 4], "x_f__mutmut_2": [5, 6]}


def mutants(tmp_path: Path, codes: dict[str, int | None], module: str = MODULE) -> Path:
    """``tmp_path/mutants`` holding service/m.py (+ .meta, .spans) with these exit codes."""
    py = tmp_path / "mutants" / "service" / "m.py"
    py.parent.mkdir(parents=True, exist_ok=True)
    py.write_text(module)
    py.with_name("m.py.spans").write_text(json.dumps({"version": 1, "spans": SPANS}))
    py.with_name("m.py.meta").write_text(json.dumps({"exit_code_by_key": codes}))
    return tmp_path / "mutants"


def run(tmp_path: Path, *args: str) -> int:
    return main(["service", "--mutants", str(tmp_path / "mutants"),
                 "--exclusions", str(tmp_path / "exclusions.txt"), *args])


def test_a_sampled_report_says_how_many_of_how_many_mutants(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    meta = tmp_path / "mutants" / "service" / "x.py.meta"
    meta.parent.mkdir(parents=True)
    codes = {f"service.x.f__mutmut_{n}": (1 if n % 2 else 0) for n in range(1, 11)}
    meta.write_text(json.dumps({"exit_code_by_key": codes}))
    names = tmp_path / "sample.txt"
    names.write_text("service.x.f__mutmut_1\nservice.x.f__mutmut_2\nservice.x.f__mutmut_3\n")
    assert run(tmp_path, "--names", str(names), "--min", "60") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["service/", "sample", "of", "3", "of", "10", "mutants",
                              "(the", "names", "in", f"{names})"]
    assert out[1].startswith("service/      66.7 % killed (2/3; 95 % interval 20.8-93.9 %;")
    assert run(tmp_path, "--names", str(names), "--min", "85") == 1  # below the gate


@pytest.mark.parametrize(("killed", "checked", "low", "high"), [
    (5, 10, 23.66, 76.34),  # textbook values of the Wilson score interval
    (0, 10, 0.0, 27.75),
    (10, 10, 72.25, 100.0),
    (132, 150, 81.8, 92.3),  # a MUTATE_SAMPLE-sized sample at 88 %: about +-5 points
])
def test_the_95_percent_interval_is_wilsons(killed: int, checked: int, low: float,
                                            high: float) -> None:
    found = wilson_95(killed, checked)
    assert found == pytest.approx((low, high), abs=0.05)


def test_an_accepted_survivor_stays_in_the_score_and_an_equivalent_mutant_leaves_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = mutants(tmp_path, {"service.m.x_f__mutmut_1": 0, "service.m.x_f__mutmut_2": 0})
    for n in (1, 2):
        assert fingerprint(root / "service" / "m.py", f"service.m.x_f__mutmut_{n}")
    (tmp_path / "exclusions.txt").write_text(
        "# comment\n"
        "service.m.x_f__mutmut_1  NOT EQUIVALENT, unimportant: a test could, nobody cares\n")
    assert run(tmp_path, "--stamp") == 0
    assert run(tmp_path) == 0
    out = capsys.readouterr().out
    assert "service/       0.0 % killed (0/2; 95 % interval 0.0-65.8 %; 1 accepted survivors " \
           "(not equivalent, reviewed); 0 excluded as equivalent; 0 not run)" in out
    assert out.splitlines()[-1] == "  service.m.x_f__mutmut_2  (0)"  # only the unreviewed one

    (tmp_path / "exclusions.txt").write_text(
        "service.m.x_f__mutmut_1  NOT EQUIVALENT, unimportant: nobody cares\n"
        "service.m.x_f__mutmut_2  a + 2 and a + 1 read alike here\n")
    assert run(tmp_path, "--stamp") == 0
    capsys.readouterr()
    assert run(tmp_path) == 0
    assert "(0/1; 95 % interval 0.0-79.3 %; 1 accepted survivors (not equivalent, reviewed); " \
           "1 excluded as equivalent; 0 not run)" in capsys.readouterr().out


def test_stamp_fills_in_fingerprints_and_keeps_everything_else(tmp_path: Path) -> None:
    root = mutants(tmp_path, {"service.m.x_f__mutmut_1": 0, "service.m.x_f__mutmut_2": 1})
    text = ("# header\n\nservice.m.x_f__mutmut_1  a reason, with  two spaces\n"
            "service.m.x_f__mutmut_2  0badf00d  already stamped: left as it is\n"
            "handlers.h.x_g__mutmut_3  another package: left as it is\n")
    (tmp_path / "exclusions.txt").write_text(text)
    assert run(tmp_path, "--stamp") == 0
    expected = fingerprint(root / "service" / "m.py", "service.m.x_f__mutmut_1")
    assert (tmp_path / "exclusions.txt").read_text() == text.replace(
        "_1  a reason", f"_1  {expected}  a reason")
    entries = load(tmp_path / "exclusions.txt")
    assert (entries["service.m.x_f__mutmut_1"].fingerprint,
            entries["service.m.x_f__mutmut_1"].reason) == (expected,
                                                          "a reason, with  two spaces")
    assert entries["handlers.h.x_g__mutmut_3"].fingerprint is None


def test_an_entry_whose_mutant_changed_or_vanished_or_was_never_stamped_fails_the_report(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mutants(tmp_path, {"service.m.x_f__mutmut_1": 0, "service.m.x_f__mutmut_2": 0})
    (tmp_path / "exclusions.txt").write_text("service.m.x_f__mutmut_1  reviewed as a - 1\n")
    assert run(tmp_path) == 1  # not stamped yet
    assert "service.m.x_f__mutmut_1: no fingerprint" in capsys.readouterr().out
    assert run(tmp_path, "--stamp") == 0
    assert run(tmp_path) == 0
    capsys.readouterr()

    # The function was edited: mutmut renumbered its mutants, so _1 is now another mutation.
    renumbered = MODULE.replace("a - 1", "a + 9").replace("a + 2", "a - 1")
    mutants(tmp_path, {"service.m.x_f__mutmut_1": 0, "service.m.x_f__mutmut_2": 0},
            renumbered)
    assert run(tmp_path) == 1
    assert "service.m.x_f__mutmut_1: the mutant changed (" in capsys.readouterr().out

    mutants(tmp_path, {"service.m.x_f__mutmut_2": 0})  # and now no mutant has that name
    assert run(tmp_path) == 1
    assert "service.m.x_f__mutmut_1: names no current mutant" in capsys.readouterr().out


def test_every_entry_of_the_shipped_list_has_a_fingerprint() -> None:
    entries = load(Path(__file__).parents[1] / "mutation-exclusions.txt")
    assert entries
    assert [name for name, entry in entries.items() if entry.fingerprint is None] == []
