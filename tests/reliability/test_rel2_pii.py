"""Reliability matrix R21 (PII leak sweep) and R23 without the lock (two daemons on separate
state directories against one org), reliability-anchors.md §6. The daemon is a real
subprocess; faults go through the emulator's admin API."""

from __future__ import annotations

import base64
import contextlib
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpers.children import module_argv
from rel2_cases import EVENTS, SEED, after_batches, leaks, loud_lines
from rel2_rig import slow_sentry
from rel_checker import announce
from rel_harness import TRIAL_TOPIC, Cluster, wait_for
from rel_run import IDLE_TIMEOUT_S, case_run

from benchmarks.burst_events import BurstEvent
from benchmarks.rig import Daemon
from service.config import inbox_path
from service.event_labels import TYPE_LABELS
from subscriber.inbox_file import readonly_uri

NAME = "Jane Quinterra-Doe"
# The matrix's topic, replay ID and error code, plus our kind/job labels and the EventUuid
# (an opaque ID, not personal data), and the bounded event type label.
ALLOWED_TAGS = {"kind", "error_code", "topic", "replay_id", "job", "event_id", "event_type"}

if TYPE_CHECKING:  # only for annotations: several test folders have a conftest
    from conftest import Reference


def _pii_event(c: Cluster, token: str) -> BurstEvent:
    """A poison event (not JSON) carrying an email, a name, a session token and a key."""
    data = (f"{{broken {NAME} <jane.doe@pii-sweep.example.com> token={token} "
            "-----BEGIN PRIVATE KEY----- MIIE")
    record = {"CreatedDate": 1_790_000_000_000, "CreatedById": c.info["user_id"],
              "Workspace_ID__c": "pii-1", "Email__c": "jane.doe@pii-sweep.example.com",
              "Event_Type__c": "Trial", "Event_Data__c": data,
              "Event_Timestamp__c": 1_790_000_000_000}
    return BurstEvent("pii-event-1", "pii-1", record, False)


def _faults(c: Cluster, token: str) -> dict[int, Any]:
    """R6, R8, R10, R11 and R12 faults whose errors quote an email and the token."""
    leaky = f"failed for jane.doe@pii-sweep.example.com ({NAME}) with session {token}"
    raw = base64.b64encode(f"jane.doe@pii-sweep.example.com {token}".encode()).decode()
    schema = c.emulator.context.bus.store.topic(TRIAL_TOPIC)
    assert schema is not None
    return {
        0: lambda: c.publisher().publish_events([_pii_event(c, token)]),
        1: lambda: c.admin("/faults/org", {"fault": "server_error", "kind": "composite",
                                           "times": 2, "message": leaky}),
        2: lambda: c.admin("/faults/org", {"fault": "unable_to_lock_row", "kind": "upsert",
                                           "times": 3, "message": leaky}),
        3: lambda: c.admin("/faults/pubsub/raw", {"topic": TRIAL_TOPIC, "payload_b64": raw,
                                                  "schema_id": schema[1]}),
    }


def test_r21_no_email_token_or_key_reaches_logs_or_sentry_under_faults(tmp_path: Path
                                                                       ) -> None:
    announce("R21", SEED, EVENTS)
    with case_run(tmp_path, SEED, EVENTS) as run, slow_sentry() as (dsn, envelopes):
        c = run.cluster
        token = c.info["access_token"]
        c.start_daemon(SENTRY_DSN=dsn, SENTRY_ENVIRONMENT="r21")
        c.wait_ready()
        steps = _faults(c, token)
        steps[4] = lambda: c.admin("/faults/tokens/expire-others", {
            "keep": [token], "abort_streams": True})
        steps[5] = lambda: c.admin("/faults/pubsub/redeliver", {"count": 50,
                                                                "topic": TRIAL_TOPIC})
        c.publish(run.workload, after_batch=after_batches(steps))
        c.wait_idle(run.workload, IDLE_TIMEOUT_S)
        wait_for(lambda: envelopes.items("event"), 30, "Sentry events")
        assert c.sigterm() == 0
        raw = envelopes.raw().decode("utf-8", "replace")
        events = envelopes.items("event")
    log = loud_lines(c.logs())
    assert leaks(log) == {}, leaks(log)
    assert token not in log
    assert leaks(raw) == {}, leaks(raw)
    assert token not in raw
    assert NAME not in raw
    tags = {k: v for e in events for k, v in (e.get("tags") or {}).items()}
    assert set(tags) <= ALLOWED_TAGS, tags
    types = {(e.get("tags") or {}).get("event_type") for e in events} - {None}
    assert types <= set(TYPE_LABELS), types
    print(f"R21: {len(events)} Sentry events, tags {sorted(tags)}")


def _second_daemon(c: Cluster, state: Path) -> Daemon:
    """Another daemon on its own state directory (so no lock is shared) against the org."""
    daemon = Daemon(c.info_file, state, c.work / "daemon-b.log",
                    env={"LIFECYCLE_SYNC_PUBSUB_BACKOFF_INITIAL_S": "0.05",
                         "LIFECYCLE_SYNC_PUBSUB_BACKOFF_MAX_S": "0.5"}, auth="jwt")
    daemon.args[:3] = module_argv("service")
    return daemon.start()


def test_r23_without_the_lock_two_daemons_still_apply_each_event_once_in_effect(
        reference: Reference, tmp_path: Path) -> None:
    """A second daemon with its own state directory (the lock cannot see it) receives and
    applies every event too. Upserts by external ID and the history's event IDs keep every
    event's effect single: no duplicate effect and nothing stuck (the matrix's R23 criterion:
    "even without the lock, dedupe keeps duplicate-effect at 0").

    Lost and stale are printed, not asserted, because two uncoordinated writers can lose an
    update (lost=2 was seen once in CI at load ~10): a cycle reads the Workspace, decides by
    event time, and writes what it decided without a condition on what it read. Each daemon
    serialises its own cycles of one Workspace (service.apply_batches), so its next cycle
    re-reads and repairs anything written in between; but nothing orders daemon B's cycles
    against daemon A's. B reads W; A writes W's newer event; B's write, decided from the older
    read, lands on top. If B's own newer event for W was already decided (applied earlier, or
    skipped because A had written it first), neither daemon reads W again and the final state
    misses the newer event: a lost update, not a duplicate. Dedupe cannot help (each daemon
    applies each event once; it is the interleaving that loses). Preventing it is the lock's
    job on one host (test_r23_with_the_lock_*) and the fenced lease's across hosts (issue 12);
    a conditional write (If-Unmodified-Since on what was read) would be the other way."""
    announce("R23", SEED, EVENTS)
    golden = reference(SEED, EVENTS)
    with case_run(tmp_path, SEED, EVENTS) as run:
        c = run.cluster
        c.start_daemon()
        c.wait_ready()
        other = _second_daemon(c, tmp_path / "state-b")
        try:
            c.publish(run.workload)
            wanted = len(run.workload.events)
            wait_for(lambda: _settled(tmp_path / "state-b", wanted), IDLE_TIMEOUT_S,
                     "the second daemon to apply everything")
            verdict = run.finish(golden, "R23")
        finally:
            other.stop_quietly()
        assert c.sigterm() == 0
    print(verdict.summary())  # the second subscriber's deliveries count as redelivered
    assert not verdict.duplicate_effect, verdict.details()
    assert not verdict.stuck, verdict.details()


def test_r23_with_the_lock_the_second_instance_exits_75_and_nothing_is_lost(
        reference: Reference, tmp_path: Path) -> None:
    """The same mistake with the lock in place (one state directory): the second instance
    exits 75 before subscribing, so one writer applies the seeded workload and the checker
    finds it equal to the reference: lost, duplicate, stale and stuck all 0, and nothing
    redelivered (one subscriber, no fault). Deterministic: there is no second writer to race,
    whatever the machine's load."""
    announce("R23 locked", SEED, EVENTS)
    golden = reference(SEED, EVENTS)
    with case_run(tmp_path, SEED, EVENTS) as run:
        c = run.cluster
        c.start_daemon()
        c.wait_ready()
        second = _second_daemon(c, c.state)
        assert second.wait(60) == 75
        assert str(c.daemon.pid) in second.log_text()  # names the holder
        c.publish(run.workload)
        verdict = run.finish(golden, "R23 locked")
        assert c.sigterm() == 0
    verdict.assert_clean(max_redelivered=0)


def _settled(state: Path, platform_events: int) -> bool:
    """Every platform event in ``state``'s inbox and none pending."""
    path = inbox_path(state)
    if not path.exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(readonly_uri(path), uri=True)) as db:
            rows = db.execute("SELECT topic, status FROM entries").fetchall()
    except sqlite3.OperationalError:  # created but not yet initialised
        return False
    trials = sum(1 for topic, _ in rows if topic == TRIAL_TOPIC)
    return trials >= platform_events and all(status != "pending" for _, status in rows)
