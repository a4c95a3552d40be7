"""The daemon (a real subprocess) when its inbox is lost, damaged or cannot be written, and
when it starts from LATEST with no checkpoint. Waits poll conditions against deadlines."""

from __future__ import annotations

import os
import re
import resource
import sqlite3
import threading
from pathlib import Path

import pytest
from svc_rig import Rig, RigFactory
from svc_waiting import wait_until

from benchmarks.rig import TRIAL_TOPIC
from emulator.pubsub.subscribe import StreamSettings
from service.config import inbox_path
from service.state_guard import IDENTITY_NAME


def _inbox_files(rig: Rig) -> list[Path]:
    path = inbox_path(rig.state)
    return [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm")]


def _fill_and_stop(rig: Rig, events: int) -> None:
    daemon = rig.daemon()
    wait_until(rig.ready, 30, what="READY=1")
    rig.publisher.publish(events)
    wait_until(lambda: rig.stored() >= events, 30, what=f"{events} events stored")
    assert daemon.terminate(timeout_s=10) == 0


def _error_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if " ERROR " in line]


def test_a_lost_inbox_refuses_to_start_until_reset_deliberately(rig: Rig) -> None:
    _fill_and_stop(rig, 5)
    assert (rig.state / IDENTITY_NAME).exists()
    for file in _inbox_files(rig):
        file.unlink(missing_ok=True)

    refused = rig.daemon()
    assert refused.wait(30) == 78, "a lost inbox must not silently replay from EARLIEST"
    [error] = _error_lines(refused.log_text())
    assert "is missing" in error
    assert "--reset-inbox" in error
    assert not inbox_path(rig.state).exists()

    reset = rig.daemon(args=("--reset-inbox",))
    wait_until(rig.ready, 30, what="READY=1 after --reset-inbox")
    wait_until(lambda: rig.stored() >= 5, 30, what="the retained events again")
    assert reset.terminate(timeout_s=10) == 0
    assert "--reset-inbox: using a new, empty inbox" in reset.log_text()

    normal = rig.daemon()  # the new inbox is now the state directory's inbox
    wait_until(rig.ready, 30, what="READY=1 on the adopted inbox")
    assert normal.terminate(timeout_s=10) == 0


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_inbox_exits_78_with_a_clear_message(rig: Rig, damage: str) -> None:
    _fill_and_stop(rig, 400)
    path = inbox_path(rig.state)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for file in _inbox_files(rig)[1:]:
        file.unlink(missing_ok=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else os.urandom(8192))

    daemon = rig.daemon()
    assert daemon.wait(30) == 78
    [error] = _error_lines(daemon.log_text())
    assert "not a usable inbox" in error
    assert "--reset-inbox" in error


def test_a_full_disk_pauses_intake_alerts_once_and_resumes_with_room_again(rig: Rig) -> None:
    """Disk full (the kernel's file size limit on the running daemon: SQLite gets EFBIG): the
    daemon used to exit 1, which under Restart=on-failure crash-loops into ``failed`` while
    the disk stays full. Now it keeps running, holds the checkpoint at the last stored event,
    warns once, and once the limit is lifted stores every event, in order, by itself."""
    daemon = rig.daemon()
    wait_until(rig.ready, 30, what="READY=1")
    rig.publisher.publish(100)
    wait_until(lambda: rig.stored() >= 100, 30, what="100 events stored")
    limit = max(f.stat().st_size for f in _inbox_files(rig) if f.exists()) + 8192
    _, hard = resource.prlimit(daemon.pid, resource.RLIMIT_FSIZE)
    resource.prlimit(daemon.pid, resource.RLIMIT_FSIZE, (limit, hard))
    for _ in range(15):
        rig.publisher.publish(200)
    wait_until(lambda: "intake paused" in daemon.log_text(), 60, what="the pause WARNING")
    held = rig.stored()
    assert held < 3100
    stored = rig.entries()
    assert [e for e, _ in stored] == rig.publisher.event_ids[: len(stored)]
    assert rig.checkpoint() == stored[-1][1], "the checkpoint passed or lagged the inbox"
    assert daemon.proc is not None
    assert daemon.proc.poll() is None, "a full disk must not stop the daemon"

    resource.prlimit(daemon.pid, resource.RLIMIT_FSIZE, (hard, hard))  # room again
    wait_until(lambda: rig.stored() >= 3100, 90, what="every event once there is room")
    # The episode ends when the apply loop, if it was refused too, marked a cycle done again
    # (after its backoff, at most [apply] backoff_max_s).
    wait_until(lambda: "inbox writable again after" in daemon.log_text(), 90,
               what="the episode's end")
    assert daemon.terminate(timeout_s=10) == 0
    assert [e for e, _ in rig.entries()] == rig.publisher.event_ids
    log = daemon.log_text()
    assert _error_lines(log) == []
    [warning] = [line for line in log.splitlines() if "the disk refused" in line]
    assert " WARNING " in warning


def test_a_latest_start_is_loud_and_a_restart_before_its_checkpoint_louder(
    make_rig: RigFactory, subscribed: list[threading.Event]
) -> None:
    rig = make_rig(StreamSettings(keepalive_s=60.0, idle_timeout_s=120.0))  # no keepalive
    env = {"LIFECYCLE_SYNC_PUBSUB_START_FROM": "latest", "LIFECYCLE_SYNC_PUBSUB_TOPICS":
           TRIAL_TOPIC, "LIFECYCLE_SYNC_PUBSUB_KEEPALIVE_S": "120"}
    rig.publisher.publish(3)  # before the first start: never wanted
    first = rig.daemon(**env)
    assert subscribed[0].wait(30)
    wait_until(lambda: re.search(r" WARNING .*LATEST without a checkpoint.*may be skipped",
                                 first.log_text()), 10, what="the WARNING")
    assert f"jump:{TRIAL_TOPIC}" in rig.meta(), "the LATEST decision must be durable"
    assert first.terminate(timeout_s=10) == 0

    second = rig.daemon(**env)
    assert subscribed[1].wait(30)
    wait_until(lambda: re.search(r" ERROR .*LATEST again.*may have been skipped",
                                 second.log_text()), 10, what="the ERROR for the repeat")
    rig.publisher.publish(2)
    wait_until(lambda: rig.stored() >= 2, 30, what="the events after the restart")
    assert rig.checkpoint() == rig.publisher.replay_ids[-1]
    assert f"jump:{TRIAL_TOPIC}" not in rig.meta()
    assert second.terminate(timeout_s=10) == 0

    third = rig.daemon(**env)
    assert subscribed[2].wait(30)
    wait_until(lambda: "subscribing from CUSTOM" in third.log_text(), 10, what="a resume")
    assert third.terminate(timeout_s=10) == 0
    assert "LATEST" not in third.log_text()
    assert [e for e, _ in rig.entries()] == rig.publisher.event_ids[3:]
