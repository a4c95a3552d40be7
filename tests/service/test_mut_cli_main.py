"""The CLI when its reader goes away (``lifecycle-sync status | head`` that has already
exited): exit 141 like a shell's SIGPIPE, no traceback, and stdout pointed at /dev/null so
the interpreter's final flush cannot raise (in process, a real closed pipe; mutation testing
found this unpinned)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from service.cli import main
from subscriber.inbox import Inbox


def test_a_command_whose_reader_has_gone_exits_141_quietly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Inbox(tmp_path / "inbox.db").close()
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write now fails with EPIPE
    with os.fdopen(write_end, "w") as closed:
        monkeypatch.setattr(sys, "stdout", closed)
        assert main(["status", "--state", str(tmp_path)]) == 141
        closed.write("the interpreter's final flush\n")
        closed.flush()  # stdout now points at /dev/null: nothing raises
