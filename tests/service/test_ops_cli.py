"""The admin's commands against the emulator, as subprocesses: publish, replay."""

from __future__ import annotations

import subprocess
import sys

from svc_rig import ROOT, Rig
from svc_waiting import wait_until

from benchmarks.rig import TRIAL_TOPIC, child_env


def cli(rig: Rig, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args, "--emulator-info", str(rig.info_file),
         "--state", str(rig.state)], cwd=ROOT, capture_output=True, text=True, timeout=60,
        input=stdin, check=False, env=child_env(env))


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


def _pending(rig: Rig) -> int:
    from service.config import inbox_path
    from subscriber.events import EntryStatus
    from subscriber.inbox import Inbox

    with Inbox.open_readonly(inbox_path(rig.state)) as inbox:
        return len(inbox.entries(EntryStatus.PENDING, limit=1000, topic=TRIAL_TOPIC))


def test_review_lists_shows_retries_and_dismisses_parked_events(rig: Rig) -> None:
    daemon = rig.daemon()
    rig.publisher.publish(3)  # Trial, Conversion, Churn with invalid Event_Data__c
    wait_until(lambda: rig.stored() == 3 and _pending(rig) == 0, 60, what="3 parked")
    assert daemon.terminate(20) == 0
    listed = cli(rig, "review", "list")
    assert listed.returncode == 0, listed.stderr
    assert "3 need review" in listed.stdout
    uuids = [line.split()[0] for line in listed.stdout.splitlines()[1:4]]
    shown = cli(rig, "review", "show", uuids[0])
    assert shown.returncode == 0, shown.stderr
    assert f"Event_Uuid__c: {uuids[0]}" in shown.stdout
    assert "what to do: the producer sent invalid data" in shown.stdout
    shadow = {"LIFECYCLE_SYNC_SERVICE_MODE": "shadow"}
    for action in ("retry", "dismiss"):
        piloted = cli(rig, "review", action, uuids[0], env=shadow)
        assert piloted.returncode == 0, piloted.stderr
        assert piloted.stdout.startswith("shadow mode: nothing written; live mode would "
                                         "upsert Event_Cache__c")
    assert "3 need review" in cli(rig, "review", "list").stdout  # the org unchanged
    paged = cli(rig, "review", "list", "--limit", "2")
    assert "showing 1-2 of 3 that need review; use --limit/--offset" in paged.stdout
    rest = cli(rig, "review", "list", "--limit", "2", "--offset", "2")
    assert "showing 3-3 of 3" in rest.stdout
    assert uuids[2] in rest.stdout
    retried = cli(rig, "review", "retry", uuids[0])
    assert retried.returncode == 0, retried.stderr
    assert "handed back to retry-parked" in retried.stdout
    dismissed = cli(rig, "review", "dismiss", uuids[1])
    assert dismissed.returncode == 0, dismissed.stderr
    after = cli(rig, "review", "list")
    assert "1 need review" in after.stdout
    assert uuids[2] in after.stdout
    assert cli(rig, "review", "show", uuids[1]).returncode == 1  # no longer needs review
    assert cli(rig, "review", "show", "it's'; DROP").returncode == 1  # escaped, not found
    assert cli(rig, "review", "retry").returncode == 64
