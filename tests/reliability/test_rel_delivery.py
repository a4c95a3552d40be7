"""R12 (duplicate and out-of-order delivery) and R22 (org migration: replay IDs repeat).

Pass (reliability-anchors §6):

* R12: the server rewinds and delivers again about 10 % of the events (and the workload
  already swaps a tenth of neighbours): the final state equals the fault-free run's (last
  writer wins by event time), 0 duplicate effects, and every redelivery is a counted dedupe
  hit in the daemon (its ``duplicates=`` per committed batch) — as many as the emulator sent.
* R22: halfway, the topic's replay IDs start repeating ones issued earlier for other events;
  dedupe by EventUuid still applies each event exactly once in effect.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from pathlib import Path

import pytest
from conftest import Reference
from rel_checker import announce
from rel_faults import restart
from rel_harness import TRIAL_TOPIC, Cluster, wait_for
from rel_params import events, seeds
from rel_run import case_run
from rel_workload import PUBLISH_BATCH

from service.config import inbox_path
from subscriber.inbox_file import readonly_uri

EVENTS = events(1000, soak=10_000)
REDELIVER_PER_BATCH = PUBLISH_BATCH // 10
SHIFT = 50


def dedupe_hits(log: str, topic: str) -> int:
    return sum(int(n) for n in re.findall(
        rf"batch committed topic={re.escape(topic)} stored=\d+ duplicates=(\d+)", log))


def redeliver(cluster: Cluster) -> None:
    """Arm a rewind of a tenth of a batch once the previous one has been taken."""
    wait_for(lambda: cluster.admin("/faults/pubsub")["redeliver"] == 0, 60, "a redelivery")
    cluster.admin("/faults/pubsub/redeliver", {"count": REDELIVER_PER_BATCH,
                                               "topic": TRIAL_TOPIC})


@pytest.mark.parametrize("seed", seeds(1, soak=3))
def test_r12_redelivered_and_swapped_events_apply_once(seed: int, reference: Reference,
                                                      tmp_path: Path) -> None:
    announce("R12", seed, EVENTS)
    golden = reference(seed, EVENTS)
    with case_run(tmp_path, seed, EVENTS) as run:
        restart(run.cluster, LIFECYCLE_SYNC_SERVICE_LOG_LEVEL="DEBUG")
        run.cluster.publish(run.workload, after_batch=lambda _: redeliver(run.cluster))
        verdict = run.finish(golden, "R12")
        sent = run.cluster.admin("/pubsub/deliveries")["topics"][TRIAL_TOPIC]["redelivered"]
        hits = dedupe_hits(run.cluster.logs(), TRIAL_TOPIC)
    print(f"R12 seed={seed}: {sent} events redelivered, {hits} dedupe hits")
    assert sent >= EVENTS // 20  # a rewind takes at most what the daemon has asked for
    assert hits == sent
    verdict.assert_clean(max_redelivered=sent)


def trial_entries(cluster: Cluster) -> int:
    return sum(1 for topic, *_ in cluster.inbox_rows() if topic == TRIAL_TOPIC)


def repeated_replay_ids(state: Path) -> int:
    """Inbox entries whose replay ID an earlier entry (another event) of the topic has."""
    with contextlib.closing(sqlite3.connect(readonly_uri(inbox_path(state)), uri=True)) as db:
        return int(db.execute("SELECT COUNT(*) - COUNT(DISTINCT replay_id) FROM entries "
                              "WHERE topic = ?", (TRIAL_TOPIC,)).fetchone()[0])


@pytest.mark.parametrize("seed", seeds(1, soak=3))
def test_r22_replay_ids_repeating_after_an_org_migration_change_nothing(
        seed: int, reference: Reference, tmp_path: Path) -> None:
    announce("R22", seed, EVENTS)
    golden = reference(seed, EVENTS)
    with case_run(tmp_path, seed, EVENTS) as run:
        half = len(run.workload.batches) // 2
        stalled: list[str] = []

        def migrate(batch: int) -> None:
            if batch == half:  # once what was published so far is stored under the old IDs
                landed = sum(len(b) for b in run.workload.batches[:half + 1])
                try:
                    wait_for(lambda: trial_entries(run.cluster) >= landed, 60, "events stored")
                except TimeoutError as exc:  # go on: the checker says what was lost, and
                    stalled.append(str(exc))  # the failure then prints the seed to replay
                run.cluster.admin("/faults/pubsub/migrate", {"topic": TRIAL_TOPIC,
                                                             "shift": SHIFT})

        restart(run.cluster)
        run.cluster.publish(run.workload, after_batch=migrate)
        verdict = run.finish(golden, "R22")
        repeated = repeated_replay_ids(run.cluster.state)
    print(f"R22 seed={seed}: {repeated} inbox entries reuse an earlier event's replay ID")
    verdict.notes.extend(f"before the migration: {s}" for s in stalled)
    assert not stalled, verdict.details()
    assert repeated >= SHIFT, verdict.details()
    verdict.assert_clean(max_redelivered=0)
