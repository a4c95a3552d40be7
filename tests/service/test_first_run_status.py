"""``status`` as an admin meets it: its options are checked, its messages never contradict
each other. The real CLI in a subprocess."""

from __future__ import annotations

from pathlib import Path

from fr_cli import cli


def test_negative_recent_is_refused(tmp_path: Path) -> None:
    done = cli("status", "--state", str(tmp_path), "--recent", "-2")
    assert done.returncode == 2  # argparse's usage error; was: accepted, listed nothing
    assert "argument --recent: -2 is negative; give 0 or more entries" in done.stderr


def test_damaged_inbox_is_not_called_never_run(tmp_path: Path) -> None:
    (tmp_path / "inbox.db").write_bytes(b"SQLite format 3\x00" + b"overwritten" * 100)
    done = cli("status", "--state", str(tmp_path))
    assert done.returncode == 1
    assert "is not a usable inbox" in done.stderr
    assert "Restore it from a backup" in done.stderr
    assert "no daemon has run" not in done.stderr  # was: appended, contradicting "damaged"
