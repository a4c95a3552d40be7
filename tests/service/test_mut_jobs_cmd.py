"""``forget`` asks on a terminal before erasing, and ``jobs list`` shows no next run when the
scheduler is off (the CLI as a child process; a real pseudo-terminal for the question).
Mutation testing found the accepted answers and the disabled schedule unpinned."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path

import pytest
from helpers.children import run_cli

from emulator.server import Emulator
from service.cli import main


def forget_answering(emulator: Emulator, tmp_path: Path, answer: str
                     ) -> subprocess.CompletedProcess[str]:
    """``forget`` with a terminal on stdin that has ``answer`` typed in already."""
    info = tmp_path / "info.json"
    emulator.write_info(info)
    controller, terminal = pty.openpty()
    try:
        os.write(controller, answer.encode() + b"\n")
        return run_cli("forget", "--email", "gone@acme.example", "--emulator-info", str(info),
                       "--state", str(tmp_path / "state"), stdin=terminal, timeout_s=120)
    finally:
        os.close(terminal)
        os.close(controller)


@pytest.mark.parametrize("answer", ["y", "yes", " YES "])
def test_forget_erases_when_the_terminal_answers_yes(emulator: Emulator, tmp_path: Path,
                                                      answer: str) -> None:
    done = forget_answering(emulator, tmp_path, answer)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        f"Erase gone@acme.example from {tmp_path / 'state'} and from parked Salesforce rows? "
        "[y/N] erased from 0 inbox entries and 0 Event_Cache__c rows; ")


@pytest.mark.parametrize("answer", ["", "n", "yess"])
def test_forget_changes_nothing_unless_the_answer_is_yes(emulator: Emulator, tmp_path: Path,
                                                          answer: str) -> None:
    done = forget_answering(emulator, tmp_path, answer)
    assert done.returncode == 1
    assert done.stderr == "lifecycle-sync: not confirmed; nothing was changed\n"
    assert not (tmp_path / "state" / "jobs.db").exists()


def test_jobs_list_shows_no_next_run_while_the_scheduler_is_off(emulator: Emulator,
                                                                 tmp_path: Path) -> None:
    info = tmp_path / "info.json"
    emulator.write_info(info)
    done = run_cli("jobs", "list", "--json", "--emulator-info", str(info), "--state",
                   str(tmp_path / "state"), env={"LIFECYCLE_SYNC_SCHEDULER_ENABLED": "false"})
    assert done.returncode == 0, done.stderr
    jobs = json.loads(done.stdout)["jobs"]
    assert [job["next_run"] for job in jobs] == [None] * 4
    assert [job["runs"] for job in jobs] == [0] * 4


def test_jobs_run_without_a_name_lists_the_jobs_and_exits_64(
        emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    info = tmp_path / "info.json"
    emulator.write_info(info)
    code = main(["jobs", "run", "--emulator-info", str(info), "--state", str(tmp_path / "s")])
    out = capsys.readouterr()
    assert code == 64
    assert out.err == ("lifecycle-sync: jobs run: name a job: retry-parked, trial-alerts, "
                       "retention, reconcile-gaps\n")


def test_jobs_run_refuses_a_damaged_jobs_file_and_says_how_to_recover(
        emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    info = tmp_path / "info.json"
    emulator.write_info(info)
    state = tmp_path / "s"
    state.mkdir(mode=0o700)
    (state / "jobs.db").write_bytes(b"not a database, overwritten " * 100)
    code = main(["jobs", "run", "retention", "--emulator-info", str(info), "--state",
                 str(state)])
    err = capsys.readouterr().err
    assert code == 78
    assert err.startswith("lifecycle-sync: refusing to run: ")
    assert "jobs.db" in err
