"""check-config's state directory check, on the real file system: a missing directory with
missing parents is fine (``run`` creates them) and the check leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

from service.local_checks import state_dir_problem


def test_a_state_dir_whose_parents_are_missing_too_is_creatable_and_left_absent(
        tmp_path: Path) -> None:
    state = tmp_path / "var" / "lib" / "lifecycle-sync"
    assert state_dir_problem(state) is None
    assert list(tmp_path.iterdir()) == []  # created to try it, then removed, parents too


def test_a_state_dir_that_is_a_file_is_named_as_such(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.write_text("")
    problem = state_dir_problem(state)
    assert problem is not None
    assert "exists but is not a directory" in problem


def test_an_existing_writable_state_dir_has_no_problem_and_keeps_its_files(
        tmp_path: Path) -> None:
    (tmp_path / "inbox.db").write_bytes(b"")
    assert state_dir_problem(tmp_path) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inbox.db"]
