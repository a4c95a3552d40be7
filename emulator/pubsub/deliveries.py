"""How often each event went out on a Subscribe stream: the "redelivered" count of a test.

Salesforce's Pub/Sub API is at-least-once in practice: a client that resubscribes from its
last processed replay ID receives everything after it again. The reliability suite counts such
redeliveries (allowed, but counted; zero after a clean SIGTERM) from the server's side, so the
figure does not depend on the daemon reporting itself truthfully. Read and reset through the
admin API: ``GET /pubsub/deliveries``, ``POST /pubsub/deliveries/reset``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any


class DeliveryLog:
    """Deliveries per (topic, event ID); thread-safe (one writer per Subscribe stream)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def record(self, topic: str, event_ids: Iterable[str]) -> None:
        with self._lock:
            self._counts.update((topic, event_id) for event_id in event_ids)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def snapshot(self) -> dict[str, Any]:
        """Per topic: deliveries, distinct events and redeliveries (deliveries - distinct)."""
        with self._lock:
            items = list(self._counts.items())
        topics: dict[str, dict[str, int]] = {}
        for (topic, _), count in items:
            row = topics.setdefault(topic, {"delivered": 0, "distinct": 0, "redelivered": 0})
            row["delivered"] += count
            row["distinct"] += 1
            row["redelivered"] += count - 1
        return {"topics": topics,
                "redelivered": sum(t["redelivered"] for t in topics.values()),
                "delivered": sum(t["delivered"] for t in topics.values())}
