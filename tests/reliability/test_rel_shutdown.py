"""R2: SIGTERM mid-stream, at seeded points, twice per run.

Pass (reliability-anchors §6, Kafka's clean-shutdown criterion): the daemon sends
``STOPPING=1`` to a real ``NOTIFY_SOCKET`` datagram socket, exits 0 within the shipped unit's
``TimeoutStopSec``, with every topic's checkpoint at the last event it stored (nothing
received but unrecorded); after the restarts **0 events are redelivered** and the final state
equals the fault-free run's.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import time
from pathlib import Path

import pytest
from conftest import Reference
from rel_checker import announce
from rel_faults import applied, restart
from rel_harness import Cluster, wait_for
from rel_params import events, seeds, timeout_stop_s
from rel_run import case_run
from rel_workload import PUBLISH_BATCH

from service.config import inbox_path
from subscriber.inbox_file import readonly_uri

EVENTS = events(1000, soak=10_000)
TIMEOUT_STOP_S = timeout_stop_s()  # systemd/lifecycle-sync.service


def last_stored(cluster: Cluster) -> dict[str, bytes]:
    """Per topic, the replay ID of the newest event in the inbox."""
    path = inbox_path(cluster.state)
    with contextlib.closing(sqlite3.connect(readonly_uri(path), uri=True)) as db:
        rows = db.execute("SELECT topic, replay_id FROM entries e WHERE id = "
                          "(SELECT MAX(id) FROM entries WHERE topic = e.topic)").fetchall()
    return {topic: bytes(replay) for topic, replay in rows}


def stop_cleanly(cluster: Cluster, target: int) -> float:
    """SIGTERM once ``target`` events are applied; returns the seconds it took to exit."""
    wait_for(lambda: applied(cluster) >= target, 120, f"{target} events applied")
    started = time.monotonic()
    code = cluster.sigterm(TIMEOUT_STOP_S)
    took = time.monotonic() - started
    assert code == 0, cluster.daemon.log_text()[-3000:]
    assert cluster.notify.seen("STOPPING=1")
    assert cluster.checkpoints() == last_stored(cluster)
    return took


@pytest.mark.parametrize("seed", seeds(1, soak=10))
def test_r2_sigterm_mid_stream_redelivers_nothing(seed: int, reference: Reference,
                                                  tmp_path: Path) -> None:
    announce("R2", seed, EVENTS)
    golden = reference(seed, EVENTS)
    rng = random.Random(seed)
    with case_run(tmp_path, seed, EVENTS) as run:
        batches = len(run.workload.batches)
        at = set(rng.sample(range(batches), k=min(2, batches)))
        took: list[float] = []

        def terminate(batch: int) -> None:
            if batch in at:
                published = (batch + 1) * PUBLISH_BATCH
                took.append(stop_cleanly(run.cluster, rng.randint(published // 2, published)))
                restart(run.cluster)

        restart(run.cluster)
        run.cluster.publish(run.workload, after_batch=terminate)
        verdict = run.finish(golden, "R2")
    print(f"R2 seed={seed}: exits took {[round(t, 2) for t in took]} s")
    assert len(took) == len(at)
    verdict.assert_clean(max_redelivered=0)
