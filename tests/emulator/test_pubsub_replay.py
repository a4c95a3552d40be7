"""Emulator Pub/Sub replay: presets, 10-byte replay IDs, bad IDs, retention and restarts."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from helpers import EmulatorFactory
from helpers.pubsub_client import (
    LEAD_TOPIC,
    TRIAL_TOPIC,
    PubSubClient,
    assert_sf_error,
    lead_change_record,
)

from emulator.pubsub import store as store_module
from emulator.pubsub import subscribe as subscribe_module
from emulator.pubsub.subscribe import StreamSettings
from emulator.server import Emulator
from proto import pubsub_api_pb2 as pb

# -- replay IDs -------------------------------------------------------------------------


def test_replay_ids_are_10_bytes_and_custom_resumes_after_one(pubsub: PubSubClient) -> None:
    ids = pubsub.publish_trial_events(4)
    assert all(len(i) == 10 for i in ids)
    assert len(set(ids)) == 4
    with pubsub.subscribe(TRIAL_TOPIC, 10, pb.CUSTOM, ids[1]) as sub:
        assert [e.replay_id for e in sub.events(2)] == ids[2:]


def test_earliest_starts_at_the_oldest_retained_event(emulator_factory: EmulatorFactory) -> None:
    emu = emulator_factory()
    with PubSubClient(emu.info()) as client:
        ids = client.publish_trial_events(3)
        with client.subscribe(TRIAL_TOPIC, 10, pb.EARLIEST) as sub:
            got = sub.events(3)
    assert [e.replay_id for e in got] == ids
    assert [client.decode(e.event)["Workspace_ID__c"] for e in got] == ["w0", "w1", "w2"]


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda rid, other: rid[:8], id="truncated-to-8-bytes"),
        pytest.param(lambda rid, other: bytes(10), id="zeros"),
        pytest.param(lambda rid, other: rid[:9] + bytes([rid[9] ^ 0xFF]), id="bad-tag"),
        pytest.param(lambda rid, other: b"garbage", id="garbage"),
        pytest.param(lambda rid, other: other, id="other-topics-id"),
    ],
)
def test_bad_replay_ids_are_corrupted(
    emulator: Emulator, pubsub: PubSubClient, mangle: Callable[[bytes, bytes], bytes]
) -> None:
    rid = pubsub.publish_trial_events(1)[0]
    other = emulator.context.bus.publish_record(LEAD_TOPIC, lead_change_record()).replay_id
    with pubsub.subscribe(TRIAL_TOPIC, 1, pb.CUSTOM, mangle(rid, other)) as sub:
        error = sub.wait_error()
    assert_sf_error(
        error, grpc.StatusCode.INVALID_ARGUMENT, "subscription.fetch.replayid.corrupted"
    )


def test_custom_without_a_replay_id_fails_validation(pubsub: PubSubClient) -> None:
    with pubsub.subscribe(TRIAL_TOPIC, 1, pb.CUSTOM) as sub:
        error = sub.wait_error()
    assert_sf_error(
        error, grpc.StatusCode.INVALID_ARGUMENT, "subscription.fetch.replayid.validation.failed"
    )


def test_unknown_topic_is_not_found(pubsub: PubSubClient) -> None:
    with pubsub.subscribe("/event/Nope__e", 1) as sub:
        error = sub.wait_error()
    assert_sf_error(error, grpc.StatusCode.NOT_FOUND, "topic.not.found")


# -- retention and restart --------------------------------------------------------------


def test_replay_ids_older_than_retention_are_corrupted(
    emulator_factory: EmulatorFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = emulator_factory(stream=StreamSettings(keepalive_s=0.5, retention_s=60.0))
    with PubSubClient(emu.info()) as client:
        old = client.publish_trial_events(2)
        later = store_module.now_ms() + 61_000  # the clock moves past the retention window

        def now_ms() -> int:
            return later

        monkeypatch.setattr(store_module, "now_ms", now_ms)
        monkeypatch.setattr(subscribe_module, "now_ms", now_ms)
        fresh = client.publish_trial_events(1, start=5)
        with client.subscribe(TRIAL_TOPIC, 10, pb.EARLIEST) as sub:
            assert [e.replay_id for e in sub.events(1)] == fresh
            assert sub.keepalive().latest_replay_id == fresh[0]
        for rid in old:
            with client.subscribe(TRIAL_TOPIC, 1, pb.CUSTOM, rid) as sub:
                error = sub.wait_error()
            assert_sf_error(
                error, grpc.StatusCode.INVALID_ARGUMENT, "subscription.fetch.replayid.corrupted"
            )
        with client.subscribe(TRIAL_TOPIC, 1, pb.CUSTOM, fresh[0]) as sub:
            assert sub.keepalive().latest_replay_id == fresh[0]


def test_events_and_replay_ids_survive_a_restart(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emu = emulator_factory()
    with PubSubClient(emu.info()) as client:
        ids = client.publish_trial_events(3)
        old_token = client.access_token
    endpoint = emu.info()["pubsub_endpoint"]
    port = int(endpoint.rsplit(":", 1)[1])
    emu.stop()
    with pytest.raises(ConnectionRefusedError):  # the relay really stopped listening
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    restarted = emulator_factory(state_dir=tmp_path / "state", pubsub_port=port)
    assert restarted.info()["pubsub_endpoint"] == endpoint  # same port: clients keep config
    with PubSubClient(restarted.info()) as client:
        with client.subscribe(TRIAL_TOPIC, 10, pb.CUSTOM, ids[0]) as sub:
            got = sub.events(2)
        assert [e.replay_id for e in got] == ids[1:]
        assert [client.decode(e.event)["Workspace_ID__c"] for e in got] == ["w1", "w2"]
        new = client.publish_trial_events(1, start=3)
        with client.subscribe(TRIAL_TOPIC, 10, pb.CUSTOM, ids[-1]) as sub:
            assert [e.replay_id for e in sub.events(1)] == new
        with client.subscribe(TRIAL_TOPIC, 10, pb.EARLIEST) as sub:
            assert [e.replay_id for e in sub.events(4)] == [*ids, *new]
    with PubSubClient(restarted.info(), access_token=old_token) as client:
        assert client.get_topic().schema_id  # sessions survive too
