"""The suite's own tools, without a daemon: the replay hint a failure prints, the stop
timeout the shutdown cases allow, and the checker's classification of each kind of fault
(against a reference run, and against the workload's model)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import rel_checker
from rel_checker import RunResult, Verdict, against_model, compare
from rel_params import timeout_stop_s
from rel_snapshot import State
from rel_workload import Workload, expected_workspaces, make_workload


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


def test_the_checker_counts_two_records_under_one_key_as_a_duplicate_effect() -> None:
    twice = _result(PAID, {"e-conv": "applied"})
    twice.state[("Workspace__c", ("w-1",))] = [PAID, dict(PAID)]
    verdict = compare(_result(PAID, {"e-conv": "applied"}), twice, "R0", 1, 1)
    assert verdict.duplicate_effect == [
        "('Workspace__c', ('w-1',)): 2 records, reference 1"], verdict.details()
    assert (verdict.lost, verdict.stale_overwrite, verdict.stuck) == ([], [], [])


def test_the_checker_calls_a_pending_entry_and_a_stale_checkpoint_stuck() -> None:
    reference = _result(PAID, {"e-conv": "applied"})
    pending = replace(_result(PAID, {"e-conv": "pending"}), pending=1)
    verdict = compare(reference, pending, "R0", 1, 1)
    assert verdict.stuck == ["event e-conv still pending", "1 inbox entries pending at the end"]
    behind = replace(_result(PAID, {"e-conv": "applied"}), checkpoints_current=False)
    assert compare(reference, behind, "R0", 1, 1).stuck == [
        "a checkpoint is behind the emulator's newest replay ID"]
    assert not compare(reference, behind, "R0", 1, 1).clean


def test_the_checker_calls_a_failing_integrity_check_stuck() -> None:
    damaged = replace(_result(PAID, {}), integrity="*** in database main ***")
    verdict = compare(_result(PAID, {}), damaged, "R0", 1, 1)
    assert verdict.stuck == ["inbox integrity_check: *** in database main ***"]
    assert not verdict.clean


def _model_run(workload: Workload, **changes: Any) -> RunResult:
    """What a clean run of ``workload`` leaves behind (its Workspaces as the model has them)."""
    state: State = {}
    for wid, fields in expected_workspaces(workload).items():
        record = {**fields, "Workspace_ID__c": wid}
        record["Last_Event_Time__c"] = fields["Last_Event_Time__c"].isoformat()
        state[("Workspace__c", (wid,))] = [record]
        if "Conversion_Date__c" in fields:
            email = _owner(workload, wid)
            state[("Lead", (email,))] = [{"Email": email, "IsConverted": True}]
            state[("Contact", (email,))] = [{"Email": email}]
    inbox = {e.event_id: "applied" if e.valid else "poison" for e in workload.events}
    return replace(RunResult(state, inbox, 0, 0, 0, True, 0, "ok"), **changes)


def test_the_model_check_is_clean_on_the_model_and_counts_each_kind_of_fault() -> None:
    workload = make_workload(1001, 300, "005000000000001AAA", 50)
    assert against_model(workload, _model_run(workload), "m", 1).clean
    first = next(e for e in workload.events if e.valid)
    run = _model_run(workload)
    del run.inbox[first.event_id]
    wid, key = first.workspace_id, ("Workspace__c", (first.workspace_id,))
    run.state[key][0]["Self_Serve_Status__c"] = "Churned?"
    run.state[("Lead", ("x@example.com",))] = [{}, {}]
    verdict = against_model(workload, replace(run, pending=2), "m", 1)
    assert verdict.lost == [f"event {first.event_id} never reached the inbox"]
    assert [s.split(":")[0] for s in verdict.stale_overwrite] == [f"Workspace {wid}"]
    assert len(verdict.duplicate_effect) == 1
    assert verdict.stuck == ["2 inbox entries pending at the end"]
    del run.state[key]
    assert f"Workspace {wid}: missing" in against_model(workload, run, "m", 1).lost
    older = _model_run(workload)
    older.state[key][0]["Last_Event_Time__c"] = "2000-01-01T00:00:00.000+0000"
    assert [s.endswith("(its newest event never took effect)")
            for s in against_model(workload, older, "m", 1).lost] == [True]
    poisoned = _model_run(workload)
    poisoned.inbox[first.event_id] = "poison"
    assert against_model(workload, poisoned, "m", 1).lost == [
        f"event {first.event_id}: poison, a valid event"]


def _owner(workload: Workload, wid: str) -> str:
    return next(str(e.record["Email__c"]) for e in workload.events if e.workspace_id == wid)


def test_the_model_check_counts_a_lost_conversion_and_an_applied_invalid_event() -> None:
    workload = make_workload(1001, 300, "005000000000001AAA", 50)
    converted = sorted(w for w, f in expected_workspaces(workload).items()
                       if "Conversion_Date__c" in f)
    invalid = [e.event_id for e in workload.events if not e.valid]
    assert converted, "the workload must model a conversion for this check to mean anything"
    assert invalid, "the workload must hold an invalid event for this check to mean anything"
    run = _model_run(workload)
    email = _owner(workload, converted[0])
    run.state[("Lead", (email,))][0]["IsConverted"] = False
    del run.state[("Contact", (email,))]
    run.inbox[invalid[0]] = "applied"
    verdict = against_model(workload, run, "m", 1)
    assert verdict.lost == [f"Workspace {converted[0]}: its owner's Lead was not converted",
                            f"Workspace {converted[0]}: no Contact for its owner"]
    assert verdict.stale_overwrite == [
        f"invalid event {invalid[0]} ended applied with no error"]
    parked = replace(run, parked=frozenset({invalid[0]}))
    assert not against_model(workload, parked, "m", 1).stale_overwrite
