"""R3: the server aborts the stream (``UNAVAILABLE`` as for an RST_STREAM, and ``INTERNAL``)
at seeded random points while events flow, then stays down for a while.

Pass (reliability-anchors §6): every abort is followed by a resubscribe with ``CUSTOM`` from
the checkpoint; during a sustained outage the reconnects back off exponentially with jitter
(product defaults 1 s → 60 s: no tight loop, at most 10 reconnects a minute); the final state
equals the fault-free run's.
"""

from __future__ import annotations

import itertools
import random
import re
import threading
import time
from pathlib import Path

import pytest
from conftest import Reference
from rel_checker import announce
from rel_faults import restart
from rel_harness import LEAD_TOPIC, TRIAL_TOPIC, Cluster, wait_for
from rel_params import SOAK, events, seeds
from rel_run import case_run

EVENTS = events(2000)
ABORTS = 100 if SOAK else 10
# The outage: long enough for the product's backoff (1 s doubling, jittered) to choose at
# least four delays (four failures come within 1 + 2 + 4 s plus reconnect latency).
OUTAGE_S = 60.0 if SOAK else 16.0
# Each delay as the daemon chose it (its DEBUG line), not as gaps between the emulator's
# refusals: those also hold each reconnect's latency (TLS handshake, the admin API's polling)
# and on 2 busy cores (CI load 8-13) that latency can swamp the first delays' growth.
DELAY = re.compile(r"subscriber\.stream: " + re.escape(TRIAL_TOPIC) + r": .*; resubscribing in "
                   r"(\d+(?:\.\d+)?)s")
STATUSES = ("UNAVAILABLE", "INTERNAL")


def abort(cluster: Cluster, rng: random.Random, n: int) -> None:
    """Wait until the abort armed before has fired, then arm the next one (before the next
    batch is published, so it fires within that batch)."""
    if n:
        wait_for(lambda: cluster.admin("/faults/pubsub")["abort"] is None, 60, f"abort {n}")
    lead = rng.random() < 0.2  # the Lead topic carries few events: abort it when idle
    cluster.admin("/faults/pubsub/abort", {
        "status": STATUSES[n % 2], "after_events": 0 if lead else rng.randint(0, 90),
        "topic": LEAD_TOPIC if lead else TRIAL_TOPIC,
        "error_code": "sfdc.platform.eventbus.grpc.service.unavailable",
        "message": "RST_STREAM closed stream. HTTP/2 error code: PROTOCOL_ERROR"})


def outage(cluster: Cluster, seconds: float) -> list[float]:
    """Abort every Subscribe on the trial topic for ``seconds``; when each was refused."""
    refused: list[float] = []
    end = time.monotonic() + seconds
    armed = False
    while time.monotonic() < end:
        plan = cluster.admin("/faults/pubsub")["abort"] if armed else None
        if armed and plan is None:
            refused.append(time.monotonic())
        if plan is None:
            cluster.admin("/faults/pubsub/abort", {"status": "UNAVAILABLE", "after_events": 0,
                                                    "topic": TRIAL_TOPIC})
            armed = True
        threading.Event().wait(0.05)  # polling interval of the fault driver, not a sync
    cluster.admin("/faults/clear", {})
    return refused


@pytest.mark.parametrize("seed", seeds(1, soak=5))
def test_r3_stream_aborts_resubscribe_from_the_checkpoint(seed: int, reference: Reference,
                                                         tmp_path: Path) -> None:
    announce("R3", seed, EVENTS)
    golden = reference(seed, EVENTS)
    rng = random.Random(seed)
    with case_run(tmp_path, seed, EVENTS) as run:
        batches = len(run.workload.batches)
        every = max(1, batches // ABORTS)
        aborts = [0]

        def next_abort(i: int) -> None:
            if i % every == 0 and i + 1 < batches:
                abort(run.cluster, rng, aborts[0])
                aborts[0] += 1

        restart(run.cluster, LIFECYCLE_SYNC_SERVICE_LOG_LEVEL="DEBUG")
        run.cluster.publish(run.workload, after_batch=next_abort)
        wait_for(lambda: run.cluster.admin("/faults/pubsub")["abort"] is None, 60, "last abort")
        run.cluster.wait_idle(run.workload)
        assert run.cluster.sigterm() == 0
        restart(run.cluster, LIFECYCLE_SYNC_PUBSUB_BACKOFF_INITIAL_S="1",
                LIFECYCLE_SYNC_PUBSUB_BACKOFF_MAX_S="60", LIFECYCLE_SYNC_SERVICE_LOG_LEVEL="DEBUG")
        refused = outage(run.cluster, OUTAGE_S)
        verdict = run.finish(golden, "R3")
        log = run.cluster.daemons[0].log_text()
        delays = [float(d) for d in DELAY.findall(run.cluster.daemons[-1].log_text())]
    resubscribes = log.count("subscribing from CUSTOM")
    gaps = [b - a for a, b in itertools.pairwise(refused)]
    print(f"R3 seed={seed}: {aborts[0]} aborts, {resubscribes} CUSTOM resubscribes; "
          f"outage of {OUTAGE_S} s: {len(refused)} attempts, gaps {[round(g, 1) for g in gaps]} s, "
          f"delays chosen {delays} s")
    assert aborts[0] >= min(ABORTS, batches - 1)
    assert resubscribes >= aborts[0]
    assert "subscribing from LATEST" not in log
    _backed_off(refused, gaps, delays)
    verdict.assert_clean()


def _backed_off(refused: list[float], gaps: list[float], delays: list[float]) -> None:
    """The outage's reconnects: exponential, never a tight loop. Jitter puts the k-th delay in
    [base/2, base], the base doubling from 1 s up to the 60 s cap (the log rounds to 0.1 s)."""
    assert 2 <= len(refused) <= 1 + OUTAGE_S / 60 * 10 + 4, refused  # exponential, not tight
    assert min(gaps) >= 0.4  # the product's first delay is 0.5-1 s: never a tight loop
    assert len(delays) >= 4, delays
    for k, delay in enumerate(delays):
        base = min(60.0, 2.0 ** k)
        assert base / 2 - 0.05 <= delay <= base + 0.05, (k, delays)
