"""Issue 10 item 2, "outlasting retention": Salesforce's REST API down (or the daily API
allocation spent) for longer than the Pub/Sub retention window while events keep arriving.

The emulator's retention is shortened to a few seconds. The inbox keeps every event (it
lands them whatever REST does); when REST returns, every event is applied, none lost, and
the final state equals the fault-free run's, although by then the server would no longer
replay the oldest of them. No anchor does this; a subscriber without a durable local inbox
would lose them.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from conftest import Reference
from rel_checker import announce
from rel_faults import restart
from rel_harness import TRIAL_TOPIC, Cluster, wait_for
from rel_params import events, seeds
from rel_run import case_run

from emulator.pubsub.store import now_ms
from emulator.pubsub.subscribe import StreamSettings

EVENTS = events(1000, soak=10_000)
RETENTION_S = 2.5
STREAM = StreamSettings(keepalive_s=0.5, idle_timeout_s=30.0, retention_s=RETENTION_S)


def outside_retention(cluster: Cluster, event_id: str) -> bool:
    """The server would no longer replay ``event_id``: it is older than the retention."""
    store = cluster.emulator.context.bus.store
    seq = next(e.seq for e in store.read_after(TRIAL_TOPIC, 0, 1_000_000)
               if e.event_id == event_id)
    created = store.created_ms(TRIAL_TOPIC, seq)
    return created is not None and created < now_ms() - RETENTION_S * 1000


def go_down(cluster: Cluster, how: str) -> None:
    if how == "rest_down":
        cluster.admin("/faults/org", {"fault": "unavailable"})
    else:  # the org's daily API allocation is spent: 403 REQUEST_LIMIT_EXCEEDED, uncounted
        used = cluster.admin("/org/limits")["api_usage"]
        cluster.admin("/org/settings", {"daily_api_limit": used})


def come_back(cluster: Cluster, how: str) -> None:
    if how == "rest_down":
        cluster.admin("/faults/org/clear", {})
    else:
        cluster.admin("/org/settings", {"daily_api_limit": 100_000})


@pytest.mark.parametrize("how", ["rest_down", "allocation"])
@pytest.mark.parametrize("seed", seeds(1, soak=2))
def test_events_outlast_retention_in_the_inbox_and_are_all_applied(
        seed: int, how: str, reference: Reference, tmp_path: Path) -> None:
    announce(f"retention-{how}", seed, EVENTS)
    golden = reference(seed, EVENTS)
    with case_run(tmp_path, seed, EVENTS, stream=STREAM) as run:
        restart(run.cluster, LIFECYCLE_SYNC_APPLY_LIMIT_PAUSE_S="1",
                LIFECYCLE_SYNC_APPLY_RETRY_MAX_S="2")
        run.cluster.publish(run.workload, after_batch=lambda b: None if b else
                            go_down(run.cluster, how), leads=False)
        first_held = run.workload.batches[1][0].event_id
        wait_for(lambda: len(run.cluster.inbox_rows()) >= len(run.workload.events), 60,
                 "the inbox to land every event while REST is down")
        started = time.monotonic()
        wait_for(lambda: outside_retention(run.cluster, first_held), 60,
                 "the oldest held event to fall out of the server's retention")
        pending = sum(1 for *_, status, _ in run.cluster.inbox_rows() if status == "pending")
        threading.Event().wait(max(0.0, RETENTION_S - (time.monotonic() - started)))
        come_back(run.cluster, how)
        run.cluster.update_deferred_leads(run.workload)
        verdict = run.finish(golden, f"retention-{how}")
    print(f"retention ({how}) seed={seed}: {pending} events held in the inbox past the "
          f"{RETENTION_S} s retention, then applied")
    assert pending >= len(run.workload.events) // 2
    verdict.assert_clean(max_redelivered=0)
