"""R1: ``kill -9`` at seeded random points, including between a Salesforce write and the
inbox update and inside a scheduler job; the daemon restarts on the same state each time.

Pass (reliability-anchors §6): final Salesforce state equals the fault-free run's; 0 lost,
0 duplicate effects, 0 stale overwrites; at most one fetch batch (100) redelivered per topic
per crash; the inbox passes ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import Reference
from rel_checker import announce
from rel_faults import KILL_POINTS, kill_at, restart
from rel_harness import TOPICS
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
        at = dict(zip(sorted(rng.sample(range(batches), k=min(KILLS, batches))),
                      [KILL_POINTS[i % len(KILL_POINTS)] for i in range(KILLS)], strict=False))
        hits: list[str] = []

        def crash(batch: int) -> None:
            if batch in at:
                hits.append(kill_at(run.cluster, at[batch], rng, (batch + 1) * PUBLISH_BATCH))
                restart(run.cluster)

        restart(run.cluster)
        run.cluster.publish(run.workload, after_batch=crash)
        verdict = run.finish(golden, "R1")
    print(f"R1 seed={seed}: kills: {hits}")
    assert len(hits) == len(at)
    verdict.assert_clean(max_redelivered=len(hits) * FETCH_BATCH * len(TOPICS))
