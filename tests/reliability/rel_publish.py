"""Publish workload events over the real Pub/Sub ``Publish`` RPC (TLS, Avro), keeping their IDs.

The event IDs are the workload's own (seeded), so a fault-free run and a faulty run of one
seed publish the same EventUuids and the checker can match them. The channel, topic and
schema handling are :class:`benchmarks.rig.Publisher`'s.
"""

from __future__ import annotations

import io
from typing import Any

import fastavro

from benchmarks.burst_events import BurstEvent
from benchmarks.rig import Publisher
from proto import pubsub_api_pb2 as pb


class EventPublisher(Publisher):
    """A :class:`~benchmarks.rig.Publisher` that sends given records with given IDs."""

    def publish_events(self, events: list[BurstEvent]) -> None:
        """One Publish call; fails loudly on any per-event error."""
        batch = [pb.ProducerEvent(id=e.event_id, schema_id=self._schema_id,
                                  payload=self._encode(e.record)) for e in events]
        response = self._stub.Publish(pb.PublishRequest(topic_name=self.topic, events=batch),
                                      metadata=self._md, timeout=60)
        errors = [r.error.msg for r in response.results if r.error.msg]
        if errors:
            raise RuntimeError(f"publish failed: {errors[:3]}")

    def _encode(self, record: dict[str, Any]) -> bytes:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, self._schema, record)
        return buf.getvalue()
