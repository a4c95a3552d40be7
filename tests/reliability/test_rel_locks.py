"""R10: ``UNABLE_TO_LOCK_ROW`` on about 5 % of Workspace writes, plus 2 records locked for good.

Pass (reliability-anchors §6): the transient locks succeed on jittered retries (final state
equals the fault-free run's); the events of the 2 locked records go to the dead-letter table
after ``apply.max_attempts`` tries: the inbox's ``poison`` entries (``lifecycle-sync review``
lists them), with the event ID, the replay ID and the error code and no email address in the
error (the inbox keeps the payload so the event can be re-applied); the other records
keep flowing meanwhile (no head-of-line blocking: everything else is applied while a locked
record's events are still being retried).
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import sqlite3
from pathlib import Path

import pytest
from conftest import Reference
from rel_checker import announce
from rel_faults import restart
from rel_harness import TRIAL_TOPIC, Cluster, wait_for
from rel_params import events, seeds
from rel_run import case_run
from rel_workload import Workload

from handlers.soql import quote_literal
from service.config import inbox_path
from subscriber.inbox_file import readonly_uri

EVENTS = events(1000, soak=10_000)
LOCK_AFTER_BATCH = 2
TRANSIENT_PER_BATCH = 5  # of ~100 events per batch: about 5 % of the Workspace writes
RETRY = {"LIFECYCLE_SYNC_APPLY_RETRY_INITIAL_S": "0.5", "LIFECYCLE_SYNC_APPLY_RETRY_MAX_S": "2",
         "LIFECYCLE_SYNC_APPLY_MAX_ATTEMPTS": "6"}


def to_lock(workload: Workload, rng: random.Random) -> list[str]:
    """Two Workspaces that exist by the lock and get valid events after it."""
    early = {e.workspace_id for b in workload.batches[:LOCK_AFTER_BATCH] for e in b if e.valid}
    later = {e.workspace_id for b in workload.batches[LOCK_AFTER_BATCH + 1:] for e in b
             if e.valid}
    return sorted(rng.sample(sorted(early & later), k=2))


def lock(cluster: Cluster, workspace_ids: list[str]) -> None:
    in_list = ", ".join(quote_literal(w) for w in workspace_ids)
    ids = [r["Id"] for r in cluster.query_all(
        f"SELECT Id FROM Workspace__c WHERE Workspace_ID__c IN ({in_list})")]
    assert len(ids) == 2
    cluster.admin("/faults/org", {"fault": "unable_to_lock_row", "kind": "update",
                                  "object": "Workspace__c", "record_ids": ids})


def pending_of(cluster: Cluster, event_ids: set[str]) -> int:
    return sum(1 for topic, eid, status, _ in cluster.inbox_rows()
               if topic == TRIAL_TOPIC and eid in event_ids and status == "pending")


@pytest.mark.parametrize("seed", seeds(1, soak=3))
def test_r10_locked_rows_retry_or_dead_letter_without_blocking_others(
        seed: int, reference: Reference, tmp_path: Path) -> None:
    announce("R10", seed, EVENTS)
    golden = reference(seed, EVENTS)
    rng = random.Random(seed)
    with case_run(tmp_path, seed, EVENTS) as run:
        locked = to_lock(run.workload, rng)
        later = run.workload.events[(LOCK_AFTER_BATCH + 1) * 100:]
        blocked = {e.event_id for e in later if e.workspace_id in locked and e.valid}
        others = {e.event_id for e in run.workload.events} - blocked

        def faults(batch: int) -> None:
            if batch == LOCK_AFTER_BATCH:
                run.cluster.wait_idle(dataclasses.replace(
                    run.workload, events=run.workload.events[:(batch + 1) * 100]))
                lock(run.cluster, locked)
            run.cluster.admin("/faults/org", {"fault": "unable_to_lock_row", "kind": "update",
                                              "object": "Workspace__c",
                                              "times": TRANSIENT_PER_BATCH})

        restart(run.cluster, **RETRY)
        run.cluster.publish(run.workload, after_batch=faults)
        wait_for(lambda: pending_of(run.cluster, others) == 0, 120, "the other events applied")
        still_retrying = pending_of(run.cluster, blocked)
        verdict = run.finish(golden, "R10", expected_to_differ=frozenset(locked),
                             dead_lettered=frozenset(blocked))
        parked = dead_letters(run.cluster)
        transient = sum(int(r["fired"]) for r in run.cluster.admin("/faults/org")["rules"]
                        if not r["record_ids"])
    print(f"R10 seed={seed}: {transient} transient locks; locked {locked}: {len(blocked)} "
          f"events, {still_retrying} still retrying when all others were applied, "
          f"{len(parked)} dead-lettered")
    assert still_retrying > 0  # the others did not wait for them
    assert set(parked) == blocked
    assert all(replay and "UNABLE_TO_LOCK_ROW" in error and "@" not in error
               for replay, error in parked.values()), parked
    assert transient >= TRANSIENT_PER_BATCH
    verdict.assert_clean()


def dead_letters(cluster: Cluster) -> dict[str, tuple[bytes, str]]:
    """Poison entries of the trial topic: event ID -> (replay ID, error)."""
    path = inbox_path(cluster.state)
    with contextlib.closing(sqlite3.connect(readonly_uri(path), uri=True)) as db:
        rows = db.execute("SELECT event_id, replay_id, error FROM entries "
                          "WHERE status = 'poison' AND topic = ?", (TRIAL_TOPIC,)).fetchall()
    return {eid: (bytes(replay), error) for eid, replay, error in rows}
