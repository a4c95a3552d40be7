"""Readiness and systemd's STATUS line as an operator or a probe sees them: /readyz 200 with
``ready``, /healthz and /metrics with a query string, 404 naming the paths (real HTTP, in
process), apply judged stuck only past ``stuck_after_s``, and the STATUS line's inbox figures
from a real SQLite file (mutation testing found these unpinned)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

from helpers.decoded_events import trial_event
from prometheus_client import CollectorRegistry

from service.health import Health, HealthServer, status_line
from subscriber.inbox import Inbox

DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy from the env
TOPIC = "/event/SelfServeTrialEvent__e"


class Ready:
    def problems(self) -> list[str]:
        return []


class Apply:
    def __init__(self) -> None:
        self.cycles = 0

    def waiting_by_design(self) -> bool:
        return False



def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with DIRECT.open(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_readyz_healthz_and_unknown_paths_answer_as_documented() -> None:
    server = HealthServer(0, CollectorRegistry(), Ready()).start()
    try:
        assert get(server.port, "/readyz") == (200, b"ready\n")
        assert get(server.port, "/healthz?probe=1") == (200, b"ok\n")
        assert get(server.port, "/metrics?name[]=x")[0] == 200
        assert get(server.port, "/") == (404, b"not found: try /metrics, /healthz or /readyz\n")
    finally:
        server.close()


def test_the_status_line_counts_the_inbox_by_status(tmp_path: Path) -> None:
    with Inbox(tmp_path / "inbox.db") as inbox:
        inbox.store_batch(TOPIC, [trial_event(n) for n in (1, 2, 3)], (3).to_bytes(4, "big"))
        first = inbox.pending()[0].id
        inbox.mark_applied([first])
    line = status_line({TOPIC: [3, 0]}, tmp_path / "inbox.db", [])
    assert line == "ready; landed 3 this run; inbox: 2 pending, 1 applied, 0 parked, 0 failed"
    assert status_line({}, tmp_path / "inbox.db", ["not subscribed: x", "stale"]).startswith(
        "NOT READY (not subscribed: x; stale); landed 0 this run; inbox: 2 pending")


def test_a_pending_entry_younger_than_stuck_after_s_is_not_apply_stuck(tmp_path: Path) -> None:
    with Inbox(tmp_path / "inbox.db") as inbox:
        inbox.store_batch(TOPIC, [trial_event(1)], (1).to_bytes(4, "big"))
    now = [1_000.0]
    health = Health([TOPIC], tmp_path / "inbox.db", Apply(), lambda: True, stuck_after_s=60.0,
                    clock=lambda: now[0])
    assert health.problems() == [f"not subscribed: {TOPIC}"]
    health.subscribed(TOPIC)
    now[0] += 3_600.0  # no cycle for an hour, but the entry landed just now
    assert health.apply_stuck() == ""
    assert health.problems() == []
    assert health.problems(stuck="apply stuck: x") == ["apply stuck: x"]


def test_an_entry_stamped_ahead_of_this_clock_counts_as_zero_seconds_old(tmp_path: Path) -> None:
    with Inbox(tmp_path / "inbox.db", clock=lambda: time.time() + 3_600.0) as inbox:
        inbox.store_batch(TOPIC, [trial_event(1)], (1).to_bytes(4, "big"))
    health = Health([TOPIC], tmp_path / "inbox.db", Apply(), lambda: True)
    assert health.oldest_pending_s() == 0.0  # a clock step back never makes a negative age
    Inbox(tmp_path / "empty.db").close()
    assert Health([TOPIC], tmp_path / "empty.db", Apply(), lambda: True).oldest_pending_s() \
        is None
