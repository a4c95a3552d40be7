"""Prometheus metrics for the daemon, on its own registry (no process-wide singleton).

Counters are fed by the intake hooks, the apply loop and the job wrapper as things happen;
inbox figures (depth, oldest pending age, entries by status) are read from the inbox file at
scrape time, so they are true even for what happened before this process started. API
calls used and remaining come from the ``Sforce-Limit-Info: api-usage=USED/LIMIT`` header of
the latest Salesforce response. Names carry their unit (``_seconds``), per Prometheus style.
"""

from __future__ import annotations

import collections
import functools
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from service.event_labels import type_label
from service.inbox_backend import ReaderSource, open_reader
from subscriber.errors import SubscriberError
from subscriber.events import DecodedEvent, InboxEntry, Received

_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")
LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600)


class Metrics:
    """Every metric of one daemon; methods are thread-safe (prometheus-client's are)."""

    def __init__(self, topics: Iterable[str], inbox_file: ReaderSource,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.registry = CollectorRegistry()
        self._clock = clock
        self._lock = threading.Lock()
        self._keepalive: dict[str, float] = {}
        r = self.registry
        labels = ("topic", "type")  # "type" is one of event_labels.TYPE_LABELS (bounded)
        self.received = Counter("lifecycle_sync_events_received", "Events landed in the inbox",
                                labels, registry=r)
        self.applied = Counter("lifecycle_sync_events_applied",
                               "Events applied to Salesforce", labels, registry=r)
        self.parked = Counter("lifecycle_sync_events_parked",
                              "Events parked in Event_Cache__c", labels, registry=r)
        self.failed = Counter("lifecycle_sync_events_failed",
                              "Events neither applied nor parked (poison: undecodable at "
                              "intake, or given up by apply)", labels, registry=r)
        self.latency = Histogram("lifecycle_sync_apply_latency_seconds",
                                 "From landing in the inbox to applied or parked",
                                 buckets=LATENCY_BUCKETS_S, registry=r)
        self._operations(r)
        keepalive = Gauge("lifecycle_sync_seconds_since_keepalive",
                          "Seconds since the topic last showed life", ("topic",), registry=r)
        for topic in topics:
            self._keepalive[topic] = clock()
            self.reconnects.labels(topic)  # shown as 0 from the start
            keepalive.labels(topic).set_function(functools.partial(self._since, topic))
        r.register(_InboxCollector(inbox_file))

    def _operations(self, r: CollectorRegistry) -> None:
        """Connection, API, job and shadow-mode figures (besides the per-event counters)."""
        self.reconnects = Counter("lifecycle_sync_reconnects", "Stream reconnects", ("topic",),
                                  registry=r)
        self.api_used = Gauge("lifecycle_sync_api_calls_used",
                              "API calls used in the org's 24 h window (Sforce-Limit-Info)",
                              registry=r)
        self.api_remaining = Gauge("lifecycle_sync_api_calls_remaining",
                                   "API calls left in the org's 24 h window", registry=r)
        self.job_runs = Counter("lifecycle_sync_job_runs", "Scheduled job runs", ("job",),
                                registry=r)
        self.job_failures = Counter("lifecycle_sync_job_failures", "Scheduled job failures",
                                    ("job",), registry=r)
        self.sla_breached = Gauge("lifecycle_sync_sla_breached",
                                  "1 while the sync SLA is breached (service/sla.py), else 0",
                                  registry=r)
        self.intended_writes = Counter(
            "lifecycle_sync_shadow_intended_writes",
            "Writes shadow mode decided on but did not send", ("operation", "object"),
            registry=r)

    def _since(self, topic: str) -> float:
        with self._lock:
            return max(0.0, self._clock() - self._keepalive.get(topic, self._clock()))

    def alive(self, topic: str) -> None:
        """A keepalive (or any sign of life) on ``topic``."""
        with self._lock:
            self._keepalive[topic] = self._clock()

    def landed(self, topic: str, events: Sequence[Received], poison: int) -> None:
        by_type = collections.Counter(type_label(e.kind, e.payload, e.change)
                                      for e in events if isinstance(e, DecodedEvent))
        for label, count in by_type.items():  # one labelled inc per type, not per event
            self.received.labels(topic, label).inc(count)
        if poison:
            self.failed.labels(topic, "undecodable").inc(poison)

    def settled(self, entries: Sequence[InboxEntry], applied: Iterable[int],
                parked: Iterable[int], now_s: float | None = None) -> None:
        """An apply cycle's outcome: counts by topic and type, and latency per event."""
        by_id = {e.id: e for e in entries}
        now = time.time() if now_s is None else now_s
        for ids, counter in ((applied, self.applied), (parked, self.parked)):
            for entry_id in ids:
                entry = by_id.get(entry_id)
                if entry is None:
                    continue
                counter.labels(entry.topic, type_label(entry.kind, entry.payload,
                                                       entry.change)).inc()
                self.latency.observe(max(0.0, now - entry.received_at.timestamp()))

    def poisoned(self, entry: InboxEntry) -> None:
        """The apply loop gave ``entry`` up (refused alone, or out of attempts)."""
        self.failed.labels(entry.topic, type_label(entry.kind, entry.payload,
                                                   entry.change)).inc()

    def limit_info(self, header: str | None) -> None:
        """Record ``Sforce-Limit-Info`` (e.g. ``api-usage=25/15000``) when present."""
        found = _LIMIT_INFO.search(header or "")
        if found:
            used, limit = int(found.group(1)), int(found.group(2))
            self.api_used.set(used)
            self.api_remaining.set(max(0, limit - used))

    def intended(self, operation: str, sobject: str) -> None:
        """Shadow mode decided on a write it did not send."""
        self.intended_writes.labels(operation, sobject).inc()

    def job(self, name: str, ok: bool) -> None:
        self.job_runs.labels(name).inc()
        if not ok:
            self.job_failures.labels(name).inc()


class _InboxCollector(Collector):
    """Inbox depth and age, read at scrape time from a read-only connection."""

    def __init__(self, inbox_file: ReaderSource) -> None:
        self._file = inbox_file

    def collect(self) -> Iterator[GaugeMetricFamily]:
        entries = GaugeMetricFamily("lifecycle_sync_inbox_entries",
                                    "Inbox entries by topic and status", labels=("topic",
                                                                                 "status"))
        oldest = GaugeMetricFamily("lifecycle_sync_inbox_oldest_pending_age_seconds",
                                   "Age of the oldest entry not yet applied", labels=("topic",))
        try:
            with open_reader(self._file) as inbox:
                counts = inbox.counts_by_topic()
        except SubscriberError:
            counts = {}
        for topic, c in sorted(counts.items()):
            for status, value in (("pending", c.pending), ("applied", c.applied - c.parked),
                                  ("parked", c.parked), ("poison", c.poison)):
                entries.add_metric([topic, status], value)
            oldest.add_metric([topic], c.oldest_pending_age_s or 0.0)
        yield entries
        yield oldest
