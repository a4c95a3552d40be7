"""Metrics and health of a real daemon on a loopback port, and what it tells systemd over a
local datagram socket standing in for ``$NOTIFY_SOCKET``: scraped, not mocked."""

from __future__ import annotations

from pathlib import Path

from helpers.http_get import http_get as _get
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from svc_rig import Rig
from svc_waiting import wait_until

from service.health import Health
from service.metrics import Metrics

TRIAL = "/event/SelfServeTrialEvent__e"


def _value(text: str, name: str, **labels: str) -> float | None:
    """The sample ``name`` with exactly ``labels`` in a Prometheus text scrape, or None."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def test_metrics_health_and_sd_notify_of_a_real_daemon(rig: Rig, held_port: int) -> None:
    port = held_port
    daemon = rig.daemon(LIFECYCLE_SYNC_METRICS_PORT=str(port), WATCHDOG_USEC="400000")
    wait_until(lambda: _get(port, "/readyz")[0] == 200, 60, what="/readyz ready")
    assert _get(port, "/healthz") == (200, "ok\n")
    rig.publisher.publish(12)  # Trial/Conversion/Churn, malformed data: parked
    def all_parked() -> bool:  # the inbox is marked first, the counters right after
        text = _get(port, "/metrics")[1]
        parked = [_value(text, "lifecycle_sync_events_parked_total", topic=TRIAL, type=kind)
                  for kind in ("Trial", "Conversion", "Churn")]
        return (_value(text, "lifecycle_sync_inbox_entries", topic=TRIAL, status="pending") == 0
                and sum(p or 0 for p in parked) == 12)

    wait_until(all_parked, 60, what="every event parked")
    status, text = _get(port, "/metrics")
    assert status == 200
    for kind in ("Trial", "Conversion", "Churn"):
        assert _value(text, "lifecycle_sync_events_received_total", topic=TRIAL, type=kind) == 4
        assert _value(text, "lifecycle_sync_events_parked_total", topic=TRIAL, type=kind) == 4
    assert _value(text, "lifecycle_sync_apply_latency_seconds_count") == 12
    assert _value(text, "lifecycle_sync_inbox_entries", topic=TRIAL, status="parked") == 12
    used = _value(text, "lifecycle_sync_api_calls_used")
    remaining = _value(text, "lifecycle_sync_api_calls_remaining")
    assert used is not None, text
    assert used > 0
    assert remaining is not None
    assert remaining > 0
    assert _value(text, "lifecycle_sync_inbox_oldest_pending_age_seconds", topic=TRIAL) == 0
    since = _value(text, "lifecycle_sync_seconds_since_keepalive", topic=TRIAL)
    assert since is not None
    assert since < 30
    assert _value(text, "lifecycle_sync_reconnects_total", topic=TRIAL) == 0
    notify = rig.notifies[-1]
    wait_until(lambda: notify.seen("WATCHDOG=1"), 30, what="a watchdog ping")
    wait_until(lambda: any(m.startswith("STATUS=ready;") and "parked" in m
                           for m in notify.drain()), 30, what="a STATUS= summary")
    assert daemon.terminate(20) == 0
    assert _get(port, "/healthz")[0] == 0  # the port is closed with the daemon


def test_metrics_are_off_by_default(rig: Rig) -> None:
    daemon = rig.daemon()
    wait_until(rig.ready, 60, what="READY=1")
    assert daemon.terminate(20) == 0
    assert "metrics and health on" not in daemon.log_text()  # no server started at all


class _Apply:
    def __init__(self) -> None:
        self.cycles = 0
        self.holding = False

    def waiting_by_design(self) -> bool:
        return self.holding


def test_apply_stuck_only_when_entries_wait_and_no_cycle_finishes(tmp_path: Path) -> None:
    from subscriber.inbox import Inbox

    now = [1000.0]
    inbox_file = tmp_path / "inbox.db"
    Inbox(inbox_file).close()
    apply = _Apply()
    health = Health([TRIAL], inbox_file, apply, lambda: True, stuck_after_s=60,
                    clock=lambda: now[0])
    ages: list[float | None] = [None]
    health.oldest_pending_s = lambda: ages[0]  # type: ignore[method-assign]
    assert health.problems() == [f"not subscribed: {TRIAL}"]
    health.subscribed(TRIAL)
    assert health.problems() == []
    now[0] += 120
    assert health.apply_stuck() == ""  # idle by design: nothing pending
    ages[0] = 100.0
    assert "apply stuck" in health.apply_stuck()
    apply.holding = True  # a REQUEST_LIMIT_EXCEEDED pause or a backoff: waiting on purpose
    assert health.apply_stuck() == ""
    apply.holding = False
    apply.cycles += 1  # progress
    assert health.apply_stuck() == ""


def test_shadow_caught_up_is_idle_by_design_not_stuck(tmp_path: Path) -> None:
    """Shadow mode leaves simulated entries pending for live mode: they must not age into
    "apply stuck" (a 503 /readyz and a starved watchdog) once the loop has caught up."""
    import time

    from service.shadow import ShadowInbox
    from subscriber.events import DecodedEvent, EntryKind
    from subscriber.inbox import Inbox

    def event(n: int) -> DecodedEvent:
        return DecodedEvent(topic=TRIAL, replay_id=bytes([0, 0, 0, n]), event_id=f"e{n}",
                            schema_id="s1", kind=EntryKind.EVENT, payload={"n": n})

    inbox_file = tmp_path / "inbox.db"
    with Inbox(inbox_file, clock=lambda: time.time() - 1000) as inbox:  # stored long ago
        inbox.store_batch(TRIAL, [event(n) for n in (1, 2, 3)], bytes([0, 0, 0, 3]))
        ShadowInbox(inbox).mark_done([e.id for e in inbox.pending()], {})
    now = [1000.0]

    def health(shadow: bool) -> Health:
        found = Health([TRIAL], inbox_file, _Apply(), lambda: True, stuck_after_s=60,
                       clock=lambda: now[0], shadow=shadow)
        found.subscribed(TRIAL)
        return found

    shadow, live = health(True), health(False)
    assert shadow.problems() == live.problems() == []  # first look: cycle count noted
    now[0] += 120  # no cycle for twice the threshold: the shadow loop has nothing to do
    assert shadow.problems() == []
    assert "apply stuck" in live.apply_stuck()  # the same file read as live mode owes work
    with Inbox(inbox_file, clock=lambda: time.time() - 1000) as inbox:
        inbox.store_batch(TRIAL, [event(4)], bytes([0, 0, 0, 4]))  # above the watermark
    assert "apply stuck" in shadow.apply_stuck()


def test_limit_info_header_parsed() -> None:
    metrics = Metrics([TRIAL], Path("/nonexistent/inbox.db"))
    metrics.limit_info("api-usage=25/15000")
    assert metrics.api_used._value.get() == 25
    assert metrics.api_remaining._value.get() == 14975
    metrics.limit_info(None)
    assert metrics.api_used._value.get() == 25


def test_job_runs_and_failures_are_counted(tmp_path: Path) -> None:
    import datetime as dt

    from scheduler.runner import JobRunner
    from scheduler.runs import RunStore
    from scheduler.settings import SchedulerSettings
    from scheduler.timing import triggers
    from service.jobs_wiring import _counted

    metrics = Metrics([TRIAL], tmp_path / "inbox.db")

    def failing(now: dt.datetime) -> str:
        raise RuntimeError("no")

    jobs = {"retry-parked": _counted("retry-parked", lambda now: "ok", metrics),
            "trial-alerts": _counted("trial-alerts", failing, metrics),
            "retention": _counted("retention", lambda now: "ok", metrics)}
    store = RunStore(tmp_path / "jobs.db")
    try:
        runner = JobRunner(jobs, triggers(SchedulerSettings()), store)
        runner.run("retry-parked")
        runner.run("trial-alerts")
        runner.run("trial-alerts")
    finally:
        store.close()
    text = generate_latest(metrics.registry).decode()
    assert _value(text, "lifecycle_sync_job_runs_total", job="retry-parked") == 1
    assert _value(text, "lifecycle_sync_job_runs_total", job="trial-alerts") == 2
    assert _value(text, "lifecycle_sync_job_failures_total", job="trial-alerts") == 2
    assert _value(text, "lifecycle_sync_job_failures_total", job="retry-parked") is None
