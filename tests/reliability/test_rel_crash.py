"""R1: ``kill -9`` at seeded random points, including between a Salesforce write and the
inbox update, inside a scheduler job and inside an inbox commit (``rel_faults``); the daemon
restarts on the same state each time. Each seed starts at another kill point, so the short
form's three seeds hit each point.

Pass (reliability-anchors §6): final Salesforce state equals the fault-free run's; 0 lost,
0 duplicate effects, 0 stale overwrites; at most one fetch batch (100) redelivered per topic
per crash (the emulator's per-topic counts read right after each kill and at the end: what a
restart redelivered falls between its kill and the next); the inbox passes
``PRAGMA integrity_check``.
"""

from __future__ import annotations

import random
from itertools import pairwise
from pathlib import Path

import pytest
from conftest import Reference
from rel_checker import announce
from rel_faults import KILL_POINTS, InboxLock, kill_at, redelivered_by_topic, restart
from rel_params import SOAK, events, seeds
from rel_run import case_run
from rel_workload import PUBLISH_BATCH

EVENTS = events(2000)
KILLS = 6 if SOAK else 3
FETCH_BATCH = 100


@pytest.mark.timeout(900 if SOAK else 300)
@pytest.mark.parametrize("seed", seeds(3))
def test_r1_kill_9_at_random_points_loses_and_doubles_nothing(
        seed: int, reference: Reference, tmp_path: Path) -> None:
    announce("R1", seed, EVENTS)
    golden = reference(seed, EVENTS)
    rng = random.Random(seed)
    with case_run(tmp_path, seed, EVENTS) as run:
        batches = len(run.workload.batches)
        at = dict(zip(sorted(rng.sample(range(1, batches), k=min(KILLS, batches - 1))),
                      [KILL_POINTS[(seed + i) % len(KILL_POINTS)] for i in range(KILLS)],
                      strict=False))
        hits: list[str] = []
        counts = [redelivered_by_topic(run.cluster)]  # at the start, after each kill, at the end
        lock = InboxLock(run.cluster)

        def crash(batch: int) -> None:
            if batch in at:
                hits.append(kill_at(run.cluster, at[batch], rng, (batch + 1) * PUBLISH_BATCH,
                                    lock))
                counts.append(redelivered_by_topic(run.cluster))
                restart(run.cluster)
            if at.get(batch + 1) == "mid_commit":
                lock.take()  # the next batch's events then wait inside the intake's commit

        restart(run.cluster)
        try:
            run.cluster.publish(run.workload, after_batch=crash)
        finally:
            lock.release()
        verdict = run.finish(golden, "R1")
        counts.append(redelivered_by_topic(run.cluster))
    per_crash = [{t: after[t] - before[t] for t in after} for before, after in pairwise(counts)]
    print(f"R1 seed={seed}: kills: {hits}; redelivered per topic, before the first kill and "
          f"after each: {per_crash}")
    assert len(hits) == len(at)
    assert all(n == 0 for n in per_crash[0].values()), per_crash
    assert all(n <= FETCH_BATCH for c in per_crash[1:] for n in c.values()), per_crash
    verdict.assert_clean(max_redelivered=len(hits) * FETCH_BATCH * len(per_crash[0]))
