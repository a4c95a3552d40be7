"""The sync SLA: raised ONCE when the oldest pending entry is older than the SLA (or parked
Error rows pile up), cleared when back under; a Sentry warning, a gauge, a ``status`` line.

End to end: the daemon as a subprocess on the emulator, Salesforce made unavailable so
events stay pending, the real sentry-sdk posting to a local endpoint; then Salesforce back,
the events applied (parked: the rig publishes malformed data) and the SLA cleared."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from svc_rig import ROOT, Rig
from svc_waiting import wait_until

from benchmarks.rig import child_env
from service.config import SlaConfig
from service.sla import SLA_KEY, SlaMonitor, sla_line
from tests.service.sentry_server import sentry_server
from tests.service.test_ops_metrics import _get, _value


def _sla_state(rig: Rig) -> dict[str, Any] | None:
    found = rig.meta().get(f"x:{SLA_KEY}")  # the inbox keeps set_meta keys under "x:"
    return json.loads(found) if found else None


def test_sla_breach_is_raised_once_and_cleared_on_the_emulator(rig: Rig, held_port: int) -> None:
    org = rig.emulator.org
    port = held_port

    def gauge() -> float | None:
        return _value(_get(port, "/metrics")[1], "lifecycle_sync_sla_breached")

    with sentry_server() as (dsn, envelopes):
        daemon = rig.daemon(LIFECYCLE_SYNC_METRICS_PORT=str(port),
                            LIFECYCLE_SYNC_SLA_PUBLISH_TO_APPLIED_S="1",
                            LIFECYCLE_SYNC_SLA_CHECK_INTERVAL_S="0.3",
                            LIFECYCLE_SYNC_SLA_PARKED_ERRORS_MAX="0", SENTRY_DSN=dsn)
        wait_until(rig.ready, 60, what="READY=1")
        org.faults.arm_preset("unavailable")  # every REST call: 503, so nothing applies
        rig.publisher.publish(3)
        wait_until(lambda: (_sla_state(rig) or {}).get("breached") is True, 60,
                   what="the SLA breach recorded")
        status = subprocess.run(
            [sys.executable, "-m", "service", "status", "--state", str(rig.state)], cwd=ROOT,
            capture_output=True, text=True, timeout=60, check=False, env=child_env())
        assert "sync SLA: BREACHED since" in status.stdout
        assert "the oldest pending event has waited" in status.stdout
        assert gauge() == 1
        org.faults.clear()
        wait_until(lambda: (_sla_state(rig) or {}).get("breached") is False, 120,
                   what="the SLA cleared once the events were applied")
        assert gauge() == 0
        assert daemon.terminate(20) == 0
        sla_events = [e for e in envelopes.items("event") if e["tags"].get("kind") == "sla"]
    log = daemon.log_file.read_text()
    assert log.count("sync SLA breached:") == 1  # once per episode, not per check or event
    assert log.count("sync SLA met again") == 1
    assert len(sla_events) == 1
    assert sla_events[0]["level"] == "warning"
    assert sla_events[0]["fingerprint"] == ["lifecycle-sync", "sla", "sync SLA breached"]
    assert "example.com" not in json.dumps(sla_events)


class _Store:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def meta(self, key: str) -> str | None:
        return self.values.get(key)

    def set_meta(self, key: str, value: str) -> None:
        self.values[key] = value


def test_parked_errors_over_the_threshold_breach_and_no_figure_keeps_the_last() -> None:
    now = [1000.0]
    counts: list[int | None] = [3, 7, None, 4]
    changes: list[bool] = []

    def parked() -> int | None:
        return counts.pop(0)

    store = _Store()
    monitor = SlaMonitor(SlaConfig(parked_errors_max=5, check_interval_s=10), lambda: None,
                         parked, store, changes.append, clock=lambda: now[0])
    assert monitor.check() == []
    assert not monitor.due()
    now[0] += 10
    assert monitor.due()
    assert monitor.check() == ["7 Event_Cache__c rows parked in Error (at most 5)"]
    assert monitor.check() == ["7 Event_Cache__c rows parked in Error (at most 5)"]  # kept
    assert monitor.check() == []
    assert changes == [True, False]  # raised once, cleared once
    line = sla_line(json.loads(store.values[SLA_KEY]))
    assert line is not None
    assert line.startswith("sync SLA: met (last breach ")


def test_no_parked_count_query_when_the_threshold_is_zero() -> None:
    def parked() -> int:
        raise AssertionError("queried although parked_errors_max = 0")

    monitor = SlaMonitor(SlaConfig(parked_errors_max=0, publish_to_applied_s=60),
                         lambda: 61.0, parked, _Store())
    assert monitor.check() == [
        "the oldest pending event has waited 61.0 s since it was published (SLA 60 s)"]


def test_a_monitor_restarted_during_a_breach_clears_it_when_met() -> None:
    store = _Store()
    store.set_meta(SLA_KEY, json.dumps({"breached": True, "since": 500.0,
                                        "reasons": ["the oldest pending event has waited"]}))
    changes: list[bool] = []
    monitor = SlaMonitor(SlaConfig(parked_errors_max=0), lambda: None, None, store,
                         changes.append, clock=lambda: 1000.0)
    assert changes == [True]  # the gauge restored from the saved state
    assert monitor.check() == []
    assert changes == [True, False]
    state = json.loads(store.values[SLA_KEY])
    assert (state["breached"], state["since"], state["cleared_at"]) == (False, 500.0, 1000.0)
    line = sla_line(state)
    assert line is not None
    assert line.startswith("sync SLA: met (last breach ")
