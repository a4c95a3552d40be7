"""R5: the daemon stops asking for events long enough that the server closes the stream.

Salesforce closes a Subscribe stream that has nothing requested and no new FetchRequest for
60 s (the emulator's ``idle_timeout_s``, shortened here to 1.5 s). The daemon asks for more
as soon as it has stored what it got, whatever applying does, so slowing the Salesforce side
(every REST call 300 ms late) does not stop it; what does is its own storage stalling: the
test holds the inbox's write lock (a long checkpoint or a slow disk) for longer than the idle
timeout while events keep arriving. Pass: the daemon reconnects from its checkpoint
(``CUSTOM``), 0 lost, the final state equals the fault-free run's.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Reference
from rel_checker import announce
from rel_faults import restart
from rel_params import events, seeds
from rel_run import case_run

from emulator.pubsub.subscribe import StreamSettings
from service.config import inbox_path

EVENTS = events(1000, soak=10_000)
IDLE_TIMEOUT_S = 1.5
HOLD_S = 3.0  # < the daemon's SQLite busy timeout (10 s): a stall, not an error
STREAM = StreamSettings(keepalive_s=0.5, idle_timeout_s=IDLE_TIMEOUT_S)


@contextlib.contextmanager
def inbox_write_lock(state: Path) -> Iterator[None]:
    db = sqlite3.connect(inbox_path(state), isolation_level=None, timeout=30)
    try:
        db.execute("BEGIN IMMEDIATE")
        yield
        db.execute("ROLLBACK")
    finally:
        db.close()


@pytest.mark.parametrize("seed", seeds(1, soak=3))
def test_r5_a_stream_closed_for_idleness_resumes_from_the_checkpoint(
        seed: int, reference: Reference, tmp_path: Path) -> None:
    announce("R5", seed, EVENTS)
    golden = reference(seed, EVENTS)
    with case_run(tmp_path, seed, EVENTS, stream=STREAM, latency_ms=300.0) as run:
        half = len(run.workload.batches) // 2

        def stall(batch: int) -> None:
            if batch == half:
                with inbox_write_lock(run.cluster.state):
                    run.cluster.publish(run.workload, start_batch=half + 1)
                    threading.Event().wait(HOLD_S)  # the stall's length is the fault

        restart(run.cluster, LIFECYCLE_SYNC_SERVICE_LOG_LEVEL="DEBUG")
        run.cluster.publish(run.workload, after_batch=stall)
        verdict = run.finish(golden, "R5")
        log = run.cluster.logs()
    resubscribes = log.count("subscribing from CUSTOM")
    print(f"R5 seed={seed}: {resubscribes} resubscribe(s) from the checkpoint")
    assert "the server ended the stream" in log
    assert resubscribes >= 1
    verdict.assert_clean(max_redelivered=100)
