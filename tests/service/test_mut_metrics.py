"""``/metrics`` as a scraper reads it (prometheus-client's exposition of the daemon's own
registry, inbox figures read from a real SQLite file): every metric's name, help text and
labels, the API-limit gauges and the inbox gauges (mutation testing found these unpinned)."""

from __future__ import annotations

from pathlib import Path

from helpers.decoded_events import trial_event
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from service.metrics import Metrics
from subscriber.inbox import Inbox

TOPIC = "/event/SelfServeTrialEvent__e"
HELP = {
    "lifecycle_sync_events_received": "Events landed in the inbox",
    "lifecycle_sync_events_applied": "Events applied to Salesforce",
    "lifecycle_sync_events_parked": "Events parked in Event_Cache__c",
    "lifecycle_sync_events_failed": "Events neither applied nor parked (poison: undecodable at "
                                    "intake, or given up by apply)",
    "lifecycle_sync_apply_latency_seconds": "From landing in the inbox to applied or parked",
    "lifecycle_sync_reconnects": "Stream reconnects",
    "lifecycle_sync_api_calls_used": "API calls used in the org's 24 h window "
                                     "(Sforce-Limit-Info)",
    "lifecycle_sync_api_calls_remaining": "API calls left in the org's 24 h window",
    "lifecycle_sync_job_runs": "Scheduled job runs",
    "lifecycle_sync_job_failures": "Scheduled job failures",
    "lifecycle_sync_sla_breached": "1 while the sync SLA is breached (service/sla.py), else 0",
    "lifecycle_sync_shadow_intended_writes": "Writes shadow mode decided on but did not send",
    "lifecycle_sync_seconds_since_keepalive": "Seconds since the topic last showed life",
    "lifecycle_sync_inbox_entries": "Inbox entries by topic and status",
    "lifecycle_sync_inbox_oldest_pending_age_seconds": "Age of the oldest entry not yet applied",
}


def scrape(metrics: Metrics) -> dict[str, tuple[str, list[tuple[str, dict[str, str], float]]]]:
    text = generate_latest(metrics.registry).decode()
    return {f.name: (f.documentation, [(s.name, s.labels, s.value) for s in f.samples])
            for f in text_string_to_metric_families(text)}



def test_every_metric_has_its_documented_name_and_help_text(tmp_path: Path) -> None:
    Inbox(tmp_path / "inbox.db").close()
    found = scrape(Metrics([TOPIC], tmp_path / "inbox.db"))
    assert {name: help_text for name, (help_text, _) in found.items()
            if not name.endswith("_created")} == HELP


def test_per_topic_series_exist_from_the_start(tmp_path: Path) -> None:
    now = [100.0]
    Inbox(tmp_path / "inbox.db").close()
    metrics = Metrics([TOPIC], tmp_path / "inbox.db", clock=lambda: now[0])
    now[0] = 112.5
    found = scrape(metrics)
    assert found["lifecycle_sync_reconnects"][1] == [
        ("lifecycle_sync_reconnects_total", {"topic": TOPIC}, 0.0)]
    assert found["lifecycle_sync_seconds_since_keepalive"][1] == [
        ("lifecycle_sync_seconds_since_keepalive", {"topic": TOPIC}, 12.5)]
    metrics.alive(TOPIC)
    assert scrape(metrics)["lifecycle_sync_seconds_since_keepalive"][1][0][2] == 0.0


def test_api_limit_gauges_follow_the_latest_limit_info_header(tmp_path: Path) -> None:
    Inbox(tmp_path / "inbox.db").close()
    metrics = Metrics([TOPIC], tmp_path / "inbox.db")
    metrics.limit_info("api-usage=25/15000")
    metrics.limit_info(None)  # a response without the header changes nothing
    found = scrape(metrics)
    assert found["lifecycle_sync_api_calls_used"][1][0][2] == 25.0
    assert found["lifecycle_sync_api_calls_remaining"][1][0][2] == 14975.0
    metrics.limit_info("api-usage=16000/15000")
    assert scrape(metrics)["lifecycle_sync_api_calls_remaining"][1][0][2] == 0.0


def test_inbox_gauges_count_entries_by_status_and_age_only_pending_ones(tmp_path: Path) -> None:
    with Inbox(tmp_path / "inbox.db") as inbox:
        inbox.store_batch(TOPIC, [trial_event(1), trial_event(2)], (2).to_bytes(4, "big"))
        inbox.mark_applied([e.id for e in inbox.pending()])
    found = scrape(Metrics([TOPIC], tmp_path / "inbox.db"))
    entries = {s[1]["status"]: s[2] for s in found["lifecycle_sync_inbox_entries"][1]}
    assert entries == {"pending": 0.0, "applied": 2.0, "parked": 0.0, "poison": 0.0}
    assert found["lifecycle_sync_inbox_oldest_pending_age_seconds"][1] == [
        ("lifecycle_sync_inbox_oldest_pending_age_seconds", {"topic": TOPIC}, 0.0)]


def test_jobs_and_shadow_writes_are_counted_by_name(tmp_path: Path) -> None:
    Inbox(tmp_path / "inbox.db").close()
    metrics = Metrics([TOPIC], tmp_path / "inbox.db")
    metrics.job("retention", ok=True)
    metrics.job("retention", ok=False)
    metrics.intended("create", "Lead")
    found = scrape(metrics)
    assert found["lifecycle_sync_job_runs"][1] == [
        ("lifecycle_sync_job_runs_total", {"job": "retention"}, 2.0)]
    assert found["lifecycle_sync_job_failures"][1] == [
        ("lifecycle_sync_job_failures_total", {"job": "retention"}, 1.0)]
    assert found["lifecycle_sync_shadow_intended_writes"][1] == [
        ("lifecycle_sync_shadow_intended_writes_total",
         {"operation": "create", "object": "Lead"}, 1.0)]
