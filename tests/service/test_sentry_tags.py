"""Problems the daemon reports carry topic, event type, error code and workspace tags (never
an email) through the real sentry-sdk to a local endpoint; poison from apply is counted in
``lifecycle_sync_events_failed``; the metric ``type`` label takes a bounded set of values.

The apply loop is real and wired by :func:`service.apply_wiring.apply_hooks` (what the
daemon uses); only Salesforce is the apply tests' fake org, refusing one Workspace's
requests the way a value-dependent 400 does."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sentry_sdk

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "handlers"))
from entry_builders import PE_TOPIC, TRIAL, lifecycle_entry
from fake_org import FakeOrg

from handlers.errors import CallRejected
from service.apply_loop import ApplyLoop, ApplySettings
from service.apply_wiring import apply_hooks
from service.event_labels import TYPE_LABELS
from service.metrics import Metrics
from service.progress import DaemonHooks
from service.sentry_setup import SentrySettings, init_sentry
from subscriber.events import DecodedEvent, EntryKind, EntryStatus, UndecodableEvent
from subscriber.inbox import Inbox
from tests.service.sentry_server import Envelopes, sentry_server

T0 = 1_790_000_000_000


@pytest.fixture
def sentry() -> Iterator[Envelopes]:
    with sentry_server() as (dsn, envelopes):
        assert init_sentry(SentrySettings(dsn=dsn, environment="test"))
        try:
            yield envelopes
        finally:
            sentry_sdk.get_client().close(timeout=2)
            sentry_sdk.get_global_scope().set_client(None)


class PickyOrg(FakeOrg):
    """Refuses any lookup naming a ``bad-…`` Workspace, as Salesforce refuses a bad value."""

    def lookup(self, request: Any) -> Any:
        if any(w.startswith("bad") for w in request.workspace_ids):
            raise CallRejected("HTTP 400 MALFORMED_QUERY: refused", "MALFORMED_QUERY")
        return super().lookup(request)


def _value(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_apply_poison_is_reported_with_its_tags_and_counted_as_failed(
        sentry: Envelopes, tmp_path: Path) -> None:
    entries = [lifecycle_entry("Trial", f"ok-{i}", TRIAL, T0, email=f"p{i}@tags.example.com")
               for i in range(5)]
    entries.insert(2, lifecycle_entry("Trial", "bad-1", TRIAL, T0, email="leak@tags.example.com"))
    inbox = Inbox(tmp_path / "inbox.db")
    inbox.store_batch(PE_TOPIC, [DecodedEvent(e.topic, e.replay_id, e.event_id, "s",
                                              EntryKind.EVENT, e.payload or {})
                                 for e in entries], b"\x01")
    metrics = Metrics([PE_TOPIC], inbox.path)
    hooks = apply_hooks(metrics, shadow=False)
    loop = ApplyLoop(inbox, [PickyOrg()], ApplySettings(), on_report=hooks.on_report,
                     on_settled=hooks.on_settled, on_poison=hooks.on_poison)
    for _ in range(20):
        if not inbox.pending(100) and not loop._splits:
            break
        loop.run_once()
    [poison] = inbox.entries(EntryStatus.POISON)
    inbox.close()
    sentry_sdk.get_client().flush(timeout=5)

    events = [e for e in sentry.items("event") if e["tags"].get("kind") == "apply"]
    assert len(events) == 2  # the batch refused (isolating), then the one event given up
    assert b"tags.example.com" not in sentry.raw()
    assert {tuple(e["fingerprint"]) for e in events} == {
        ("lifecycle-sync", "apply", "MALFORMED_QUERY")}  # one Sentry issue
    tags = events[-1]["tags"]
    assert tags["topic"] == PE_TOPIC
    assert tags["event_type"] == "Trial"
    assert tags["error_code"] == "MALFORMED_QUERY"
    assert tags["workspace_id"] == poison.payload["Workspace_ID__c"] == "bad-1"
    assert _value(metrics, "lifecycle_sync_events_failed_total", topic=PE_TOPIC,
                  type="Trial") == 1
    assert _value(metrics, "lifecycle_sync_events_applied_total", topic=PE_TOPIC,
                  type="Trial") == 5


def test_intake_poison_is_reported_with_topic_and_type(sentry: Envelopes) -> None:
    hooks = DaemonHooks([PE_TOPIC], stale_after_s=60)
    hooks.poisoned(PE_TOPIC, UndecodableEvent(PE_TOPIC, b"\x07", "uuid-9", "s", b"x@y.example",
                                              "bad Avro", "undecodable payload"))
    sentry_sdk.get_client().flush(timeout=5)
    [event] = sentry.items("event")
    assert event["tags"]["topic"] == PE_TOPIC
    assert event["tags"]["event_type"] == "undecodable"
    assert event["tags"]["error_code"] == "undecodable payload"


def test_the_type_label_is_bounded(tmp_path: Path) -> None:
    metrics = Metrics([PE_TOPIC], tmp_path / "inbox.db")
    kinds = ["Trial", "Conversion", "Churn", "Trail", "churn", "x" * 50, None]
    metrics.landed(PE_TOPIC, [
        DecodedEvent(PE_TOPIC, bytes([n]), f"u{n}", "s", EntryKind.EVENT,
                     {"Event_Type__c": kind, "Workspace_ID__c": "w"})
        for n, kind in enumerate(kinds)], poison=0)
    labels = {s.labels["type"] for m in metrics.registry.collect()
              if m.name == "lifecycle_sync_events_received" for s in m.samples}
    assert labels == {"Trial", "Conversion", "Churn", "other"}
    assert labels <= set(TYPE_LABELS)
