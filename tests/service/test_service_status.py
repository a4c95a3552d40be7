"""``status``: read-only, works while the lock is held, and its --json shape."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from contextlib import closing
from pathlib import Path

from helpers.children import run_cli

from scheduler.runs import RunStore, jobs_path
from service.config import inbox_path
from service.lifecycle import state_lock
from service.status_cmd import collect_status, render_text
from subscriber.events import DecodedEvent, EntryKind, UndecodableEvent
from subscriber.inbox import Inbox

ROOT = Path(__file__).resolve().parents[2]
TRIAL = "/event/SelfServeTrialEvent__e"
LEAD = "/data/LeadChangeEvent"


def _event(topic: str, n: int) -> DecodedEvent:
    return DecodedEvent(topic=topic, replay_id=bytes([0, 0, 0, n]), event_id=f"uuid-{topic}-{n}",
                        schema_id="s1", kind=EntryKind.EVENT, payload={"n": n})


def _fill(state: Path) -> None:
    with Inbox(inbox_path(state)) as inbox:
        inbox.store_batch(TRIAL, [_event(TRIAL, n) for n in range(1, 4)], bytes([0, 0, 0, 3]))
        bad = UndecodableEvent(topic=TRIAL, replay_id=bytes([0, 0, 0, 4]), event_id="bad",
                               schema_id="s1", raw=b"\x01", error="bad avro")
        inbox.store_batch(TRIAL, [bad], bytes([0, 0, 0, 4]))
        inbox.store_batch(LEAD, [], bytes([0, 0, 9, 9]))
        first = inbox.pending(limit=1, topic=TRIAL)[0]
        inbox.mark_applied([first.id])


def _status(state: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("status", "--state", str(state), *extra)


def test_status_json_shape_while_the_lock_is_held(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    filled_from = dt.datetime.now(dt.UTC)
    _fill(state)
    filled_until = dt.datetime.now(dt.UTC)
    before = inbox_path(state).stat().st_mtime_ns
    with state_lock(state):
        done = _status(state, "--json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["daemon_pid"] == os.getpid()
    trial = report["topics"][TRIAL]
    assert {k: trial[k] for k in ("replay_id", "pending", "applied", "poison")} == {
        "replay_id": "00000004", "pending": 2, "applied": 1, "poison": 1}
    assert filled_from <= dt.datetime.fromisoformat(trial["checkpoint_at"]) <= filled_until
    assert trial["oldest_pending_age_s"] >= 0
    lead = report["topics"][LEAD]
    assert (lead["replay_id"], lead["pending"], lead["oldest_pending_age_s"]) == (
        "00000909", 0, None)
    assert inbox_path(state).stat().st_mtime_ns == before  # nothing written


def test_status_text_names_topics_and_counts(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    _fill(state)
    done = _status(state)
    assert done.returncode == 0, done.stderr
    assert "no daemon running" in done.stdout
    assert TRIAL in done.stdout
    assert "checkpoint 00000004" in done.stdout
    assert "pending 2, applied 1, poison 1, oldest pending" in done.stdout


def test_status_without_inbox_fails_clearly(tmp_path: Path) -> None:
    done = _status(tmp_path)
    assert done.returncode == 1
    assert "no inbox" in done.stderr
    missing = _status(tmp_path / "absent")
    assert missing.returncode == 1
    assert "no state directory" in missing.stderr


def test_a_state_path_with_uri_characters_is_read_as_given(tmp_path: Path) -> None:
    """`status --state 'st#1'` once opened `file:st#1/inbox.db?mode=ro`: SQLite took `#1...`
    as a fragment, created `st` in the working directory and called the inbox damaged."""
    state = tmp_path / "st#1"
    state.mkdir()
    _fill(state)
    done = run_cli("status", "--state", "st#1", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["topics"][TRIAL]["pending"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["st#1"]


def test_a_jobs_file_under_a_state_path_with_uri_characters_is_read_as_given(tmp_path: Path
                                                                             ) -> None:
    """The scheduler's ``jobs.db`` was opened the same unescaped way: ``st`` appeared in the
    working directory and every job showed "never run"."""
    state = tmp_path / "st#1"
    state.mkdir()
    _fill(state)
    at = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)
    with closing(RunStore(jobs_path(state))) as store:
        store.finished(store.started("retry-parked", at), "retry-parked", at, True, "2 retried")
    done = run_cli("status", "--state", "st#1", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)["jobs"]["retry-parked"]
    assert (job["result"], job["summary"], job["runs"]) == ("ok", "2 retried", 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["st#1"]


def test_the_report_names_the_state_dir_and_says_when_there_are_no_topics(tmp_path: Path
                                                                         ) -> None:
    state = tmp_path / "state"
    state.mkdir()
    Inbox(inbox_path(state)).close()
    report = collect_status(state)
    assert (report["state_dir"], report["inbox"]) == (str(state), str(inbox_path(state)))
    assert (report["daemon_pid"], report["topics"]) == (None, {})
    assert render_text(report) == (f"{state}: no daemon running\n  no topics yet\n"
                                   "apply: applied 0, parked 0, waiting 0, "
                                   "last error class: none\n")
