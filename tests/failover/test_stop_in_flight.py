"""A clean stop releases the lease only once no apply cycle or job may still have a Salesforce
request in flight; otherwise the lease is left to expire, so the standby waits the TTL plus
the longest request before its first write (a release would let it write at once)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from pair_rig import Pair, active_and_standby, wait_until

from emulator.org.faults import FaultRule
from scheduler.registry import RealigningScheduler
from service.shutdown import stop_writers

pytestmark = pytest.mark.timeout(240)


def holder(pair: Pair) -> str:
    return str(pair.query("SELECT holder FROM lsync_lease")[0][0])


def test_a_stop_with_a_request_in_flight_does_not_release_the_lease(pair: Pair) -> None:
    a, _b = active_and_standby(pair, LIFECYCLE_SYNC_SERVICE_SHUTDOWN_TIMEOUT_S="2")
    org = pair.emulator.context.org
    stall = org.faults.arm(FaultRule(effect="stall", times=1, stall_s=120))
    try:
        pair.publisher.publish(1)
        wait_until(lambda: stall.fired == 1, 90, 0.1, "a's first request to be held")
        assert a.terminate(30) == 0
        assert f":{a.pid}:" in holder(pair), "released with a request in flight"
        assert "not releasing the lease: apply-" in pair.log(a)
    finally:
        org.faults.clear()


def test_stop_writers_names_what_is_still_running_and_waits_for_what_ends() -> None:
    release = threading.Event()
    ended = threading.Thread(target=lambda: None, name="apply")
    busy = threading.Thread(target=release.wait, name="apply-0", daemon=True)
    ended.start()
    busy.start()
    jobs = RealigningScheduler()
    job_started = threading.Event()

    def job() -> None:
        job_started.set()
        release.wait()

    jobs.start()
    # runs at once; an interval job like the daemon's (a one-shot date job is removed by
    # APScheduler's loop right after it is submitted, which raced the shutdown below once:
    # JobLookupError in the scheduler's thread)
    jobs.add_job(job, "interval", hours=1, next_run_time=datetime.now(UTC))
    assert job_started.wait(10)
    assert stop_writers(ended, [busy], jobs, 0.2) == ["apply-0", "scheduled jobs"]
    release.set()
    assert stop_writers(ended, [busy], jobs, 10) == []
    assert not jobs.running
