"""The suite's own tools, without a daemon: the replay hint a failure prints and the stop
timeout the shutdown cases allow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import rel_checker
from rel_checker import RunResult, Verdict, compare
from rel_params import timeout_stop_s
from rel_snapshot import State


def test_the_replay_hint_selects_exactly_the_case_and_keeps_the_form(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rel_checker, "SOAK", False)
    hint = Verdict("R1", 1002, 2000).replay_hint()
    assert hint == ("replay: RELIABILITY_SEED=1002 RELIABILITY_EVENTS=2000 "
                    ".venv/bin/python -m pytest tests/reliability -k test_r1_")
    assert Verdict("retention-rest_down", 7, 10).replay_hint().endswith(
        "-k 'retention and rest_down'")
    assert Verdict("R23 locked", 7, 10).replay_hint().endswith("-k test_r23_with_the_lock")
    assert Verdict("F2", 7, 10).replay_hint().endswith("-k test_f2_")
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


def _result(workspace: dict[str, Any], inbox: dict[str, str],
            extra: State | None = None) -> RunResult:
    state: State = {("Workspace__c", ("w-1",)): [workspace], **(extra or {})}
    return RunResult(state, inbox, 0, 0, 0, True, 0, "ok")


PAID = {"Workspace_ID__c": "w-1", "Self_Serve_Status__c": "Paid",
        "Last_Event_Time__c": "2026-09-21T14:30:02.000Z"}
TRIAL = {"Workspace_ID__c": "w-1", "Self_Serve_Status__c": "Trial",
         "Last_Event_Time__c": "2026-09-21T14:30:00.000Z"}


def test_the_checker_calls_a_missing_conversion_lost_and_an_older_value_stale() -> None:
    reference = _result(PAID, {"e-conv": "applied"})
    lost = compare(reference, _result(TRIAL, {"e-conv": "poison"}), "R0", 1, 1)
    assert (len(lost.lost), lost.stale_overwrite) == (2, []), lost.details()
    stale = compare(reference, _result({**PAID, "Self_Serve_Status__c": "Trial"},
                                       {"e-conv": "applied"}), "R0", 1, 1)
    assert (stale.lost, len(stale.stale_overwrite)) == ([], 1), stale.details()


def test_the_checker_counts_a_record_the_reference_lacks_as_an_extra_effect() -> None:
    extra: State = {("Lead", ("x@example.com",)): [{"Email": "x@example.com"}]}
    verdict = compare(_result(PAID, {}), _result(PAID, {}, extra), "R0", 1, 1)
    assert verdict.duplicate_effect == [
        "('Lead', ('x@example.com',)): extra record, not in the reference run"]
    assert not verdict.clean
