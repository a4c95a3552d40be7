"""Publish workload events over the real Pub/Sub ``Publish`` RPC (TLS, Avro), keeping their IDs.

The event IDs are the workload's own (seeded), so a fault-free run and a faulty run of one
seed publish the same EventUuids and the checker can match them.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import fastavro
import grpc

from benchmarks.burst_events import BurstEvent
from proto import pubsub_api_pb2 as pb
from proto import pubsub_api_pb2_grpc as pb_grpc


class EventPublisher:
    """One channel to the emulator's Pub/Sub endpoint, one topic, its schema."""

    def __init__(self, info: dict[str, Any], topic: str) -> None:
        creds = grpc.ssl_channel_credentials(Path(info["ca_cert"]).read_bytes())
        self._channel = grpc.secure_channel(info["pubsub_endpoint"], creds)
        self._stub = pb_grpc.PubSubStub(self._channel)
        self._md = (("accesstoken", info["access_token"]), ("instanceurl", info["instance_url"]),
                    ("tenantid", info["tenant_id"]))
        self.topic = topic
        found = self._stub.GetTopic(pb.TopicRequest(topic_name=topic), metadata=self._md)
        self._schema_id = found.schema_id
        text = self._stub.GetSchema(pb.SchemaRequest(schema_id=found.schema_id),
                                    metadata=self._md).schema_json
        self._schema = fastavro.parse_schema(json.loads(text))

    def publish(self, events: list[BurstEvent]) -> None:
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

    def close(self) -> None:
        self._channel.close()
