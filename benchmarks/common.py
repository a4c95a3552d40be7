"""What the daemon benchmarks share: publishing a list of events, reading the daemon's inbox,
waiting for it to settle, the machine's load, and the output (a table, then one JSON line).

Every figure is measured on a shared machine, so each result carries the load average
(``os.getloadavg``, what ``uptime`` prints) before and after the run: a figure without it
cannot be compared with another.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import fastavro
import grpc
import requests

from benchmarks.burst_events import BurstEvent
from benchmarks.rig import TRIAL_TOPIC, poll
from proto import pubsub_api_pb2 as pb
from proto import pubsub_api_pb2_grpc as pb_grpc
from service.config import inbox_path
from subscriber.inbox_file import readonly_uri

PUBLISH_BATCH = 200


def load_average() -> list[float]:
    """The 1-, 5- and 15-minute load averages (``uptime``), rounded."""
    return [round(x, 2) for x in os.getloadavg()]


def cpu_s(pid: int) -> float | None:
    """User + system CPU seconds a live process has used (Linux /proc): unlike wall time, this
    hardly moves with the machine's load, so it shows what a change saved."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)


def machine() -> dict[str, Any]:
    """Where it ran: CPU count and the load when asked."""
    return {"cpus": os.cpu_count(), "load_avg": load_average()}


class EventPublisher:
    """Publishes :class:`BurstEvent` records over gRPC ``Publish``, remembering when each was
    sent (epoch seconds, taken just before its request)."""

    def __init__(self, info: dict[str, Any], topic: str = TRIAL_TOPIC) -> None:
        creds = grpc.ssl_channel_credentials(Path(info["ca_cert"]).read_bytes())
        self._md = (("accesstoken", info["access_token"]), ("instanceurl", info["instance_url"]),
                    ("tenantid", info["tenant_id"]))
        self._channel = grpc.secure_channel(info["pubsub_endpoint"], creds)
        self._stub = pb_grpc.PubSubStub(self._channel)
        self._topic = topic
        found = self._stub.GetTopic(pb.TopicRequest(topic_name=topic), metadata=self._md)
        self._schema_id = found.schema_id
        text = self._stub.GetSchema(pb.SchemaRequest(schema_id=found.schema_id),
                                    metadata=self._md).schema_json
        self._schema = fastavro.parse_schema(json.loads(text))
        self.sent: dict[str, float] = {}

    def publish(self, events: Sequence[BurstEvent]) -> None:
        """Publish ``events`` in requests of up to :data:`PUBLISH_BATCH`."""
        for start in range(0, len(events), PUBLISH_BATCH):
            batch = [self._encode(e) for e in events[start:start + PUBLISH_BATCH]]
            now = time.time()
            response = self._stub.Publish(pb.PublishRequest(topic_name=self._topic, events=batch),
                                          metadata=self._md, timeout=60)
            errors = [r.error.msg for r in response.results if r.error.msg]
            if errors:
                raise RuntimeError(f"publish failed: {errors[:3]}")
            self.sent.update({e.id: now for e in batch})

    def _encode(self, event: BurstEvent) -> pb.ProducerEvent:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, self._schema, event.record)
        return pb.ProducerEvent(id=event.event_id, schema_id=self._schema_id,
                                payload=buf.getvalue())

    def close(self) -> None:
        self._channel.close()


class InboxReader:
    """A read-only view of the daemon's inbox (WAL: safe beside the running daemon)."""

    def __init__(self, state: Path) -> None:
        self._path = inbox_path(state)
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection | None:
        if self._db is None and self._path.exists():
            self._db = sqlite3.connect(readonly_uri(self._path), uri=True)
        return self._db

    def query(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        """Rows, or none while the daemon has not created its schema yet."""
        db = self._conn()
        if db is None:
            return []
        try:
            return db.execute(sql, args).fetchall()
        except sqlite3.OperationalError:  # created, schema not committed yet
            return []

    def counts(self, topic: str = TRIAL_TOPIC) -> tuple[int, int]:
        """(entries of ``topic`` stored, entries of any topic still pending): the daemon's own
        writes come back as Lead change events, which must be settled too."""
        found = self.query("SELECT COALESCE(SUM(topic = ?), 0), "
                           "COALESCE(SUM(status = 'pending'), 0) FROM entries", (topic,))
        return (int(found[0][0]), int(found[0][1])) if found else (0, 0)

    def applied_at(self, event_ids: Sequence[str]) -> dict[str, float]:
        """When each of these events was applied (or parked), by event ID."""
        found: dict[str, float] = {}
        for start in range(0, len(event_ids), 500):
            chunk = list(event_ids[start:start + 500])
            marks = ", ".join("?" * len(chunk))
            found.update(self.query(
                f"SELECT event_id, applied_at FROM entries WHERE status = 'applied' "
                f"AND event_id IN ({marks})", chunk))
        return found

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def wait_settled(reader: InboxReader, total: int, timeout_s: float, interval_s: float = 0.1,
                 topic: str = TRIAL_TOPIC) -> None:
    """Until the inbox holds at least ``total`` entries of ``topic`` and none is pending."""
    def settled() -> bool:
        stored, pending = reader.counts(topic)
        return stored >= total and pending == 0

    poll(settled, timeout_s, f"{total} entries applied", interval_s=interval_s)


def admin(info: dict[str, Any], path: str, post: bool = False) -> Any:
    """The emulator's admin API (counters, settings)."""
    session = requests.Session()
    session.trust_env = False
    url = info["admin_url"] + path
    response = session.post(url, json={}, timeout=30) if post else session.get(url, timeout=30)
    response.raise_for_status()
    return response.json()


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values."""
    return sorted_values[int(fraction * (len(sorted_values) - 1))]


def emit(result: dict[str, Any], keys: Sequence[str], as_json: bool) -> None:
    """The table (one ``key  value`` line per key), then the JSON line with ``--json``."""
    width = max(len(k) for k in keys)
    for key in keys:
        print(f"{key:<{width}}  {result.get(key)}")
    if as_json:
        print(json.dumps(result))


@contextmanager
def work_dir(keep: Path | None, prefix: str) -> Iterator[Path]:
    """Where a benchmark runs: ``--keep``'s directory (created, kept for inspection) or a
    temporary one removed afterwards."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)
