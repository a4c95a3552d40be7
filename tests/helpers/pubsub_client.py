"""A small Pub/Sub API test client for the emulator, over real TLS with the generated stubs.

Everything a test needs comes from the emulator's info dict (or info file): endpoint, CA file,
token, instance URL, tenant ID. :class:`Subscription` runs one Subscribe call on a thread, feeds
it FetchRequests from a queue and collects responses into a queue, so tests wait on conditions
with deadlines instead of sleeping.
"""

from __future__ import annotations

import io
import json
import queue
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import fastavro
import grpc

from proto import pubsub_api_pb2 as pb
from proto import pubsub_api_pb2_grpc as pb_grpc

TRIAL_TOPIC = "/event/SelfServeTrialEvent__e"
LEAD_TOPIC = "/data/LeadChangeEvent"
ERROR_PREFIX = "sfdc.platform.eventbus.grpc."
DEFAULT_WAIT_S = 5.0

Metadata = tuple[tuple[str, str], ...]


def trial_record(i: int, **fields: Any) -> dict[str, Any]:
    """A valid SelfServeTrialEvent__e payload; ``Workspace_ID__c`` is ``w<i>``."""
    record: dict[str, Any] = {
        "CreatedDate": 1_700_000_000_000 + i,
        "CreatedById": "005000000000001AAA",
        "Workspace_ID__c": f"w{i}",
        "Event_Type__c": "trial_started",
        "Email__c": f"user{i}@example.com",
    }
    record.update(fields)
    return record


def lead_change_record(record_id: str = "00Q000000000001AAA", **fields: Any) -> dict[str, Any]:
    """A valid LeadChangeEvent payload (UPDATE of one Lead)."""
    header = {
        "entityName": "Lead",
        "recordIds": [record_id],
        "changeType": "UPDATE",
        "changeOrigin": "com/salesforce/api/rest/60.0",
        "transactionKey": str(uuid.uuid4()),
        "sequenceNumber": 1,
        "commitTimestamp": 1_700_000_000_000,
        "commitNumber": 10**15,
        "commitUser": "005000000000001AAA",
        "nulledFields": [],
        "diffFields": [],
        "changedFields": ["0x4"],
    }
    return {"ChangeEventHeader": header, **fields}


def error_details(exc: grpc.RpcError) -> tuple[grpc.StatusCode, str, str, str]:
    """(status, error-code trailer, rpc-id trailer, details) of a failed call."""
    call: Any = exc
    trailers = {k: v for k, v in (call.trailing_metadata() or ())}
    return call.code(), trailers.get("error-code", ""), trailers.get("rpc-id", ""), call.details()


def assert_sf_error(exc: grpc.RpcError, code: grpc.StatusCode, error_code: str) -> None:
    """The failure is reported the Salesforce way: status, error-code, rpc-id, rpcId suffix."""
    status, trailer, rpc_id, details = error_details(exc)
    assert status == code, (status, details)
    full = error_code if error_code.startswith(ERROR_PREFIX) else ERROR_PREFIX + error_code
    assert trailer == full
    assert rpc_id
    assert details.endswith(f"rpcId: {rpc_id}"), details


class PubSubClient:
    """One TLS channel to the emulator's Pub/Sub endpoint plus Avro helpers."""

    def __init__(self, info: dict[str, Any], access_token: str | None = None) -> None:
        self.info = info
        self.access_token = access_token or info["access_token"]
        with open(info["ca_cert"], "rb") as fh:
            creds = grpc.ssl_channel_credentials(fh.read())
        self.channel = grpc.secure_channel(info["pubsub_endpoint"], creds)
        self.stub = pb_grpc.PubSubStub(self.channel)  # type: ignore[no-untyped-call, unused-ignore]
        self._schemas: dict[str, Any] = {}

    @classmethod
    def from_info_file(cls, path: str) -> PubSubClient:
        with open(path) as fh:
            return cls(json.load(fh))

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> PubSubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def metadata(self, **override: str) -> Metadata:
        md = {
            "accesstoken": self.access_token,
            "instanceurl": self.info["instance_url"],
            "tenantid": self.info["tenant_id"],
        }
        md.update(override)
        return tuple(md.items())

    # -- unary RPCs ---------------------------------------------------------------------

    def get_topic(self, topic: str = TRIAL_TOPIC) -> pb.TopicInfo:
        request = pb.TopicRequest(topic_name=topic)
        info: pb.TopicInfo = self.stub.GetTopic(request, metadata=self.metadata())
        return info

    def get_schema(self, schema_id: str) -> pb.SchemaInfo:
        request = pb.SchemaRequest(schema_id=schema_id)
        info: pb.SchemaInfo = self.stub.GetSchema(request, metadata=self.metadata())
        return info

    def schema(self, schema_id: str) -> Any:
        """The parsed (fastavro) schema for ``schema_id``, fetched once with GetSchema."""
        if schema_id not in self._schemas:
            text = self.get_schema(schema_id).schema_json
            self._schemas[schema_id] = fastavro.parse_schema(json.loads(text))
        return self._schemas[schema_id]

    def encode(self, schema_id: str, record: dict[str, Any]) -> bytes:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, self.schema(schema_id), record)
        return buf.getvalue()

    def decode(self, event: pb.ProducerEvent) -> dict[str, Any]:
        result = fastavro.schemaless_reader(io.BytesIO(event.payload), self.schema(event.schema_id))
        assert isinstance(result, dict)
        return result

    def event(self, topic: str, record: dict[str, Any], schema_id: str = "") -> pb.ProducerEvent:
        sid = schema_id or self.get_topic(topic).schema_id
        payload = self.encode(sid, record)
        return pb.ProducerEvent(id=str(uuid.uuid4()), schema_id=sid, payload=payload)

    def publish(self, topic: str, events: Sequence[pb.ProducerEvent]) -> pb.PublishResponse:
        request = pb.PublishRequest(topic_name=topic, events=events)
        response: pb.PublishResponse = self.stub.Publish(request, metadata=self.metadata())
        return response

    def publish_trial_events(self, n: int, start: int = 0) -> list[bytes]:
        """Publish ``n`` valid trial events (``w<start>``...); returns their replay IDs."""
        sid = self.get_topic(TRIAL_TOPIC).schema_id
        events = [self.event(TRIAL_TOPIC, trial_record(start + i), sid) for i in range(n)]
        response = self.publish(TRIAL_TOPIC, events)
        assert [r.error.msg for r in response.results if r.error.msg] == []
        return [r.replay_id for r in response.results]

    # -- streams ------------------------------------------------------------------------

    def subscribe(
        self,
        topic: str = TRIAL_TOPIC,
        num_requested: int = 0,
        preset: pb.ReplayPreset = pb.LATEST,
        replay_id: bytes = b"",
        metadata: Metadata | None = None,
    ) -> Subscription:
        first = pb.FetchRequest(
            topic_name=topic,
            replay_preset=preset,
            replay_id=replay_id,
            num_requested=num_requested,
        )
        return Subscription(self.stub, first, metadata or self.metadata())


@dataclass(frozen=True)
class StreamEnd:
    """The stream ended: cleanly (``error`` None) or with an RPC error."""

    error: grpc.RpcError | None


class Subscription:
    """A running Subscribe call; responses (and finally a :class:`StreamEnd`) land in a queue."""

    def __init__(
        self, stub: pb_grpc.PubSubStub, first: pb.FetchRequest, metadata: Metadata
    ) -> None:
        self._requests: queue.Queue[pb.FetchRequest | None] = queue.Queue()
        self.responses: queue.Queue[pb.FetchResponse | StreamEnd] = queue.Queue()
        self.end: StreamEnd | None = None
        self._requests.put(first)
        self.call: Any = stub.Subscribe(self._request_iter(), metadata=metadata)
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()

    def _request_iter(self) -> Iterator[pb.FetchRequest]:
        while (request := self._requests.get()) is not None:
            yield request

    def _collect(self) -> None:
        try:
            for response in self.call:
                self.responses.put(response)
        except grpc.RpcError as exc:
            self.responses.put(StreamEnd(exc))
        else:
            self.responses.put(StreamEnd(None))

    def fetch(self, n: int, topic: str = "") -> None:
        self._requests.put(pb.FetchRequest(topic_name=topic, num_requested=n))

    def close(self) -> None:
        self._requests.put(None)
        self.call.cancel()
        self._thread.join(timeout=5)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- waiting ------------------------------------------------------------------------

    def next(self, timeout: float = DEFAULT_WAIT_S) -> pb.FetchResponse:
        """The next response; fails the test when the stream ended or nothing came in time."""
        item = self._get(timeout)
        if item is None:
            raise AssertionError(f"no FetchResponse within {timeout} s")
        if isinstance(item, StreamEnd):
            raise AssertionError(f"the stream ended: {item.error!r}")
        return item

    def keepalive(self, timeout: float = DEFAULT_WAIT_S) -> pb.FetchResponse:
        """The next response, which must be a keepalive (no events)."""
        response = self.next(timeout)
        assert list(response.events) == [], "expected a keepalive, got events"
        return response

    def next_or_end(self, timeout: float = DEFAULT_WAIT_S) -> pb.FetchResponse | StreamEnd | None:
        """The next response, the end of the stream, or None when nothing came in time."""
        return self._get(timeout)

    def events(self, count: int, timeout: float = DEFAULT_WAIT_S) -> list[pb.ConsumerEvent]:
        """Collect responses until ``count`` events arrived (skipping keepalives)."""
        return [e for r in self.responses_until(count, timeout) for e in r.events]

    def responses_until(
        self, count: int, timeout: float = DEFAULT_WAIT_S
    ) -> list[pb.FetchResponse]:
        """Responses (keepalives included) up to the one that brings the total to ``count``."""
        deadline = time.monotonic() + timeout
        got: list[pb.FetchResponse] = []
        while sum(len(r.events) for r in got) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                have = sum(len(r.events) for r in got)
                raise AssertionError(f"only {have} of {count} events within {timeout} s")
            got.append(self.next(left))
        return got

    def wait_end(self, timeout: float = DEFAULT_WAIT_S) -> StreamEnd:
        """Skip responses until the stream ends; fails when it does not end in time."""
        deadline = time.monotonic() + timeout
        while True:
            item = self._get(max(0.0, deadline - time.monotonic()))
            if item is None:
                raise AssertionError(f"the stream did not end within {timeout} s")
            if isinstance(item, StreamEnd):
                return item

    def wait_error(self, timeout: float = DEFAULT_WAIT_S) -> grpc.RpcError:
        end = self.wait_end(timeout)
        assert end.error is not None, "the stream ended cleanly, expected an error"
        return end.error

    def _get(self, timeout: float) -> pb.FetchResponse | StreamEnd | None:
        if self.end is not None:
            return self.end
        try:
            item = self.responses.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(item, StreamEnd):
            self.end = item
        return item
