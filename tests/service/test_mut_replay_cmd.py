"""``lifecycle-sync replay`` as the operator reads it: the question and the confirmation name
where the topic resumes and where it was (a real inbox file; in process, and once on a real
pseudo-terminal). Mutation testing found the "was" part unpinned."""

from __future__ import annotations

import os
import pty
from pathlib import Path

import pytest
from helpers.children import run_cli

from emulator.server import Emulator
from service.cli import main
from service.config import inbox_path
from subscriber.inbox import Inbox

TOPIC = "/event/SelfServeTrialEvent__e"


@pytest.fixture
def info(emulator: Emulator, tmp_path: Path) -> Path:
    path = tmp_path / "info.json"
    emulator.write_info(path)
    return path


def state_with_checkpoint(tmp_path: Path, replay_id: bytes | None) -> Path:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    with Inbox(inbox_path(state)) as inbox:
        if replay_id is not None:
            inbox.set_checkpoint(TOPIC, replay_id)
    return state


def test_replay_says_where_the_topic_resumes_and_where_it_was(
        info: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = state_with_checkpoint(tmp_path, b"\x00\xff")
    code = main(["replay", "--topic", TOPIC, "--from", "0a0b", "--yes",
                 "--emulator-info", str(info), "--state", str(state)])
    assert code == 0
    assert capsys.readouterr().out == (
        f"{TOPIC}: resumes from after replay ID 0a0b at the next start (was 00ff)\n")
    with Inbox(inbox_path(state)) as inbox:
        assert inbox.checkpoint(TOPIC).replay_id == b"\x0a\x0b"


def test_replay_without_a_checkpoint_says_there_was_none(
        info: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = state_with_checkpoint(tmp_path, None)
    code = main(["replay", "--topic", TOPIC, "--from", "earliest", "--yes",
                 "--emulator-info", str(info), "--state", str(state)])
    assert code == 0
    assert capsys.readouterr().out == (
        f"{TOPIC}: resumes from earliest at the next start (was (no checkpoint yet))\n")


def test_replay_off_a_terminal_asks_nothing_and_moves_nothing(
        info: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = state_with_checkpoint(tmp_path, b"\x00\xff")
    code = main(["replay", "--topic", TOPIC, "--from", "latest",
                 "--emulator-info", str(info), "--state", str(state)])
    assert code == 1
    assert capsys.readouterr().err == (
        f"Move {TOPIC} from 00ff to latest? Not asked: stdin is not a terminal; pass --yes\n"
        "not moved\n")
    with Inbox(inbox_path(state)) as inbox:
        assert inbox.checkpoint(TOPIC).replay_id == b"\x00\xff"


@pytest.mark.parametrize(("answer", "moved"), [("yes", True), ("n", False)])
def test_replay_on_a_terminal_moves_only_when_the_answer_is_yes(
        info: Path, tmp_path: Path, answer: str, moved: bool) -> None:
    state = state_with_checkpoint(tmp_path, b"\x00\xff")
    controller, terminal = pty.openpty()
    try:
        os.write(controller, answer.encode() + b"\n")
        done = run_cli("replay", "--topic", TOPIC, "--from", "0a0b", "--emulator-info",
                       str(info), "--state", str(state), stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)
    assert done.stdout.startswith(f"Move {TOPIC} from 00ff to after replay ID 0a0b? [y/N] ")
    assert done.returncode == (0 if moved else 1), done.stderr
    with Inbox(inbox_path(state)) as inbox:
        assert inbox.checkpoint(TOPIC).replay_id == (b"\x0a\x0b" if moved else b"\x00\xff")
