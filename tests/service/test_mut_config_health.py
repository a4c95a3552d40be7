"""Config overrides come from the process environment when none is passed; the shadow-mode
health counts the very first inbox entry (mutation testing found both unpinned)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from benchmarks.rig import code_root
from service.config import Config, ConfigError, load_config
from service.connections import stale_after_s
from service.health import _oldest_pending_s
from service.metrics import Metrics
from service.observed_hooks import ObservedHooks
from subscriber.events import BatchStats, DecodedEvent, EntryKind
from subscriber.inbox import Inbox

TOPIC = "/event/SelfServeTrialEvent__e"


def test_without_an_explicit_environment_the_process_environment_overrides(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFECYCLE_SYNC_PUBSUB_PING_TIMEOUT_S", "soon")
    with pytest.raises(ConfigError) as raised:
        load_config(code_root() / "lifecycle-sync.example.toml")
    assert any("LIFECYCLE_SYNC_PUBSUB_PING_TIMEOUT_S" in p for p in raised.value.problems)


def test_shadow_health_sees_the_first_entry_when_no_watermark_is_stored(
        tmp_path: Path) -> None:
    event = DecodedEvent(TOPIC, b"\x01", "uuid-1", "schema", EntryKind.EVENT,
                         {"Event_Type__c": "Trial", "Workspace_ID__c": "ws-1"})
    with Inbox(tmp_path / "inbox.db") as inbox:
        inbox.store_batch(TOPIC, [event], b"\x01")
        assert _oldest_pending_s(inbox, shadow=True) is not None


def test_a_stored_batch_with_poison_counts_it_as_failed_undecodable(tmp_path: Path) -> None:
    metrics = Metrics([TOPIC], tmp_path / "inbox.db")
    hooks = ObservedHooks([TOPIC], metrics, stale_after_s=60.0)
    hooks.batch_stored(TOPIC, BatchStats(stored=2, duplicates=0, poison=2))
    assert metrics.registry.get_sample_value(
        "lifecycle_sync_events_failed_total", {"topic": TOPIC, "type": "undecodable"}) == 2


def test_a_topic_counts_as_wedged_only_after_its_longest_backoff_too() -> None:
    pubsub = SimpleNamespace(keepalive_s=270.0, watchdog_margin_s=30.0, backoff_max_s=60.0,
                             ping_interval_s=10.0)
    config = cast(Config, SimpleNamespace(pubsub=pubsub))
    assert stale_after_s(config) == 270.0 + 30.0 + 60.0 + 10.0


def test_every_operations_metric_is_exposed_by_the_daemons_own_registry(
        tmp_path: Path) -> None:
    metrics = Metrics([TOPIC], tmp_path / "inbox.db")
    exposed = {family.name for family in metrics.registry.collect()}
    assert {"lifecycle_sync_reconnects", "lifecycle_sync_api_calls_used",
            "lifecycle_sync_api_calls_remaining", "lifecycle_sync_job_runs",
            "lifecycle_sync_job_failures", "lifecycle_sync_sla_breached",
            "lifecycle_sync_shadow_intended_writes"} <= exposed
