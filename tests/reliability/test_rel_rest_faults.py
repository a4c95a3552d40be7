"""R8 (REST 500/503 bursts) and R9 (403 REQUEST_LIMIT_EXCEEDED for a while).

Pass (reliability-anchors §6):

* R8: retried with backoff (calls during a burst stay few: no tight loop); no platform event
  is marked applied while every call fails (the daemon's position in applying never passes
  a failing event); the final state equals the fault-free run's.
* R9: applying pauses (a handful of probe calls, not one per event), exactly **one** warning
  for the episode in the log and one Sentry warning (a local Sentry endpoint; the daemon is
  stopped with SIGTERM first, so its queue is flushed), the intake keeps landing events in
  the inbox meanwhile (our design: the durable inbox is the back-pressure buffer, so
  FetchRequests go on), then it catches up with 0 lost.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from conftest import Reference
from rel2_rig import slow_sentry
from rel_checker import announce
from rel_faults import restart
from rel_harness import TRIAL_TOPIC, Cluster, wait_for
from rel_params import SOAK, events, seeds
from rel_run import case_run

EVENTS = events(1000, soak=10_000)
BURST_S = 30.0 if SOAK else 3.0
LIMIT_S = 600.0 if SOAK else 4.0
LIMIT_PAUSE_S = 2.0
LIMIT_ALERT = ["lifecycle-sync", "apply", "REQUEST_LIMIT_EXCEEDED"]  # R9's Sentry fingerprint


def applied_trials(cluster: Cluster) -> set[str]:
    return {eid for topic, eid, status, _ in cluster.inbox_rows()
            if topic == TRIAL_TOPIC and status == "applied"}


def fired(cluster: Cluster) -> int:
    return sum(int(r["fired"]) for r in cluster.admin("/faults/org")["rules"])


def burst(cluster: Cluster, fault: str, seconds: float) -> tuple[int, set[str]]:
    """Every org call fails with ``fault`` for ``seconds``; (calls refused, events newly
    marked applied while the fault held)."""
    cluster.admin("/faults/org", {"fault": fault})
    wait_for(lambda: fired(cluster) >= 1, 60, f"a call refused with {fault}")
    before = applied_trials(cluster)
    threading.Event().wait(seconds)  # the outage's length is the fault, not a sync
    during = applied_trials(cluster) - before
    refused = fired(cluster)
    cluster.admin("/faults/org/clear", {})
    return refused, during


@pytest.mark.parametrize("seed", seeds(1, soak=3))
def test_r8_rest_5xx_bursts_are_retried_and_nothing_passes_them(
        seed: int, reference: Reference, tmp_path: Path) -> None:
    announce("R8", seed, EVENTS)
    golden = reference(seed, EVENTS)
    with case_run(tmp_path, seed, EVENTS) as run:
        half = len(run.workload.batches) // 2
        outcomes: list[tuple[int, set[str]]] = []

        def bursts(batch: int) -> None:
            if batch in (half // 2, half + half // 2):
                outcomes.append(burst(run.cluster, ("server_error", "unavailable")[
                    len(outcomes)], BURST_S))

        restart(run.cluster)
        run.cluster.publish(run.workload, after_batch=bursts)
        verdict = run.finish(golden, "R8")
    print(f"R8 seed={seed}: bursts of {BURST_S} s: calls refused "
          f"{[n for n, _ in outcomes]}, events applied meanwhile {[len(d) for _, d in outcomes]}")
    assert len(outcomes) == 2
    for refused, during in outcomes:
        assert not during
        assert refused <= 10 * BURST_S  # six workers backing off, not a tight loop
    verdict.assert_clean()


@pytest.mark.parametrize("seed", seeds(1, soak=2))
def test_r9_request_limit_pauses_applying_with_one_warning(
        seed: int, reference: Reference, tmp_path: Path) -> None:
    announce("R9", seed, EVENTS)
    golden = reference(seed, EVENTS)
    with case_run(tmp_path, seed, EVENTS) as run, slow_sentry() as (dsn, envelopes):
        half = len(run.workload.batches) // 2
        landed: list[int] = []
        outcome: list[tuple[int, set[str]]] = []

        def limit(batch: int) -> None:
            if batch == half:
                run.cluster.admin("/faults/org", {"fault": "request_limit"})
                wait_for(lambda: fired(run.cluster) >= 1, 60, "REQUEST_LIMIT_EXCEEDED")
                before = applied_trials(run.cluster)
                landed.append(len(run.cluster.inbox_rows()))
                run.cluster.publish(run.workload, start_batch=half + 1, leads=False)
                wait_for(lambda: len(run.cluster.inbox_rows()) >= len(run.workload.events),
                         60, "the intake to land events while applying is paused")
                threading.Event().wait(LIMIT_S)  # the limit's length is the fault
                outcome.append((fired(run.cluster), applied_trials(run.cluster) - before))
                run.cluster.admin("/faults/org/clear", {})
                run.cluster.update_deferred_leads(run.workload)

        restart(run.cluster, LIFECYCLE_SYNC_APPLY_LIMIT_PAUSE_S=str(LIMIT_PAUSE_S),
                SENTRY_DSN=dsn)
        run.cluster.publish(run.workload, after_batch=lambda b: limit(b) if b <= half else None)
        verdict = run.finish(golden, "R9")
        assert run.cluster.sigterm() == 0  # Sentry's queue flushed: every report is in
        log = run.cluster.logs()
    alerts = [e for e in envelopes.items("event") if e.get("fingerprint") == LIMIT_ALERT]
    refused, during = outcome[0]
    warnings = log.count("Salesforce API limit reached")
    print(f"R9 seed={seed}: limit for {LIMIT_S} s: {refused} calls refused, {warnings} "
          f"warning(s), {len(alerts)} Sentry alert(s), inbox {landed[0]} -> "
          f"{len(run.workload.events)}+ entries meanwhile")
    assert not during
    assert refused <= 6 + 2 * LIMIT_S / LIMIT_PAUSE_S  # probes, not one call per event
    assert warnings == 1
    assert [a.get("level") for a in alerts] == ["warning"], alerts
    verdict.assert_clean()
