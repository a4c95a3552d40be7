"""``lifecycle-sync status`` over a whole state directory (a real inbox file with a
checkpoint, a replay gap the reconcile job handled, the apply loop's pause and last error, the
daemon's observability settings and SLA state, a connection file, and the state lock held as a
running daemon holds it): every line of the text, the JSON keys, and exit 3 for a topic
disconnected too long (mutation testing found several of these unpinned)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from pathlib import Path

import pytest
from helpers.decoded_events import trial_event

from service.cli import main
from service.config import inbox_path
from service.connection_state import ConnectionTracker
from service.inbox_backend import OPS_KEY
from service.lifecycle import state_lock
from service.sla import SLA_KEY
from subscriber.events import Checkpoint
from subscriber.gaps import reconciled_key, record_gap
from subscriber.inbox import Inbox

TOPIC = "/event/SelfServeTrialEvent__e"
REFUSED_AT = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)



@pytest.fixture
def state(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    with Inbox(inbox_path(state)) as inbox:
        inbox.store_batch(TOPIC, [trial_event(1), trial_event(2)], (2).to_bytes(4, "big"))
        inbox.mark_applied([inbox.pending()[0].id])
        record_gap(inbox, TOPIC, Checkpoint(b"\x00\x01", None), "earliest",
                   "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted", "rpc-1",
                   now=REFUSED_AT)
        inbox.set_meta(reconciled_key(TOPIC), json.dumps(
            {REFUSED_AT.isoformat(): {"flagged": 2, "at": "2026-11-30T10:00:00+00:00"}}))
        inbox.set_meta("apply:paused", "1")
        inbox.set_meta("apply:last_error", json.dumps({"class": "REQUEST_LIMIT_EXCEEDED",
                                                       "at": "2026-11-30T09:30:00+00:00"}))
        inbox.set_meta(OPS_KEY, json.dumps({"mode": "shadow", "metrics_port": 9464,
                                            "sentry": {"on": False}}))
        inbox.set_meta(SLA_KEY, json.dumps({"breached": True, "since": 0.0,
                                            "reasons": ["pending too long"]}))
    return state


def status(state: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["status", "--state", str(state), *args])
    out = capsys.readouterr()
    assert out.err == ""
    return code, out.out


def test_status_text_shows_every_part_of_the_state(state: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, text = status(state, capsys)
    assert code == 0
    lines = text.splitlines()
    assert lines[0] == f"{state}: no daemon running"
    assert lines[1] == TOPIC
    assert lines[2].startswith("  checkpoint 00000002 at 20")
    assert lines[3].startswith("  pending 1, applied 1, poison 0, oldest pending ")
    assert lines[4:] == [
        f"  GAP: replay ID refused at {REFUSED_AT.isoformat()} "
        "(sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted); last good 0001 "
        "at -; policy earliest",
        "    reconcile-gaps job: 2 Workspace(s) flagged for review at 2026-11-30T10:00:00+00:00",
        "    to do: events published since the topic's first event older than Salesforce's "
        "retention were not received: re-publish them from the product (duplicates are "
        "dropped by EventUuid)",
        "apply: applied 1, parked 0, waiting 1, PAUSED (API limit), last error class: "
        "REQUEST_LIMIT_EXCEEDED",
        "mode: SHADOW (nothing is written to Salesforce; pending entries are applied by live "
        "mode)",
        "sentry: off (no DSN)",
        "metrics: http://127.0.0.1:9464/metrics",
        "sync SLA: BREACHED since 1970-01-01T00:00:00Z: pending too long"]


def test_status_json_carries_the_same_report(state: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, text = status(state, capsys, "--json", "--recent", "1")
    report = json.loads(text)
    assert code == 0
    assert report["daemon_pid"] is None
    assert report["inbox"] == str(inbox_path(state))
    topic = report["topics"][TOPIC]
    assert (topic["replay_id"], topic["pending"], topic["applied"]) == ("00000002", 1, 1)
    assert [g["reconciled"] for g in topic["gaps"]] == [
        {"flagged": 2, "at": "2026-11-30T10:00:00+00:00"}]
    assert report["apply"] == {"applied": 1, "parked": 0, "waiting": 1, "paused": True,
                               "last_error_class": "REQUEST_LIMIT_EXCEEDED",
                               "last_error_at": "2026-11-30T09:30:00+00:00"}
    assert report["ops"]["metrics_port"] == 9464
    assert report["sla"]["breached"] is True
    assert [(e["topic"], e["type"], e["workspace"], e["replay_id"], e["status"])
            for e in report["recent"]] == [(TOPIC, "Trial", "ws-2", "00000002", "pending")]


def test_a_running_daemons_disconnected_topic_is_shown_and_exits_3(
        state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with state_lock(state):
        started_s = time.monotonic()
        tracker = ConnectionTracker([TOPIC], state, clock=lambda: time.time() - 100.0)
        tracker.failed(TOPIC, "UNAVAILABLE: connection refused", 1.0)  # 100 s ago
        code, text = status(state, capsys, "--max-disconnected-s", "50")
        took_s = time.monotonic() - started_s
        assert code == 3
        lines = text.splitlines()
        assert lines[0] == f"{state}: daemon running (PID {os.getpid()})"
        assert lines[1].startswith(f"  {TOPIC}: failing since 20")
        for_s = re.search(r" \(for (\d+) s\), ", lines[1])
        assert for_s is not None, lines[1]
        # 100 s plus however long this took (measured, not assumed: a busy host may be slow)
        assert 100 <= int(for_s.group(1)) <= 100 + took_s + 1
        assert lines[1].endswith(", 1 failed attempt(s), last: UNAVAILABLE: connection refused")
        assert status(state, capsys)[0] == 0  # within the default 600 s
        tracker.connected(TOPIC)
        assert status(state, capsys, "--max-disconnected-s", "50")[0] == 0


def test_status_without_an_inbox_says_no_daemon_ran_there(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["status", "--state", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("lifecycle-sync: ")
    assert err.endswith(f" (no daemon has run with --state {tmp_path} yet, or it never got "
                        "that far)\n")
