"""The scheduler core with a controllable clock: a restart or a clock jump runs a missed job
once, never twice; a failing job is recorded and reported and never stops the others; jobs
run on APScheduler's threads, one instance at a time."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sched_rig import FakeClock

from scheduler.registry import build_scheduler, realign
from scheduler.runner import JobRunner
from scheduler.runs import RunStore
from scheduler.settings import AlertSettings, RetrySettings, SchedulerSettings
from scheduler.timing import RETRY_FAILED_AFTER, first_run_at, is_due, next_fire, triggers

UTC = dt.UTC
SETTINGS = SchedulerSettings(retry=RetrySettings(interval_min=5),
                             alerts=AlertSettings(at=dt.time(9, 0), timezone="Europe/Paris"))


def _runner(tmp_path: Path, clock: FakeClock, calls: dict[str, list[dt.datetime]],
            fail: set[str] | None = None) -> tuple[JobRunner, RunStore]:
    store = RunStore(tmp_path / "jobs.db")

    def job(name: str):
        def run(now: dt.datetime) -> str:
            calls.setdefault(name, []).append(now)
            if name in (fail or set()):
                raise RuntimeError(f"{name} broke")
            return "fine"
        return run

    names = ("retry-parked", "trial-alerts", "retention")
    return JobRunner({n: job(n) for n in names}, triggers(SETTINGS), store, clock), store


def test_alerts_fire_at_the_configured_local_time_across_dst() -> None:
    alerts = triggers(SETTINGS)["trial-alerts"]
    winter = next_fire(alerts, dt.datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    summer = next_fire(alerts, dt.datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    assert winter == dt.datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert summer == dt.datetime(2026, 7, 2, 7, 0, tzinfo=UTC)  # 09:00 CEST


@pytest.mark.parametrize(("last", "now", "expected"), [
    # never run: wait for the schedule
    (None, dt.datetime(2026, 11, 30, 9, 3, tzinfo=UTC), dt.datetime(2026, 11, 30, 9, 5,
                                                                    tzinfo=UTC)),
    # down for three days: once, now
    (dt.datetime(2026, 11, 27, 9, 0, tzinfo=UTC), dt.datetime(2026, 11, 30, 9, 3, tzinfo=UTC),
     dt.datetime(2026, 11, 30, 9, 3, tzinfo=UTC)),
    # clock went back an hour before the last run: per schedule from now (no stall)
    (dt.datetime(2026, 11, 30, 9, 0, tzinfo=UTC), dt.datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
     dt.datetime(2026, 11, 30, 8, 5, tzinfo=UTC)),
    # back by less than the tolerance: the next fire after the last run
    (dt.datetime(2026, 11, 30, 9, 0, tzinfo=UTC), dt.datetime(2026, 11, 30, 8, 59, tzinfo=UTC),
     dt.datetime(2026, 11, 30, 9, 5, tzinfo=UTC)),
])
def test_first_run_after_a_start(last, now, expected) -> None:
    assert first_run_at(triggers(SETTINGS)["retry-parked"], last, now) == expected


def test_clock_jump_forward_runs_a_missed_job_once(tmp_path: Path, clock: FakeClock) -> None:
    calls: dict[str, list[dt.datetime]] = {}
    runner, _ = _runner(tmp_path, clock, calls)
    runner.run("trial-alerts")  # 09:00 UTC (10:00 Paris): the last run
    clock.advance(days=3, hours=2)  # three fire times missed
    outcomes = [runner.fire("trial-alerts") for _ in range(4)]  # APScheduler fires, repeated
    assert [o.ran for o in outcomes] == [True, False, False, False]
    assert len(calls["trial-alerts"]) == 2


def test_clock_jump_back_never_repeats_a_run(tmp_path: Path, clock: FakeClock) -> None:
    calls: dict[str, list[dt.datetime]] = {}
    runner, _ = _runner(tmp_path, clock, calls)
    clock.set(dt.datetime(2026, 11, 30, 8, 0, tzinfo=UTC))  # 09:00 Paris: the daily fire
    assert runner.fire("trial-alerts").ran
    clock.set(dt.datetime(2026, 11, 30, 6, 30, tzinfo=UTC))  # back before today's fire time
    clock.advance(hours=1, minutes=30)  # ... and forward through it again
    assert not runner.fire("trial-alerts").ran
    clock.set(dt.datetime(2026, 12, 1, 8, 0, tzinfo=UTC))  # tomorrow's fire time
    assert runner.fire("trial-alerts").ran
    assert len(calls["trial-alerts"]) == 2


def test_restart_runs_a_job_missed_while_down_once(tmp_path: Path, clock: FakeClock) -> None:
    calls: dict[str, list[dt.datetime]] = {}
    runner, store = _runner(tmp_path, clock, calls)
    runner.run("retention")
    runner.run("trial-alerts")
    store.close()
    clock.advance(days=2)  # the daemon was down for two days
    runner, store = _runner(tmp_path, clock, calls)  # restart: the same jobs.db
    scheduler = build_scheduler(runner, store, SETTINGS, clock)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    # not started: the first run times are as computed (pending jobs keep them)
    assert jobs["trial-alerts"].kwargs == {}
    assert jobs["trial-alerts"].args == ("trial-alerts",)
    assert store.state("trial-alerts").next_run_at == clock()  # missed: once, now
    assert store.state("retention").next_run_at == clock()
    assert store.state("retry-parked").next_run_at == dt.datetime(2026, 12, 2, 9, 5, tzinfo=UTC)
    for name in ("trial-alerts", "trial-alerts", "retention"):
        runner.fire(name)
    assert len(calls["trial-alerts"]) == 2
    assert len(calls["retention"]) == 2


def test_scheduler_job_options(tmp_path: Path, clock: FakeClock) -> None:
    runner, store = _runner(tmp_path, clock, {})
    scheduler = build_scheduler(runner, store, SETTINGS, clock)
    scheduler.start(paused=True)
    try:
        for job in scheduler.get_jobs():
            assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, None)
    finally:
        scheduler.shutdown(wait=False)


def test_a_failing_job_is_recorded_and_reported_once_and_others_run(
        tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    calls: dict[str, list[dt.datetime]] = {}
    runner, store = _runner(tmp_path, clock, calls, fail={"retention"})
    with caplog.at_level(logging.DEBUG, logger="lifecycle_sync.jobs"):
        first = runner.run("retention")
        second = runner.run("retention")
        other = runner.run("retry-parked")
    assert (first.ok, second.ok, other.ok) == (False, False, True)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "retention broke" in warnings[0].getMessage()
    state = store.state("retention")
    assert (state.last_result, state.runs, state.failures) == ("failed", 2, 2)
    assert "RuntimeError: retention broke" in state.last_summary


def test_jobs_run_on_scheduler_threads_one_instance_at_a_time(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "jobs.db")
    started, release, done = threading.Event(), threading.Event(), threading.Event()
    threads: list[str] = []

    def slow(now: dt.datetime) -> str:
        threads.append(threading.current_thread().name)
        started.set()
        assert release.wait(30)
        return "slow"

    def broken(now: dt.datetime) -> str:
        raise RuntimeError("boom")

    def quick(now: dt.datetime) -> str:
        done.set()
        return "quick"

    runner = JobRunner({"retry-parked": slow, "retention": broken, "trial-alerts": quick},
                       triggers(SETTINGS), store)
    scheduler = build_scheduler(runner, store, SETTINGS)
    now = dt.datetime.now(UTC)
    for job in scheduler.get_jobs():  # everything due now
        job.modify(next_run_time=now)
    scheduler.start()
    try:
        assert started.wait(30)
        assert done.wait(30)
        assert runner.run("retry-parked").summary == "already running"  # max one instance
        release.set()
    finally:
        release.set()
        scheduler.shutdown(wait=True)
    assert threads
    assert threads[0] not in ("intake", "apply", "MainThread")
    assert store.state("retention").last_result == "failed"
    assert store.state("trial-alerts").last_result == "ok"


def test_is_due_never_before_the_first_fire() -> None:
    retry = triggers(SETTINGS)["retry-parked"]
    assert not is_due(retry, None, dt.datetime(2026, 11, 30, 9, 0, tzinfo=UTC))


def _apscheduler_on(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """APScheduler's wall clock replaced by the test's."""

    class FakeDatetime(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> FakeDatetime:  # type: ignore[override]
            return clock().astimezone(tz)  # type: ignore[return-value]

    monkeypatch.setattr("apscheduler.schedulers.base.datetime", FakeDatetime)
    monkeypatch.setattr("apscheduler.executors.base.datetime", FakeDatetime)


def _nothing_pending(scheduler: BackgroundScheduler, clock: FakeClock) -> bool:
    """Deterministic: no job has a fire time that has come (so none can start)."""
    return all(job.next_run_time is None or job.next_run_time > clock()
               for job in scheduler.get_jobs())


def test_a_daily_job_missed_by_hours_in_a_forward_jump_runs_once(
        tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real BackgroundScheduler: 08:59 -> 16:00 jumps over the 09:00 alert time by 7 h
    (beyond any grace): the alert job still runs, once, and next runs tomorrow."""
    _apscheduler_on(clock, monkeypatch)
    utc = SchedulerSettings(alerts=AlertSettings(at=dt.time(9, 0), timezone="UTC"))
    store = RunStore(tmp_path / "jobs.db")
    ran = threading.Semaphore(0)
    runs: list[dt.datetime] = []

    def alerts(now: dt.datetime) -> str:
        runs.append(now)
        ran.release()
        return "ok"

    runner = JobRunner({"trial-alerts": alerts}, triggers(utc), store, clock)
    clock.set(dt.datetime(2026, 11, 29, 9, 0, tzinfo=UTC))
    runner.run("trial-alerts")  # yesterday's run
    runs.clear()
    clock.set(dt.datetime(2026, 11, 30, 8, 59, tzinfo=UTC))
    scheduler = build_scheduler(runner, store, utc, clock)
    scheduler.start()
    try:
        clock.set(dt.datetime(2026, 11, 30, 16, 0, tzinfo=UTC))
        scheduler.wakeup()
        assert ran.acquire(timeout=30)
        scheduler.wakeup()
        deadline = threading.Event()
        for _ in range(300):  # APScheduler updates the job after submitting it
            if _nothing_pending(scheduler, clock):
                break
            deadline.wait(0.01)
        assert _nothing_pending(scheduler, clock)
    finally:
        scheduler.shutdown(wait=True)
    assert runs == [dt.datetime(2026, 11, 30, 16, 0, tzinfo=UTC)]
    assert store.state("trial-alerts").next_run_at == dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_apscheduler_coalesces_a_clock_jump_into_one_run(
        tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real BackgroundScheduler, its wall clock replaced by the test's: an hour's jump
    forward (twelve missed retry fires) runs the job once; a jump back runs nothing."""
    _apscheduler_on(clock, monkeypatch)
    store = RunStore(tmp_path / "jobs.db")
    ran = threading.Semaphore(0)
    runs: list[dt.datetime] = []

    def retry(now: dt.datetime) -> str:
        runs.append(now)
        ran.release()
        return "ok"

    runner = JobRunner({"retry-parked": retry}, triggers(SETTINGS), store, clock)
    scheduler = build_scheduler(runner, store, SETTINGS, clock)
    scheduler.start()
    try:
        clock.advance(hours=1)
        scheduler.wakeup()
        assert ran.acquire(timeout=30)
        scheduler.wakeup()  # nothing more is due: the next fire is in the future
        clock.advance(hours=-2)  # the clock goes back
        scheduler.wakeup()
        assert _nothing_pending(scheduler, clock)  # no fire time has come: nothing can run
    finally:
        scheduler.shutdown(wait=True)
    assert runs == [dt.datetime(2026, 11, 30, 10, 0, tzinfo=UTC)]
    assert store.state("retry-parked").runs == 1


def test_a_failed_run_is_retried_soon_not_a_day_later(tmp_path: Path, clock: FakeClock
                                                      ) -> None:
    calls: dict[str, list[dt.datetime]] = {}
    runner, store = _runner(tmp_path, clock, calls, fail={"trial-alerts"})
    retries: list[tuple[str, dt.datetime]] = []
    runner.on_retry = lambda name, at: retries.append((name, at))
    assert not runner.run("trial-alerts").ok  # 09:00: fails
    assert retries == [("trial-alerts", clock() + RETRY_FAILED_AFTER)]
    assert store.state("trial-alerts").next_run_at == clock() + RETRY_FAILED_AFTER
    clock.advance(minutes=5)
    assert not runner.fire("trial-alerts").ran  # the short backoff first
    clock.advance(minutes=5)
    assert runner.fire("trial-alerts").ran  # 09:10: retried, not tomorrow
    assert len(calls["trial-alerts"]) == 2


def test_a_killed_run_is_retried_after_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    calls: dict[str, list[dt.datetime]] = {}
    runner, store = _runner(tmp_path, clock, calls)
    store.started("retention", clock())  # killed half-way: never finished
    store.close()
    clock.advance(minutes=3)
    runner, store = _runner(tmp_path, clock, calls)
    build_scheduler(runner, store, SETTINGS, clock)
    assert store.state("retention").next_run_at == dt.datetime(2026, 11, 30, 9, 10, tzinfo=UTC)
    clock.advance(minutes=7)
    assert runner.fire("retention").ran
    assert store.state("retention").last_result == "ok"


def _wait_for(found: Callable[[], list[Any]], timeout_s: float = 30.0) -> list[Any]:
    """Poll (with a deadline) until ``found`` returns something."""
    deadline = time.monotonic() + timeout_s
    while not (result := found()) and time.monotonic() < deadline:
        threading.Event().wait(0.01)
    return result


def test_a_failed_run_schedules_one_extra_fire(tmp_path: Path, clock: FakeClock) -> None:
    runner, store = _runner(tmp_path, clock, {}, fail={"retention"})
    scheduler = build_scheduler(runner, store, SETTINGS, clock)
    scheduler.start(paused=True)
    try:
        # Each failure adds its fire from a thread of its own: wait for it before the next
        # failure, or (on a loaded machine) an older fire can land after a newer one.
        for _ in range(3):  # a second and third failure replace the extra fire, never add one
            clock.advance(minutes=1)
            runner.run("retention")
            _wait_for(lambda: [j for j in scheduler.get_jobs() if j.id.endswith(
                "+retry") and j.trigger.run_date == clock() + RETRY_FAILED_AFTER])
        extra = [job for job in scheduler.get_jobs() if job.id.startswith("retention+")]
    finally:
        scheduler.shutdown(wait=False)
    assert len(extra) == 1
    assert extra[0].trigger.run_date == clock() + RETRY_FAILED_AFTER


def test_a_last_run_stamped_in_the_future_does_not_stall_the_job(
        tmp_path: Path, clock: FakeClock) -> None:
    """A bogus jump forward of a year, corrected: retry-parked runs per schedule from now."""
    calls: dict[str, list[dt.datetime]] = {}
    runner, store = _runner(tmp_path, clock, calls)
    clock.set(dt.datetime(2027, 11, 30, 9, 0, tzinfo=UTC))  # the bogus jump
    runner.run("retry-parked")
    clock.set(dt.datetime(2026, 11, 30, 9, 1, tzinfo=UTC))  # corrected
    scheduler = build_scheduler(runner, store, SETTINGS, clock)
    assert store.state("retry-parked").next_run_at == dt.datetime(2026, 11, 30, 9, 5,
                                                                  tzinfo=UTC)
    clock.advance(minutes=4)
    assert runner.fire("retry-parked").ran
    assert not runner.fire("retry-parked").ran  # and then per schedule again
    scheduler.get_job("retry-parked").modify(  # APScheduler's own fire time, still bogus
        next_run_time=dt.datetime(2027, 11, 30, 9, 5, tzinfo=UTC))
    assert realign(scheduler, triggers(SETTINGS), clock()) == ["retry-parked"]
    assert scheduler.get_job("retry-parked").next_run_time == dt.datetime(
        2026, 11, 30, 9, 10, tzinfo=UTC)
    assert realign(scheduler, triggers(SETTINGS), clock()) == []


def test_a_run_with_nothing_to_do_logs_at_debug_only(
        tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    from scheduler.retry_parked import RetryTotals

    store = RunStore(tmp_path / "jobs.db")
    runner = JobRunner({"retry-parked": lambda now: RetryTotals().summary(),
                        "retention": lambda now: RetryTotals(completed=2).summary()},
                       triggers(SETTINGS), store, clock)
    with caplog.at_level(logging.DEBUG, logger="lifecycle_sync.jobs"):
        runner.run("retry-parked")
        runner.run("retention")
    levels = {r.getMessage().split(":")[0]: r.levelno for r in caplog.records}
    assert levels == {"job retry-parked": logging.DEBUG, "job retention": logging.INFO}
    assert store.state("retry-parked").last_summary.startswith("0 completed, 0 still waiting")
