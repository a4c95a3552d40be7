"""Each topic's connection state as ``status`` reads it from ``STATE/connection.json`` (a real
file): failures counted with the cause inside a login backoff, a warning only when the
failure changes, the error hidden once connected (mutation testing found these unpinned)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from service.connection_state import (
    ConnectionTracker,
    failure_kind,
    read_connection_state,
    underlying_cause,
)

# _connection_line, private: `status` prints it only while a daemon holds the state lock
# (test_mut_status_cmd.py goes through that for one line); here the saved state is fed to
# it directly, to pin each state's wording.
from service.status_cmd import _connection_line

TOPIC = "/event/SelfServeTrialEvent__e"
BACKOFF = ("login failed 3 time(s) in a row (last: invalid_grant: expired access/refresh "
           "token); next attempt in 40.0s")


class Clock:
    def __init__(self) -> None:
        self.now = 1_796_029_200.0

    def __call__(self) -> float:
        return self.now


def test_a_login_backoff_is_reported_as_the_failure_inside_it() -> None:
    assert underlying_cause(BACKOFF) == ("invalid_grant: expired access/refresh token", 40.0)
    assert underlying_cause("UNAVAILABLE: connection refused") == (
        "UNAVAILABLE: connection refused", 0.0)
    assert failure_kind("refused after 1.5 s") == failure_kind("refused after 20 s")


def test_failures_are_counted_and_saved_for_status_with_their_cause(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    tracker = ConnectionTracker([TOPIC], tmp_path, clock)
    with caplog.at_level(logging.DEBUG, "lifecycle_sync"):
        tracker.failed(TOPIC, "UNAVAILABLE: connection refused after 1.5 s", 2.0)
        clock.now += 10
        tracker.failed(TOPIC, "UNAVAILABLE: connection refused after 3.0 s", 4.0)
        clock.now += 10
        tracker.failed(TOPIC, BACKOFF, 1.0)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # the second refusal is the same failure: DEBUG only
    assert warnings[1].endswith("invalid_grant: expired access/refresh token (retrying with "
                                "backoff, next attempt in 40.0 s; logged again only if the "
                                "failure changes)")
    saved = read_connection_state(tmp_path)
    assert saved is not None
    topic = saved["topics"][TOPIC]
    assert (topic["state"], topic["failures"], topic["since"]) == ("failing", 3,
                                                                   1_796_029_200.0)
    assert topic["last_error"] == "invalid_grant: expired access/refresh token"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["connection.json"]
    topic["since_s"] = 20.0
    assert _connection_line(TOPIC, topic) == (
        f"  {TOPIC}: failing since 2026-11-30T09:00:00+00:00 (for 20 s), 3 failed "
        "attempt(s), last: invalid_grant: expired access/refresh token")


def test_once_connected_status_shows_no_old_error(tmp_path: Path) -> None:
    clock = Clock()
    tracker = ConnectionTracker([TOPIC], tmp_path, clock)
    tracker.failed(TOPIC, "UNAVAILABLE: connection refused", 1.0)
    clock.now += 5
    tracker.connected(TOPIC)
    saved = read_connection_state(tmp_path)
    assert saved is not None
    topic = saved["topics"][TOPIC]
    assert (topic["state"], topic["failures"], topic["since"]) == ("connected", 0,
                                                                   1_796_029_205.0)
    assert topic["last_error"] == "UNAVAILABLE: connection refused"  # kept, not shown
    assert _connection_line(TOPIC, topic) == f"  {TOPIC}: connected"


def test_a_topic_first_heard_of_in_a_report_is_tracked_and_saved(tmp_path: Path) -> None:
    clock = Clock()
    tracker = ConnectionTracker([], tmp_path, clock)
    tracker.failed(TOPIC, "UNAVAILABLE: connection refused", 1.0)
    saved = read_connection_state(tmp_path)
    assert saved is not None
    assert saved["topics"][TOPIC]["state"] == "failing"
    assert saved["topics"][TOPIC]["failures"] == 1
