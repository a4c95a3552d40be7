"""Reliability matrix, checker cases of part B (reliability-anchors.md §6): R6 token expiry,
R11 malformed and poison events, R13 disk full under the inbox, R17 a stalled REST server,
R25 CDC gap and overflow events. Each publishes the seeded workload through the part-A
harness, injects its fault through the emulator's admin API, runs until idle and compares the
final Salesforce state with the fault-free reference run: 0 lost, 0 duplicate effects, 0 stale
overwrites, 0 stuck."""

from __future__ import annotations

import base64
import resource
from pathlib import Path
from typing import TYPE_CHECKING

import requests
from rel2_cases import EVENTS, SEED, after_batches, leaks, logins
from rel2_rig import slow_sentry
from rel_checker import announce, collect, compare
from rel_harness import TRIAL_TOPIC, Cluster, wait_for
from rel_run import IDLE_TIMEOUT_S, case_run

from service.config import inbox_path

if TYPE_CHECKING:  # only for annotations: several test folders have a conftest
    from conftest import Reference


def test_r6_expired_sessions_mid_batch_reauthenticate_once_each(
        reference: Reference, tmp_path: Path) -> None:
    """Every session expires twice mid-stream (streams aborted with ``auth.error``, REST
    answering 401 INVALID_SESSION_ID): one JWT login per expiry, the same events retried,
    nothing lost or doubled, and no session token in the log."""
    announce("R6", SEED, EVENTS)
    golden = reference(SEED, EVENTS)
    with case_run(tmp_path, SEED, EVENTS) as run:
        c = run.cluster
        c.start_daemon()
        c.wait_ready()
        wait_for(lambda: logins(c) == 1, 60, "the first login")  # READY=1 comes before it

        def expire() -> None:  # then wait for the daemon to notice and log in again
            before = logins(c)
            c.admin("/faults/tokens/expire-others", {"keep": [c.info["access_token"]],
                                                     "abort_streams": True})
            wait_for(lambda: logins(c) > before, 60, "a new login")
        c.publish(run.workload, after_batch=after_batches({0: expire, 2: expire}))
        verdict = run.finish(golden, "R6")
        assert logins(c) == 3, "one login at start and one per expiry (single-flight)"
        assert not leaks(c.logs()).get("session_token")
        assert c.sigterm() == 0
    verdict.assert_clean(max_redelivered=2 * 100 * 2)


def test_r11_malformed_and_poison_events_are_dead_lettered_and_passed(
        reference: Reference, tmp_path: Path) -> None:
    """Bytes that are not Avro and an unknown schema ID (past Publish's validation), beside
    the workload's malformed and always-refused events: each stored as poison with its error
    class, the checkpoint moves past them, everything else applies as in the reference; one
    Sentry issue per error class, however many events share it."""
    announce("R11", SEED, EVENTS)
    golden = reference(SEED, EVENTS)
    with case_run(tmp_path, SEED, EVENTS) as run, slow_sentry() as (dsn, envelopes):
        c = run.cluster

        def inject(schema_id: str, payload: bytes) -> None:
            c.admin("/faults/pubsub/raw", {"topic": TRIAL_TOPIC, "schema_id": schema_id,
                                           "payload_b64": base64.b64encode(payload).decode()})

        topic = c.emulator.context.bus.store.topic(TRIAL_TOPIC)
        assert topic is not None
        schema_id = topic[1]
        c.start_daemon(SENTRY_DSN=dsn)
        c.wait_ready()
        c.publish(run.workload, after_batch=after_batches({
            0: lambda: inject(schema_id, b"\xff\xff\xff not avro"),
            1: lambda: inject("0123456789abcdefXXXXXX", b"\x02\x04"),
        }))
        verdict = run.finish(golden, "R11")
        poison = [(eid, error) for topic, eid, status, error in c.inbox_rows()
                  if topic == TRIAL_TOPIC and status == "poison"]
        assert c.sigterm() == 0
        fingerprints = [tuple(e["fingerprint"]) for e in envelopes.items("event")]
    verdict.assert_clean(max_redelivered=0)
    assert len(fingerprints) == len(set(fingerprints)), fingerprints
    assert sum(f[:2] == ("lifecycle-sync", "poison") for f in fingerprints) >= 1, fingerprints
    injected = [error for eid, error in poison if eid not in golden.inbox]
    assert len(injected) == 2, poison
    assert all(error for error in injected), "each dead letter names its error class"


def test_r13_a_full_disk_under_the_inbox_pauses_intake_and_resumes_with_nothing_lost(
        reference: Reference, tmp_path: Path, held_port: int) -> None:
    """The daemon's file size limit (RLIMIT_FSIZE: the kernel refuses the write, SQLite gets
    a write error) is set just above the inbox mid-run, as a disk filling up would. The matrix's
    criterion: the daemon does not exit (under Restart=on-failure that crash-loops the unit into
    ``failed``); it stops requesting and acknowledging (the checkpoint never passes what the
    inbox holds), alerts once (one WARNING, one Sentry report), says so on ``/readyz``, keeps
    feeding systemd's watchdog, and probes; once the limit is lifted (space freed) the same
    process resumes by itself: nothing lost, doubled or stale. (SQLite's ``max_page_count``
    would be per connection, inside the daemon; the file size limit reaches a running process
    from outside. A small tmpfs would need mount rights CI lacks.)"""
    announce("R13", SEED, EVENTS)
    golden = reference(SEED, EVENTS)
    port = held_port  # the metrics port, held until the daemon binds it
    env = {"LIFECYCLE_SYNC_SERVICE_LOG_LEVEL": "WARNING",  # the log file must stay small
           "LIFECYCLE_SYNC_METRICS_PORT": str(port), "WATCHDOG_USEC": "2000000"}
    with case_run(tmp_path, SEED, EVENTS) as run, slow_sentry() as (dsn, envelopes):
        c = run.cluster
        daemon = c.start_daemon(SENTRY_DSN=dsn, **env)
        c.wait_ready()
        _, hard = resource.prlimit(daemon.pid, resource.RLIMIT_FSIZE)

        def fill_disk() -> None:
            files = [Path(f"{inbox_path(c.state)}{s}") for s in ("", "-wal", "-shm")]
            limit = max(f.stat().st_size for f in files if f.exists()) + 4096
            resource.prlimit(daemon.pid, resource.RLIMIT_FSIZE, (limit, hard))

        c.publish(run.workload, after_batch=after_batches({1: fill_disk}))
        paused = _paused_and_still_alive(c, port)
        resource.prlimit(daemon.pid, resource.RLIMIT_FSIZE, (hard, hard))  # space freed
        verdict = run.finish(golden, "R13")
        wait_for(lambda: _readyz(port, ""), 120, "readyz after the episode")
        assert len(c.daemons) == 1, "resumed by the same process, no restart"
        assert c.sigterm() == 0
        alerts = [e for e in envelopes.items("event")
                  if e.get("fingerprint") == ["lifecycle-sync", "inbox", "InboxFull"]]
    _alerted_once(daemon.log_text())
    assert len(alerts) == 1, "the episode is alerted once (Sentry)"
    print(f"R13 paused: {paused}")
    verdict.assert_clean(max_redelivered=2 * 100)  # in flight when each stream was ended


def _paused_and_still_alive(c: Cluster, port: int) -> str:
    """R13 while the disk is full: readyz names the pause (returned), the watchdog is fed,
    nothing moves (checkpoints, inbox), the process is still running."""
    paused = wait_for(lambda: _readyz(port, "paused: the disk refuses"), 120,
                      "readyz naming the pause")
    held = (c.checkpoints(), len(c.inbox_rows()))
    fed = c.notify.count("WATCHDOG=1")
    wait_for(lambda: c.notify.count("WATCHDOG=1") >= fed + 3, 60,
             "the watchdog fed while paused")
    assert (c.checkpoints(), len(c.inbox_rows())) == held, "paused: nothing may move"
    assert c.daemon.proc is not None
    assert c.daemon.proc.poll() is None, "a full disk must not stop the daemon"
    return paused


def _alerted_once(log: str) -> None:
    """R13's log: one WARNING for the episode. The disk is full for the scheduler's run store
    too: a run that cannot record itself is skipped (one WARNING per episode), a job's own
    failure is one WARNING per error class; never an ERROR (APScheduler's traceback, a Sentry
    issue on every run)."""
    warnings = [line for line in log.splitlines() if "the disk refused an inbox write" in line]
    assert len(warnings) == 1, warnings
    errors = [line for line in log.splitlines() if " ERROR " in line]
    assert errors == [], errors
    jobs = [line for line in log.splitlines() if "lifecycle_sync.jobs" in line
            or "apscheduler" in line]
    assert len(jobs) <= 4, jobs


def _readyz(port: int, problem: str) -> str:
    """``/readyz``'s body when it names ``problem`` (ready, HTTP 200, when it is empty)."""
    try:
        response = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
    except requests.RequestException:
        return ""
    if not problem:
        return response.text if response.status_code == 200 else ""
    return response.text if problem in response.text else ""


STALL_PROOF_S = 100.0  # < the 120 s default read timeout, > 2 s timeouts under CI load


def test_r17_a_stalled_rest_server_times_out_and_nothing_is_doubled(
        reference: Reference, tmp_path: Path) -> None:
    """The server accepts the next three Lead writes and does not answer, against a 2 s read
    timeout: each attempt times out (a logged ReadTimeout), the cycle is retried and applies.
    Only then are the held requests released: they complete for a client that gave up, as a
    real server may. Final state as in the reference: no second Lead, no stale value. (A plain
    create cannot survive this: each held create adds a Lead; the default 120 s timeout would
    wedge the worker instead.)"""
    announce("R17", SEED, EVENTS)
    golden = reference(SEED, EVENTS)
    with case_run(tmp_path, SEED, EVENTS) as run:
        c = run.cluster
        c.start_daemon(LIFECYCLE_SYNC_APPLY_READ_TIMEOUT_S="2",
                       LIFECYCLE_SYNC_SERVICE_LOG_LEVEL="DEBUG")
        c.wait_ready()

        def stall() -> None:  # new Leads: the writes a plain create would double
            held = {"fault": "stall", "times": 3, "stall_s": 300}
            c.admin("/faults/org", {**held, "kind": "collections_upsert", "object": "Lead"})
            c.admin("/faults/org", {**held, "kind": "collections_create"})  # names no object

        c.publish(run.workload, after_batch=after_batches({1: stall}))
        wait_for(lambda: sum(r["fired"] for r in c.admin("/faults/org")["rules"]) >= 3, 90,
                 "three held Lead writes")
        # applied while the three are still held, and sooner than the default 120 s read
        # timeout could have released even one of them: so the configured 2 s timeout fired
        c.wait_idle(run.workload, STALL_PROOF_S)
        c.admin("/faults/org/clear", {})  # now they complete, late
        verdict = run.finish(golden, "R17")
        # Whether a WARNING
        # follows depends on timing: a call whose three attempts were all held fails its cycle
        # ("salesforce unavailable", once per error class, README), while held first attempts of
        # calls made by different workers are retried within the call and succeed silently
        # (a CI run under load logged none). So only "once per class" is asserted here.
        unavailable = [line for line in c.logs().splitlines()
                       if "salesforce unavailable" in line and " WARNING " in line]
        assert c.sigterm() == 0
    verdict.assert_clean(max_redelivered=0)
    assert len(unavailable) <= 1, unavailable


def test_r25_cdc_gap_and_overflow_events_are_neither_applied_as_changes_nor_dropped(
        reference: Reference, tmp_path: Path) -> None:
    """A GAP_UPDATE naming owner Leads is re-read through REST and applied (state as in the
    reference); a GAP_OVERFLOW is parked for reconciliation (one review row), not dropped."""
    announce("R25", SEED, EVENTS)
    golden = reference(SEED, EVENTS)
    with case_run(tmp_path, SEED, EVENTS) as run:
        c = run.cluster
        c.start_daemon()
        c.wait_ready()
        owners = run.workload.owner_lead_emails[:3]
        ids = [r["Id"] for r in c.query_all(
            "SELECT Id FROM Lead WHERE Email IN ('" + "','".join(owners) + "')")]

        def gaps() -> None:
            c.admin("/faults/cdc/gap", {"object": "Lead", "change_type": "GAP_UPDATE",
                                        "record_ids": ids})
            c.admin("/faults/cdc/gap", {"object": "Lead", "change_type": "GAP_OVERFLOW",
                                        "record_ids": []})

        c.publish(run.workload, after_batch=after_batches({1: gaps}))
        c.wait_idle(run.workload, IDLE_TIMEOUT_S)
        result = collect(c, run.workload)
        assert c.sigterm() == 0
    overflow = {k: v for k, v in result.state.items() if k[0] == "Event_Cache__c"
                and any(r.get("Event_Type__c") == "GAP_OVERFLOW" for r in v)}
    [[row]] = overflow.values()
    assert row["Needs_Review__c"] is True
    assert row["Review_Reason__c"] == "reconcile: GAP_OVERFLOW"
    for key in overflow:  # the one record the reference cannot have
        del result.state[key]
    compare(golden, result, "R25", SEED, EVENTS).assert_clean(max_redelivered=0)
