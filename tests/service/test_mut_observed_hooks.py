"""The intake's signs of life as /metrics and readiness see them: subscribing or a keepalive
resets the topic's seconds-since-keepalive gauge, a reconnect is counted and makes the topic
unsubscribed for readiness (real inbox file for the gauges; mutation testing found the
subscribe path unpinned at unit level)."""

from __future__ import annotations

from pathlib import Path

from service.health import Health
from service.metrics import Metrics
from service.observed_hooks import ObservedHooks
from subscriber.inbox import Inbox

TOPIC = "/event/SelfServeTrialEvent__e"


def since(metrics: Metrics) -> float | None:
    return metrics.registry.get_sample_value("lifecycle_sync_seconds_since_keepalive",
                                             {"topic": TOPIC})


class Idle:
    cycles = 0

    def waiting_by_design(self) -> bool:
        return False


def test_subscribe_keepalive_and_reconnect_feed_metrics_and_readiness(tmp_path: Path) -> None:
    Inbox(tmp_path / "inbox.db").close()
    now = [0.0]
    metrics = Metrics([TOPIC], tmp_path / "inbox.db", clock=lambda: now[0])
    hooks = ObservedHooks([TOPIC], metrics, stale_after_s=60.0, clock=lambda: now[0])
    health = Health([TOPIC], tmp_path / "inbox.db", Idle(), lambda: True, clock=lambda: now[0])
    now[0] = 30.0
    assert since(metrics) == 30.0
    hooks.subscribed(TOPIC)
    assert since(metrics) == 0.0
    hooks.attach_health(health)  # told of the topic subscribed before it existed
    assert health.problems() == []
    now[0] = 40.0
    hooks.keepalive(TOPIC, b"\x01")
    assert since(metrics) == 0.0
    hooks.reconnecting(TOPIC, "UNAVAILABLE", 1.0)
    assert health.problems() == [f"not subscribed: {TOPIC}"]
    assert metrics.registry.get_sample_value("lifecycle_sync_reconnects_total",
                                             {"topic": TOPIC}) == 1.0
