"""Emulator Pub/Sub: Publish, PublishStream and the publish→subscribe round trip."""

from __future__ import annotations

import json
import queue
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from helpers import EmulatorFactory
from helpers.pubsub_client import (
    LEAD_TOPIC,
    TRIAL_TOPIC,
    PubSubClient,
    assert_sf_error,
    lead_change_record,
    trial_record,
)

from emulator.pubsub.subscribe import StreamSettings
from emulator.server import Emulator
from proto import pubsub_api_pb2 as pb

# -- Publish ----------------------------------------------------------------------------


def test_publish_then_subscribe_round_trip_over_rpc(pubsub: PubSubClient) -> None:
    topic, record = TRIAL_TOPIC, trial_record(7)
    with pubsub.subscribe(topic, 5) as sub:
        sub.next()  # the first keepalive: the LATEST position is fixed from here on
        event = pubsub.event(topic, record)
        result = pubsub.publish(topic, [event]).results[0]
        assert not result.error.msg
        assert result.correlation_key == event.id
        (got,) = sub.events(1)
    assert got.replay_id == result.replay_id
    assert got.event.id == event.id
    assert pubsub.decode(got.event) == {**_nulls(pubsub, got.event.schema_id), **record}


def _nulls(client: PubSubClient, schema_id: str) -> dict[str, Any]:
    schema = json.loads(client.get_schema(schema_id).schema_json)
    return {f["name"]: None for f in schema["fields"] if "default" in f}


def test_records_published_by_the_bus_reach_subscribers(
    emulator: Emulator, pubsub: PubSubClient
) -> None:
    with pubsub.subscribe(LEAD_TOPIC, 5) as sub:
        sub.next()
        stored = emulator.context.bus.publish_record(
            LEAD_TOPIC, lead_change_record("00Q000000000002AAA", Email="a@b.c")
        )
        (got,) = sub.events(1)
    assert got.replay_id == stored.replay_id
    decoded = pubsub.decode(got.event)
    assert decoded["ChangeEventHeader"]["recordIds"] == ["00Q000000000002AAA"]
    assert decoded["Email"] == "a@b.c"


def test_publish_reports_errors_per_event(pubsub: PubSubClient) -> None:
    sid = pubsub.get_topic(TRIAL_TOPIC).schema_id
    lead_sid = pubsub.get_topic(LEAD_TOPIC).schema_id
    good = pubsub.event(TRIAL_TOPIC, trial_record(1), sid)
    huge = pubsub.event(TRIAL_TOPIC, trial_record(2, Event_Data__c="x" * (1024 * 1024)), sid)
    wrong_schema = pb.ProducerEvent(id="wrong-schema", schema_id=lead_sid, payload=good.payload)
    unknown_schema = pb.ProducerEvent(id="unknown", schema_id="nope", payload=good.payload)
    garbage = pb.ProducerEvent(id="garbage", schema_id=sid, payload=b"\xff\xff\xff")
    trailing = pb.ProducerEvent(id="trailing", schema_id=sid, payload=good.payload + b"\x00")
    events = [good, huge, wrong_schema, unknown_schema, garbage, trailing]
    response = pubsub.publish(TRIAL_TOPIC, events)
    assert response.schema_id == sid
    assert response.rpc_id
    assert [r.correlation_key for r in response.results] == [e.id for e in events]
    ok, *bad = response.results
    assert not ok.error.msg
    assert len(ok.replay_id) == 10
    for result in bad:
        assert result.error.code == pb.PUBLISH
        assert result.error.msg
        assert not result.replay_id
    assert "maximum" in bad[0].error.msg


def test_publish_requests_over_4_mb_fail_with_unavailable(pubsub: PubSubClient) -> None:
    sid = pubsub.get_topic(TRIAL_TOPIC).schema_id
    big = [pubsub.event(TRIAL_TOPIC, trial_record(i, Event_Data__c="x" * 900_000), sid)
           for i in range(6)]
    with pytest.raises(grpc.RpcError) as caught:
        pubsub.publish(TRIAL_TOPIC, big)  # 5.4 MB
    assert_sf_error(caught.value, grpc.StatusCode.UNAVAILABLE, "publish.request.size.exceeded")
    accepted = pubsub.publish(TRIAL_TOPIC, big[:3])  # 2.7 MB: under the 3 MB advice
    assert all(r.replay_id and not r.error.msg for r in accepted.results)


def test_change_event_topics_cannot_be_published_to(pubsub: PubSubClient) -> None:
    event = pubsub.event(LEAD_TOPIC, lead_change_record(Company="Acme"))
    with pytest.raises(grpc.RpcError) as caught:
        pubsub.publish(LEAD_TOPIC, [event])
    assert_sf_error(caught.value, grpc.StatusCode.PERMISSION_DENIED, "publish.topic.cannot.publish")


def test_publish_to_an_unknown_topic_is_not_found(pubsub: PubSubClient) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        pubsub.publish("/event/Nope__e", [])
    assert_sf_error(caught.value, grpc.StatusCode.NOT_FOUND, "topic.not.found")


# -- PublishStream ----------------------------------------------------------------------


class _Requests:
    """A request iterator fed from a queue (None ends it)."""

    def __init__(self) -> None:
        self.q: queue.Queue[pb.PublishRequest | None] = queue.Queue()

    def __iter__(self) -> Iterator[pb.PublishRequest]:
        while (item := self.q.get()) is not None:
            yield item


def test_publish_stream_answers_each_batch_and_later_requests_may_omit_the_topic(
    pubsub: PubSubClient,
) -> None:
    sid = pubsub.get_topic(TRIAL_TOPIC).schema_id
    reqs = _Requests()
    responses = pubsub.stub.PublishStream(iter(reqs), metadata=pubsub.metadata())
    try:
        batch1 = [pubsub.event(TRIAL_TOPIC, trial_record(i), sid) for i in range(3)]
        reqs.q.put(pb.PublishRequest(topic_name=TRIAL_TOPIC, events=batch1))
        first = next(responses)
        batch2 = [pubsub.event(TRIAL_TOPIC, trial_record(9), sid)]
        reqs.q.put(pb.PublishRequest(events=batch2))
        second = next(responses)
    finally:
        reqs.q.put(None)
    assert list(responses) == []  # half-close ends the stream cleanly
    assert [r.correlation_key for r in first.results] == [e.id for e in batch1]
    assert all(len(r.replay_id) == 10 for r in [*first.results, *second.results])
    assert second.results[0].correlation_key == batch2[0].id
    assert first.rpc_id == second.rpc_id


def test_publish_stream_rejects_a_different_topic_later(pubsub: PubSubClient) -> None:
    sid = pubsub.get_topic(TRIAL_TOPIC).schema_id
    event = pubsub.event(TRIAL_TOPIC, trial_record(1), sid)
    requests = [
        pb.PublishRequest(topic_name=TRIAL_TOPIC, events=[event]),
        pb.PublishRequest(topic_name=LEAD_TOPIC, events=[event]),
    ]
    responses = pubsub.stub.PublishStream(iter(requests), metadata=pubsub.metadata())
    assert next(responses).results[0].replay_id
    with pytest.raises(grpc.RpcError) as caught:
        next(responses)
    assert_sf_error(caught.value, grpc.StatusCode.INVALID_ARGUMENT, "publish.topic.mismatch")


def test_publish_stream_without_events_is_swept(emulator_factory: EmulatorFactory) -> None:
    emu = emulator_factory(stream=StreamSettings(publish_stream_idle_s=0.6))
    with PubSubClient(emu.info()) as client:
        event = client.event(TRIAL_TOPIC, trial_record(1))
        reqs = _Requests()
        responses = client.stub.PublishStream(iter(reqs), metadata=client.metadata())
        try:
            reqs.q.put(pb.PublishRequest(topic_name=TRIAL_TOPIC, events=[event]))
            assert next(responses).results[0].replay_id
            reqs.q.put(pb.PublishRequest(topic_name=TRIAL_TOPIC))  # no events: not activity
            assert list(next(responses).results) == []
            with pytest.raises(grpc.RpcError) as caught:
                next(responses)
        finally:
            reqs.q.put(None)
    assert_sf_error(caught.value, grpc.StatusCode.CANCELLED, "publish.stream.sweeper.timeout")
