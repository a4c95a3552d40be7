"""Shadow mode on a real daemon: the org stays unchanged while counters and log lines show
the intended writes; switching to live then applies each simulated event exactly once."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from svc_rig import Rig
from svc_waiting import wait_until
from test_ops_daemon_logs import MixedPublisher

from benchmarks.rig import TRIAL_TOPIC
from service.config import inbox_path
from service.demo import salesforce_client
from service.shadow import WATERMARK_KEY
from subscriber.events import EntryStatus
from subscriber.inbox import Inbox


def _org_counts(info: dict[str, Any]) -> dict[str, int]:
    sf = salesforce_client(info, "test-reader")
    return {name: int(sf.query(f"SELECT Id FROM {name}")["totalSize"])
            for name in ("Workspace__c", "Lead", "Event_Cache__c")}


def _intended(port: int) -> dict[tuple[str, str], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return {(s.labels["operation"], s.labels["object"]): s.value
            for f in text_string_to_metric_families(text) for s in f.samples
            if s.name == "lifecycle_sync_shadow_intended_writes_total"}


def _settled(port: int) -> float:
    """Events counted as applied or parked (and latencies observed): live outcomes only."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name in ("lifecycle_sync_events_applied_total",
                             "lifecycle_sync_events_parked_total",
                             "lifecycle_sync_apply_latency_seconds_count"))


def _watermark(rig: Rig) -> int:
    with Inbox.open_readonly(inbox_path(rig.state)) as inbox:
        return int(inbox.meta(WATERMARK_KEY) or 0)


def _statuses(rig: Rig) -> list[str]:
    with Inbox.open_readonly(inbox_path(rig.state)) as inbox:
        return [e.status.value for s in EntryStatus
                for e in inbox.entries(s, limit=1000, topic=TRIAL_TOPIC)]


def test_shadow_writes_nothing_then_live_applies_each_event_once(rig: Rig, held_port: int
                                                                 ) -> None:
    info = json.loads(rig.info_file.read_text())
    before = _org_counts(info)
    port = held_port
    shadow = rig.daemon(LIFECYCLE_SYNC_SERVICE_MODE="shadow",
                        LIFECYCLE_SYNC_METRICS_PORT=str(port))
    publisher = MixedPublisher(info)
    publisher.publish(6)  # 3 valid Trials, 3 malformed
    publisher.close()
    wait_until(lambda: rig.stored() == 6 and _watermark(rig) > 0
               and _intended(port).get(("upsert", "Workspace__c"), 0) >= 3
               and _intended(port).get(("upsert", "Event_Cache__c"), 0) >= 3, 60,
               what="shadow simulated every event")
    intended = _intended(port)
    assert intended[("create", "Lead")] == 3
    assert _settled(port) == 0  # simulated events are intended writes, not applied ones
    assert shadow.terminate(20) == 0
    assert _org_counts(info) == before  # the org is unchanged
    assert set(_statuses(rig)) == {"pending"}  # nothing marked: live will apply them
    log = shadow.log_file.read_text()
    assert log.count("shadow: would upsert Workspace__c") == 3
    assert "@" not in "".join(x for x in log.splitlines() if "shadow: would" in x)

    live = rig.daemon()
    wait_until(lambda: set(_statuses(rig)) == {"applied"}, 60, what="live applied all")
    assert live.terminate(20) == 0
    after = _org_counts(info)
    assert after["Workspace__c"] == before["Workspace__c"] + 3
    assert after["Lead"] == before["Lead"] + 3
    assert after["Event_Cache__c"] == before["Event_Cache__c"] + 3
    again = rig.daemon()  # and a restart applies nothing twice
    wait_until(rig.ready, 60, what="READY=1")
    assert again.terminate(20) == 0
    assert _org_counts(info) == after
