"""``make demo``: an end-to-end run against the local emulator, exiting 0 when all went well.

It starts the emulator in a fresh state directory, publishes one Trial, one Conversion and one
Churn event over the Pub/Sub API (gRPC, TLS, Avro), subscribes from EARLIEST and prints the
decoded events with their opaque replay IDs.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import fastavro
import grpc

from emulator.server import Emulator, EmulatorSettings
from proto import pubsub_api_pb2 as pb
from proto import pubsub_api_pb2_grpc as pb_grpc

TOPIC = "/event/SelfServeTrialEvent__e"
DEMO_EVENTS = (
    ("ws-1001", "Trial", {"trial_expiration": "2026-12-09"}),
    ("ws-1001", "Conversion", {"subscription_id": "sub_9", "plan_type": "Team", "mrr": 490.0}),
    ("ws-1002", "Churn", {"churn_date": "2026-11-20", "churn_reason": "budget"}),
)


def _metadata(info: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return (
        ("accesstoken", info["access_token"]),
        ("instanceurl", info["instance_url"]),
        ("tenantid", info["tenant_id"]),
    )


def _encode(schema: Any, record: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, schema, record)
    return buf.getvalue()


def _publish(stub: pb_grpc.PubSubStub, md: Any, schema_id: str, schema: Any) -> None:
    now_ms = int(time.time() * 1000)
    events = [
        pb.ProducerEvent(
            id=str(uuid.uuid4()),
            schema_id=schema_id,
            payload=_encode(schema, {
                "CreatedDate": now_ms, "CreatedById": "005000000000000AAA",
                "Workspace_ID__c": ws, "Email__c": f"owner@{ws}.example.com",
                "Event_Type__c": kind, "Event_Data__c": json.dumps(data),
                "Event_Timestamp__c": now_ms + i,
            }),
        )
        for i, (ws, kind, data) in enumerate(DEMO_EVENTS)
    ]
    response = stub.Publish(pb.PublishRequest(topic_name=TOPIC, events=events), metadata=md)
    failed = [r.error.msg for r in response.results if r.error.msg]
    if failed:
        raise SystemExit(f"publish failed: {failed}")
    print(f"published {len(events)} events to {TOPIC}")


def _subscribe(stub: pb_grpc.PubSubStub, md: Any, schema: Any, want: int) -> None:
    requests = iter([pb.FetchRequest(topic_name=TOPIC, replay_preset=pb.EARLIEST,
                                     num_requested=want)])
    call = stub.Subscribe(requests, metadata=md, timeout=30)
    seen = 0
    for response in call:
        for ev in response.events:
            record = fastavro.schemaless_reader(io.BytesIO(ev.event.payload), schema)
            assert isinstance(record, dict)
            print(f"  replay_id={ev.replay_id.hex()} {record['Event_Type__c']:<10} "
                  f"workspace={record['Workspace_ID__c']} data={record['Event_Data__c']}")
            seen += 1
        if seen >= want:
            call.cancel()
            break
    print(f"received {seen} events back over Subscribe")


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    state = Path(tempfile.mkdtemp(prefix="lifecycle-sync-demo-"))
    with Emulator(EmulatorSettings(state_dir=state)) as emulator:
        info = emulator.info()
        emulator.write_info(state / "info.json")
        print(f"emulator up: pubsub {info['pubsub_endpoint']}, instance {info['instance_url']}")
        creds = grpc.ssl_channel_credentials(Path(info["ca_cert"]).read_bytes())
        with grpc.secure_channel(info["pubsub_endpoint"], creds) as channel:
            stub = pb_grpc.PubSubStub(channel)
            md = _metadata(info)
            topic = stub.GetTopic(pb.TopicRequest(topic_name=TOPIC), metadata=md)
            schema_json = stub.GetSchema(pb.SchemaRequest(schema_id=topic.schema_id), metadata=md)
            schema = fastavro.parse_schema(json.loads(schema_json.schema_json))
            _publish(stub, md, topic.schema_id, schema)
            _subscribe(stub, md, schema, len(DEMO_EVENTS))
    print("demo finished OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
