"""Emulator Pub/Sub Subscribe: flow control, pending counts, keepalives and idle close."""

from __future__ import annotations

import time

import grpc
from helpers import EmulatorFactory
from helpers.pubsub_client import (
    LEAD_TOPIC,
    TRIAL_TOPIC,
    PubSubClient,
    Subscription,
    assert_sf_error,
)

from emulator.pubsub.subscribe import StreamSettings
from proto import pubsub_api_pb2 as pb

KEEPALIVE_S = 0.5  # the session emulator's keepalive interval


def _anchor(pubsub: PubSubClient) -> bytes:
    """Publish one event and return its replay ID: CUSTOM from here sees only later events."""
    return pubsub.publish_trial_events(1, start=999)[0]


# -- flow control -------------------------------------------------------------------------


def test_never_more_events_than_requested_and_pending_is_accurate(pubsub: PubSubClient) -> None:
    anchor = _anchor(pubsub)
    ids = pubsub.publish_trial_events(10)
    with pubsub.subscribe(TRIAL_TOPIC, 3, pb.CUSTOM, anchor) as sub:
        got = _take(sub, 3, requested=3)
        assert [e.replay_id for e in got] == ids[:3]
        assert sub.keepalive().pending_num_requested == 0  # nothing more while nothing pending
        assert sub.keepalive().latest_replay_id == ids[2]
        sub.fetch(4)
        assert [e.replay_id for e in _take(sub, 4, requested=4)] == ids[3:7]
        assert sub.keepalive().pending_num_requested == 0


def _take(sub: Subscription, count: int, requested: int) -> list[pb.ConsumerEvent]:
    """Collect ``count`` events, checking each response's pending count and latest ID."""
    got: list[pb.ConsumerEvent] = []
    for response in sub.responses_until(count):
        got.extend(response.events)
        assert len(got) <= requested
        assert response.pending_num_requested == requested - len(got)
        if response.events:
            assert response.latest_replay_id == response.events[-1].replay_id
    assert len(got) == count
    return got


def test_fetch_requests_add_to_what_is_pending(pubsub: PubSubClient) -> None:
    anchor = _anchor(pubsub)
    with pubsub.subscribe(TRIAL_TOPIC, 0, pb.CUSTOM, anchor) as sub:
        assert sub.keepalive().pending_num_requested == 0
        sub.fetch(2)
        sub.fetch(3)
        assert _wait_pending(sub, 5) == anchor  # keepalives never run ahead of delivery
        ids = pubsub.publish_trial_events(7)
        assert [e.replay_id for e in _take(sub, 5, requested=5)] == ids[:5]
        idle = sub.keepalive()
        assert idle.pending_num_requested == 0
        assert idle.latest_replay_id == ids[4]  # not ids[6]: those two are undelivered


def _wait_pending(sub: Subscription, pending: int) -> bytes:
    """Wait for a keepalive reporting ``pending``; returns its latest_replay_id."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        response = sub.keepalive()
        if response.pending_num_requested == pending:
            return response.latest_replay_id
    raise AssertionError(f"pending_num_requested never became {pending}")


def test_at_most_100_events_are_outstanding(pubsub: PubSubClient) -> None:
    anchor = _anchor(pubsub)
    with pubsub.subscribe(TRIAL_TOPIC, 150, pb.CUSTOM, anchor) as sub:
        _wait_pending(sub, 100)
        sub.fetch(50)
        _wait_pending(sub, 100)
        ids = pubsub.publish_trial_events(120)
        assert [e.replay_id for e in _take(sub, 100, requested=100)] == ids[:100]
        assert sub.keepalive().pending_num_requested == 0
        sub.fetch(100)
        got = sub.events(20)
        assert [e.replay_id for e in got] == ids[100:]
        assert _wait_pending(sub, 80) == ids[-1]


def test_negative_num_requested_fails(pubsub: PubSubClient) -> None:
    with pubsub.subscribe(TRIAL_TOPIC, 1) as sub:
        sub.fetch(-1)
        error = sub.wait_error()
    assert_sf_error(
        error, grpc.StatusCode.INVALID_ARGUMENT, "subscription.fetch.requested.events.invalid"
    )


def test_a_later_fetch_request_for_another_topic_fails(pubsub: PubSubClient) -> None:
    with pubsub.subscribe(TRIAL_TOPIC, 1) as sub:
        sub.fetch(1, topic=LEAD_TOPIC)
        error = sub.wait_error()
    assert_sf_error(error, grpc.StatusCode.INVALID_ARGUMENT, "subscription.fetch.topic.mismatch")


# -- keepalives -------------------------------------------------------------------------


def test_idle_stream_gets_keepalives_every_interval_with_the_latest_replay_id(
    pubsub: PubSubClient,
) -> None:
    latest = _anchor(pubsub)
    started = time.monotonic()
    with pubsub.subscribe(TRIAL_TOPIC, 5) as sub:
        arrivals = []
        for _ in range(3):
            response = sub.keepalive()
            arrivals.append(time.monotonic())
            assert response.latest_replay_id == latest
            assert response.pending_num_requested == 5
            assert response.rpc_id
    gaps = [b - a for a, b in zip([started, *arrivals], arrivals, strict=False)]
    # A lower bound only: a loaded machine may deliver late, never early (no upper bound).
    assert all(gap >= 0.8 * KEEPALIVE_S for gap in gaps), gaps


def test_keepalive_position_waits_for_delivery(pubsub: PubSubClient) -> None:
    anchor = _anchor(pubsub)
    with pubsub.subscribe(TRIAL_TOPIC, 0, pb.CUSTOM, anchor) as sub:
        ids = pubsub.publish_trial_events(3)
        assert sub.keepalive().latest_replay_id == anchor
        assert sub.keepalive().latest_replay_id == anchor
        sub.fetch(1)
        assert [e.replay_id for e in sub.events(1)] == ids[:1]
        assert sub.keepalive().latest_replay_id == ids[0]


# -- idle close -------------------------------------------------------------------------


def test_stream_with_nothing_requested_is_closed_after_the_idle_timeout(
    emulator_factory: EmulatorFactory,
) -> None:
    emu = emulator_factory(stream=StreamSettings(keepalive_s=0.2, idle_timeout_s=1.0))
    with PubSubClient(emu.info()) as client, client.subscribe(TRIAL_TOPIC, 1) as sub:
        client.publish_trial_events(1)
        sub.events(1)
        delivered = time.monotonic()
        end = sub.wait_end(timeout=5)  # keepalives (every 0.2 s) do not keep it open
        waited = time.monotonic() - delivered
    assert end.error is None
    assert waited >= 0.7, waited  # not before the idle timeout; wait_end bounds the wait


def test_stream_with_requests_pending_stays_open(emulator_factory: EmulatorFactory) -> None:
    emu = emulator_factory(stream=StreamSettings(keepalive_s=0.2, idle_timeout_s=0.5))
    with PubSubClient(emu.info()) as client, client.subscribe(TRIAL_TOPIC, 1) as sub:
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            assert isinstance(sub.next_or_end(timeout=1), pb.FetchResponse)
        client.publish_trial_events(1)
        assert len(sub.events(1)) == 1
