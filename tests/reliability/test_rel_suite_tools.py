"""The suite's own tools, without a daemon: the replay hint a failure prints and the stop
timeout the shutdown cases allow."""

from __future__ import annotations

from pathlib import Path

import pytest
import rel_checker
from rel_checker import Verdict
from rel_params import timeout_stop_s


def test_the_replay_hint_selects_exactly_the_case_and_keeps_the_form(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rel_checker, "SOAK", False)
    hint = Verdict("R1", 1002, 2000).replay_hint()
    assert hint == ("replay: RELIABILITY_SEED=1002 RELIABILITY_EVENTS=2000 "
                    ".venv/bin/python -m pytest tests/reliability -k test_r1_")
    assert Verdict("retention-rest", 7, 10).replay_hint().endswith("-k retention-rest")
    monkeypatch.setattr(rel_checker, "SOAK", True)
    assert Verdict("R12", 5, 10_000).replay_hint().startswith(
        "replay: RELIABILITY_SOAK=1 RELIABILITY_SEED=5 ")


def test_the_stop_timeout_is_the_shipped_units(tmp_path: Path) -> None:
    unit = Path(__file__).resolve().parents[2] / "systemd" / "lifecycle-sync.service"
    assert f"TimeoutStopSec={timeout_stop_s():.0f}\n" in unit.read_text()
    (tmp_path / "x.service").write_text("[Service]\nTimeoutStopSec=9s\n")
    assert timeout_stop_s(tmp_path / "x.service") == 9.0
    (tmp_path / "y.service").write_text("[Service]\n")
    with pytest.raises(ValueError, match="no TimeoutStopSec"):
        timeout_stop_s(tmp_path / "y.service")
