"""The daemon as a real subprocess against the emulator: kill -9, SIGTERM, the lock, status.

Events are published over gRPC ``Publish`` from the test; the inbox is read read-only. Every
wait polls a condition against a deadline (:func:`wait_until`).
"""

from __future__ import annotations

import json
import os
import random
import re
import socket
import sqlite3
import threading
from pathlib import Path

import pytest
from helpers.children import run_cli
from svc_rig import Rig
from svc_waiting import wait_until

from benchmarks.rig import TRIAL_TOPIC
from service.config import inbox_path
from subscriber.inbox import Inbox
from subscriber.inbox_file import readonly_uri


def _totals(log: str) -> tuple[int, int]:
    """(stored, duplicates) for the trial topic from the daemon's last ``totals:`` line."""
    found = re.findall(rf"{re.escape(TRIAL_TOPIC)} stored=(\d+) duplicates=(\d+)", log)
    assert found, log[-2000:]
    return int(found[-1][0]), int(found[-1][1])


def _assert_inbox_exact(rig: Rig) -> None:
    entries = rig.entries()
    assert len(entries) == len(rig.publisher.event_ids)
    assert [e for e, _ in entries] == rig.publisher.event_ids  # each once, in replay order
    assert [r for _, r in entries] == rig.publisher.replay_ids
    uri = readonly_uri(inbox_path(rig.state))
    with sqlite3.connect(uri, uri=True) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def _publish_paced(rig: Rig, total: int, lead: int) -> None:
    """Publish in batches of 200, never more than ``lead`` events ahead of the inbox, so the
    kills land while publishing is still going on."""
    while len(rig.publisher.event_ids) < total:
        wait_until(lambda: len(rig.publisher.event_ids) - rig.stored() <= lead, 60,
                   what="the daemon to catch up")
        rig.publisher.publish(200)


def test_kill_9_at_random_points_loses_and_duplicates_nothing(rig: Rig) -> None:
    """Each kill lands after a random amount of progress, or (one in four) during start-up.

    The seed is printed; ``KILL_SEED=...`` reproduces a run's kill points.
    """
    total, kills = 5000, 12
    seed = int(os.environ.get("KILL_SEED", random.randrange(1 << 30)))
    print(f"KILL_SEED={seed}", flush=True)  # before anything can fail: shown with a failure
    rng = random.Random(seed)
    killed_at: list[int] = []
    publishing = threading.Thread(target=_publish_paced, args=(rig, total, 600))
    daemon = rig.daemon()
    publishing.start()
    try:
        for _ in range(kills):
            if rng.random() >= 0.25:
                target = min(rig.stored() + rng.randint(1, 500), total - 1)
                wait_until(lambda t=target: rig.stored() >= t, 60, what=f"{target} stored")
            daemon.kill()
            killed_at.append(rig.stored())
            daemon = rig.daemon()
    finally:
        publishing.join(90)
    assert not publishing.is_alive(), "publishing did not finish"
    wait_until(lambda: rig.stored() >= total, 60, what="all events stored")
    wait_until(rig.ready, 30, what="the last daemon to be ready")
    assert daemon.terminate(timeout_s=10) == 0
    print(f"killed with {killed_at} events stored")
    _assert_inbox_exact(rig)
    assert rig.checkpoint() == rig.publisher.replay_ids[-1]


def test_sigterm_stops_within_10_s_and_restart_redelivers_nothing(rig: Rig) -> None:
    daemon = rig.daemon()
    wait_until(rig.ready, 30, what="READY=1")
    for _ in range(5):
        rig.publisher.publish(200)
    wait_until(lambda: rig.stored() >= 300, 30, what="part of the stream stored")
    assert daemon.terminate(timeout_s=10) == 0  # README's deadline; raises past it
    assert rig.notifies[-1].seen("STOPPING=1")
    stored_first = rig.stored()
    assert rig.checkpoint() == rig.publisher.replay_ids[stored_first - 1]

    second = rig.daemon()
    rig.publisher.publish(200)  # new events land after anything redelivered would
    wait_until(lambda: rig.stored() >= 1200, 30, what="the rest stored")
    wait_until(rig.ready, 30, what="READY=1 again")
    assert second.terminate(timeout_s=10) == 0
    assert _totals(second.log_text()) == (1200 - stored_first, 0)
    _assert_inbox_exact(rig)


def test_second_instance_is_refused_and_status_reads_beside_it(rig: Rig) -> None:
    first = rig.daemon(WATCHDOG_USEC="200000")
    wait_until(rig.ready, 30, what="READY=1")
    wait_until(lambda: rig.notifies[0].seen("WATCHDOG=1"), 10, what="a watchdog ping")
    rig.publisher.publish(50)
    wait_until(lambda: rig.stored() >= 50, 30, what="50 events stored")
    second = rig.daemon()
    assert second.wait(30) == 75
    assert f"PID {first.pid}" in second.log_text()
    done = run_cli("status", "--state", str(rig.state), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["daemon_pid"] == first.pid
    trial = report["topics"][TRIAL_TOPIC]
    assert trial["pending"] + trial["applied"] + trial["poison"] == 50  # the apply loop runs
    assert trial["replay_id"] == rig.publisher.replay_ids[-1].hex()
    assert first.terminate(timeout_s=10) == 0


@pytest.mark.parametrize("auth", ["jwt", "client_credentials", "password", "static_token"])
def test_every_auth_mode_lands_events(rig: Rig, auth: str) -> None:
    daemon = rig.daemon(auth=auth)
    wait_until(rig.ready, 30, what="READY=1")
    rig.publisher.publish(10)
    wait_until(lambda: rig.stored() >= 10, 30, what="10 events stored")
    assert daemon.terminate(timeout_s=10) == 0
    log = daemon.log_text()
    assert f"auth {auth}" in log
    info = json.loads(rig.info_file.read_text())
    for secret in ("access_token", "client_secret", "password"):
        assert info[secret] not in log
    assert "BEGIN" not in log
    assert info["username"] not in log  # no email addresses at INFO and above


def test_run_with_bad_config_names_every_key(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[service]\nstate_dir = "x"\n[auth]\nmode = "jwt"\npassword = "p"\n'
                      '[pubsub]\nbatch_size = 0\n')
    done = run_cli("run", "--config", str(config))
    assert done.returncode == 78
    for key in ("auth.password:", "pubsub.batch_size:", "auth.client_id:", "auth.username:",
                "auth.private_key:"):
        assert key in done.stderr
    assert not (tmp_path / "x").exists()


def test_a_topic_the_user_may_not_subscribe_to_exits_78(deny_subscribe: set[str], rig: Rig
                                                       ) -> None:
    """README: permission errors stop the daemon with exit code 78 (no restart loop)."""
    deny_subscribe.add(TRIAL_TOPIC)
    daemon = rig.daemon()
    assert daemon.wait(timeout_s=30) == 78
    log = daemon.log_text()
    assert f"cannot subscribe to {TRIAL_TOPIC}" in log, log
    assert "resubscribing" not in log


def test_rejected_credentials_exit_78(rig: Rig) -> None:
    """README: rejected credentials are a fatal condition a restart cannot fix: exit 78."""
    daemon = rig.daemon(auth="client_credentials",
                        LIFECYCLE_SYNC_AUTH_CLIENT_ID="3MVG9-not-this-org")
    assert daemon.wait(timeout_s=30) == 78
    log = daemon.log_text()
    assert "login rejected" in log, log
    assert "invalid_client" in log
    assert json.loads(rig.info_file.read_text())["client_secret"] not in log


def test_a_refused_replay_id_exits_78_under_the_default_fail_policy(rig: Rig) -> None:
    """README: on_invalid_replay = fail (default) stops and tells a human: exit 78, the stored
    checkpoint untouched so nothing is skipped silently."""
    first = rig.daemon()
    wait_until(rig.ready, 30, what="READY=1")
    wait_until(lambda: rig.stored() == 0 and rig.checkpoint() is not None, 30,
               what="a first checkpoint")
    assert first.terminate(timeout_s=10) == 0
    bogus = bytes.fromhex("00000001deadbeef0000")
    with Inbox(inbox_path(rig.state)) as inbox:
        inbox.advance_checkpoint(TRIAL_TOPIC, bogus)
    second = rig.daemon()
    assert second.wait(timeout_s=30) == 78
    assert "replay" in second.log_text().lower()
    assert rig.checkpoint() == bogus


def test_unknown_topic_is_fatal_and_exits_78_so_systemd_does_not_retry(rig: Rig) -> None:
    daemon = rig.daemon(LIFECYCLE_SYNC_PUBSUB_TOPICS="/event/NoSuchEvent__e")
    assert daemon.wait(timeout_s=30) == 78
    log = daemon.log_text()
    assert "Fatal" in log, log  # met at run time (GetTopic), not a configuration error
    assert "NoSuchEvent__e" in log


def test_a_metrics_port_already_taken_exits_78_with_the_intake_stopped(rig: Rig) -> None:
    """The port is bound while the intake already runs (it starts first): a taken port must
    stop that intake (its batch in hand committed) and exit 78 with what to change, not raise
    an OSError past the start-up guard with the intake still landing events."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        daemon = rig.daemon(LIFECYCLE_SYNC_METRICS_PORT=str(port))
        assert daemon.wait(timeout_s=30) == 78
    log = daemon.log_text()
    assert f"cannot serve metrics and health on 127.0.0.1:{port}" in log, log
    assert "[metrics] port" in log
    assert "Traceback" not in log, log
    stopped, refused = log.index("intake stopped"), log.index("cannot serve metrics")
    assert stopped < refused, "the intake is stopped and joined before the daemon exits"
