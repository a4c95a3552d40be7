"""Guards of the admin's commands, in process (no Salesforce needed for what they refuse):
``replay`` opens the inbox through the identity guard; shadow mode writes nothing from
``review retry|dismiss`` or ``jobs run``."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.cli import main
from service.config import inbox_path
from service.state_guard import open_inbox
from subscriber.inbox import Inbox

TOPIC = "/event/SelfServeTrialEvent__e"
CONFIG = """
[service]
state_dir = "{state}"
mode = "{mode}"
[auth]
mode = "static_token"
instance_url = "https://127.0.0.1:9"
tenant_id = "00D000000000000EAA"
access_token_file = "token"
[pubsub]
topics = ["{topic}"]
"""


def write_config(tmp_path: Path, mode: str = "live") -> Path:
    (tmp_path / "token").write_text("00Dx!static-token-value")
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.replace("{state}", str(tmp_path / "state"))
                    .replace("{mode}", mode).replace("{topic}", TOPIC))
    return path


def _replay(config: Path) -> int:
    return main(["replay", "--topic", TOPIC, "--from", "0a0b", "--yes", "--config",
                 str(config)])


def test_replay_refuses_a_state_directory_without_its_inbox(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]
                                                            ) -> None:
    config = write_config(tmp_path)
    assert _replay(config) == 78
    assert "is --state right?" in capsys.readouterr().err
    assert not inbox_path(tmp_path / "state").exists()  # no fresh inbox was made


def test_replay_refuses_a_replaced_inbox_and_moves_the_recorded_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    state = tmp_path / "state"
    state.mkdir()
    open_inbox(state, retention_s=60).close()  # the daemon's first start records its identity
    assert _replay(config) == 0
    with Inbox(inbox_path(state)) as inbox:
        assert inbox.checkpoint(TOPIC).replay_id == bytes.fromhex("0a0b")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{inbox_path(state)}{suffix}").unlink(missing_ok=True)
    Inbox(inbox_path(state)).close()  # another inbox put in its place
    assert _replay(config) == 78
    assert "refusing" in capsys.readouterr().err
    with Inbox(inbox_path(state)) as inbox:
        assert inbox.checkpoint(TOPIC).replay_id is None


def test_jobs_run_in_shadow_mode_says_what_it_would_do_and_contacts_nobody(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The config's instance (127.0.0.1:9) answers nobody: a run that tried to reach
    # Salesforce would fail (exit 1). Shadow mode runs nothing and records no run.
    config = write_config(tmp_path, mode="shadow")
    for name in ("retry-parked", "trial-alerts", "retention"):
        assert main(["jobs", "run", name, "--config", str(config)]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"{name}: shadow mode: not run, nothing written; live mode "
                              "would ")
    assert not (tmp_path / "state" / "jobs.db").exists()
    assert main(["jobs", "run", "retention", "--config", str(write_config(tmp_path))]) == 1
