"""``tools.mutation_report`` says when its score is of a sample, and of how many mutants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.mutation_report import main


def test_a_sampled_report_says_how_many_of_how_many_mutants(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    meta = tmp_path / "mutants" / "service" / "x.py.meta"
    meta.parent.mkdir(parents=True)
    codes = {f"service.x.f__mutmut_{n}": (1 if n % 2 else 0) for n in range(1, 11)}
    meta.write_text(json.dumps({"exit_code_by_key": codes}))
    names = tmp_path / "sample.txt"
    names.write_text("service.x.f__mutmut_1\nservice.x.f__mutmut_2\nservice.x.f__mutmut_3\n")
    assert main(["service", "--mutants", str(tmp_path / "mutants"), "--names", str(names),
                 "--min", "60"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["service/", "sample", "of", "3", "of", "10", "mutants",
                              "(make", "mutate's", "MUTATE_SAMPLE)"]
    assert out[1].startswith("service/      66.7 % killed (2/3;")
    assert main(["service", "--mutants", str(tmp_path / "mutants"), "--names", str(names),
                 "--min", "85"]) == 1  # below the gate
