"""The admin commands report a usage or config problem on stderr, prefixed with the command,
and exit with its sysexits code (in process: mutation testing found these unpinned)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.cli import main


def test_publish_refuses_data_that_is_not_a_json_object(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["publish", "trial", "--workspace-id", "ws-1", "--email", "a@acme.co.uk",
                 "--data", "[1]", "--config", str(tmp_path / "none.toml")])
    out = capsys.readouterr()
    assert code == 64  # EX_USAGE
    assert out.err == "lifecycle-sync publish: --data must be a JSON object\n"
    assert out.out == ""


def test_replay_with_a_missing_config_file_says_so_on_stderr(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "none.toml"
    code = main(["replay", "--topic", "/event/SelfServeTrialEvent__e", "--from", "earliest",
                 "--config", str(missing)])
    out = capsys.readouterr()
    assert code == 78  # EX_CONFIG
    assert out.err.startswith("lifecycle-sync: ")
    assert str(missing) in out.err
    assert out.out == ""
