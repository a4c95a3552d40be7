"""The admin's commands against the emulator, as subprocesses: publish, replay."""

from __future__ import annotations

import subprocess
import sys

from svc_rig import ROOT, Rig
from svc_waiting import wait_until

from benchmarks.rig import TRIAL_TOPIC


def cli(rig: Rig, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args, "--emulator-info", str(rig.info_file),
         "--state", str(rig.state)], cwd=ROOT, capture_output=True, text=True, timeout=60,
        input=stdin, check=False)


def test_publish_prints_the_replay_id_the_daemon_then_lands(rig: Rig) -> None:
    done = cli(rig, "publish", "trial", "--workspace-id", "ws-cli-1", "--email",
               "pat@acme.example", "--at", "2026-11-30T09:00:00Z")
    assert done.returncode == 0, done.stderr
    replay_hex = done.stdout.strip().rsplit(" ", 1)[-1]
    assert done.stdout.startswith("published Trial for workspace ws-cli-1: replay ID ")
    rig.daemon()
    wait_until(lambda: rig.stored() and any(r.hex() == replay_hex for _, r in rig.entries()), 60,
               what="the published event in the inbox")


def test_publish_refuses_bad_input_with_exit_64(rig: Rig) -> None:
    for extra in (("--data", "[1]"), ("--data", "{bad"), ("--at", "yesterday")):
        done = cli(rig, "publish", "churn", "--workspace-id", "w", "--email", "a@b.example",
                   *extra)
        assert done.returncode == 64, (extra, done.stderr)


def test_replay_refuses_while_the_daemon_runs_then_moves_with_confirmation(rig: Rig) -> None:
    daemon = rig.daemon()
    rig.publisher.publish(5)
    wait_until(lambda: rig.stored() == 5, 60, what="5 events landed")
    running = cli(rig, "replay", "--topic", TRIAL_TOPIC, "--from", "earliest", "--yes")
    assert running.returncode == 75, running.stderr
    assert "Stop the daemon first" in running.stderr
    assert daemon.terminate(20) == 0
    before = rig.checkpoint()

    unconfirmed = cli(rig, "replay", "--topic", TRIAL_TOPIC, "--from", "earliest", stdin="y\n")
    assert unconfirmed.returncode == 1  # stdin is not a terminal: --yes is required
    assert rig.checkpoint() == before

    first = rig.publisher.replay_ids[0]
    moved = cli(rig, "replay", "--topic", TRIAL_TOPIC, "--from", first.hex(), "--yes")
    assert moved.returncode == 0, moved.stderr
    assert rig.checkpoint() == first

    earliest = cli(rig, "replay", "--topic", TRIAL_TOPIC, "--from", "earliest", "--yes")
    assert earliest.returncode == 0, earliest.stderr
    again = rig.daemon()
    wait_until(lambda: rig.checkpoint() == rig.publisher.replay_ids[-1], 60,
               what="the stream caught up again")
    assert again.terminate(20) == 0
    assert len(rig.entries()) == 5  # delivered again, deduplicated: nothing twice
    assert "as `lifecycle-sync replay` asked" in again.log_file.read_text()

    for bad in ("somewhere", ""):
        assert cli(rig, "replay", "--topic", TRIAL_TOPIC, "--from", bad, "--yes"
                   ).returncode == 64
    assert cli(rig, "replay", "--topic", "/event/Nope__e", "--from", "latest", "--yes"
               ).returncode == 64
