"""Emulator Pub/Sub fault injection, in-process and through the admin HTTP API."""

from __future__ import annotations

import time
from typing import Any

import grpc
import pytest
import requests
from helpers import EmulatorFactory
from helpers.pubsub_client import (
    LEAD_TOPIC,
    TRIAL_TOPIC,
    PubSubClient,
    Subscription,
    assert_sf_error,
)

from emulator.pubsub.faults import AbortPlan
from emulator.server import Emulator
from proto import pubsub_api_pb2 as pb

KEEPALIVE_S = 0.5
UNAVAILABLE_CODE = "sfdc.platform.eventbus.grpc.service.unavailable"


def _custom_subscription(client: PubSubClient, num: int) -> tuple[Subscription, bytes]:
    """A CUSTOM subscription that sees only events published after this call."""
    anchor = client.publish_trial_events(1, start=999)[0]
    sub = client.subscribe(TRIAL_TOPIC, num, pb.CUSTOM, anchor)
    assert sub.next().events == []  # the stream is up (first keepalive)
    return sub, anchor


def _admin(info: dict[str, Any], path: str, body: dict[str, Any] | None = None) -> Any:
    response = requests.post(f"{info['admin_url']}{path}", json=body or {}, timeout=5)
    response.raise_for_status()
    return response.json()


# -- abort ------------------------------------------------------------------------------


def test_abort_after_n_events_with_status_and_error_code(
    emulator: Emulator, pubsub: PubSubClient
) -> None:
    faults = emulator.context.pubsub_faults
    sub, _ = _custom_subscription(pubsub, 10)
    with sub:
        faults.arm_abort(AbortPlan(2, grpc.StatusCode.INTERNAL, UNAVAILABLE_CODE, "gone"))
        ids = pubsub.publish_trial_events(5)
        got = [e.replay_id for r in _until_end(sub) for e in r.events]
        error = sub.wait_error()
    assert got == ids[:2]
    assert_sf_error(error, grpc.StatusCode.INTERNAL, UNAVAILABLE_CODE)
    assert "gone" in (error.details() or "")
    # One-shot: the next stream is not aborted.
    with pubsub.subscribe(TRIAL_TOPIC, 10, pb.CUSTOM, ids[1]) as again:
        assert [e.replay_id for e in again.events(3)] == ids[2:]


def _until_end(sub: Subscription) -> list[pb.FetchResponse]:
    got = []
    while isinstance(item := sub.next_or_end(timeout=5), pb.FetchResponse):
        got.append(item)
    assert item is not None, "the stream neither ended nor answered"
    return got


def test_abort_after_zero_events_fails_an_idle_stream_at_once(
    emulator: Emulator, pubsub: PubSubClient
) -> None:
    sub, _ = _custom_subscription(pubsub, 10)
    with sub:
        emulator.context.pubsub_faults.arm_abort(
            AbortPlan(0, grpc.StatusCode.UNAVAILABLE, UNAVAILABLE_CODE)
        )
        assert _until_end(sub) == []
        assert_sf_error(sub.wait_error(), grpc.StatusCode.UNAVAILABLE, UNAVAILABLE_CODE)


def test_faults_can_target_one_topic(emulator: Emulator, pubsub: PubSubClient) -> None:
    faults = emulator.context.pubsub_faults
    trial, _ = _custom_subscription(pubsub, 10)
    with trial, pubsub.subscribe(LEAD_TOPIC, 10) as lead:
        assert lead.next().events == []
        faults.arm_abort(
            AbortPlan(0, grpc.StatusCode.UNAVAILABLE, UNAVAILABLE_CODE, topic=LEAD_TOPIC)
        )
        assert_sf_error(lead.wait_error(), grpc.StatusCode.UNAVAILABLE, UNAVAILABLE_CODE)
        ids = pubsub.publish_trial_events(2)
        assert [e.replay_id for e in trial.events(2)] == ids
        faults.arm_redeliver(1, topic=LEAD_TOPIC)
        assert trial.next().events == []  # the trial stream is not rewound
        faults.arm_redeliver(1, topic=TRIAL_TOPIC)
        assert [e.replay_id for e in trial.events(1)] == ids[1:]


# -- cut, silence, redelivery, delay ----------------------------------------------------


def test_cut_connections_breaks_streams_with_unavailable(
    emulator: Emulator, pubsub: PubSubClient
) -> None:
    sub, _ = _custom_subscription(pubsub, 10)
    with sub:
        assert emulator.cut_connections() >= 1
        error = sub.wait_error()
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert _reconnected(pubsub).topic_name == TRIAL_TOPIC


def _reconnected(client: PubSubClient, timeout: float = 5.0) -> pb.TopicInfo:
    """GetTopic once the channel has a new connection (the first call may still meet the
    broken one and fail with UNAVAILABLE, as it would after a real network failure)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return client.get_topic()
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise


def test_silent_server_sends_neither_events_nor_keepalives(
    emulator: Emulator, pubsub: PubSubClient
) -> None:
    faults = emulator.context.pubsub_faults
    sub, _ = _custom_subscription(pubsub, 10)
    with sub:
        faults.silent.set()
        ids = pubsub.publish_trial_events(2)
        assert sub.next_or_end(timeout=3 * KEEPALIVE_S) is None
        faults.silent.clear()
        assert [e.replay_id for e in sub.events(2)] == ids
        assert sub.next(timeout=3 * KEEPALIVE_S).events == []  # keepalives again


def test_redeliver_sends_a_slice_of_events_again(emulator: Emulator, pubsub: PubSubClient) -> None:
    sub, _ = _custom_subscription(pubsub, 10)
    with sub:
        ids = pubsub.publish_trial_events(3)
        assert [e.replay_id for e in sub.events(3)] == ids
        emulator.context.pubsub_faults.arm_redeliver(2)
        assert [e.replay_id for e in sub.events(2)] == ids[1:]
        more = pubsub.publish_trial_events(1)
        assert [e.replay_id for e in sub.events(1)] == more


def test_delay_slows_every_response(emulator: Emulator, pubsub: PubSubClient) -> None:
    emulator.context.pubsub_faults.delay_s = 0.4
    started = time.monotonic()
    pubsub.get_topic()
    assert time.monotonic() - started >= 0.4
    emulator.context.pubsub_faults.clear()  # no upper bound on the time: the box may be busy
    assert emulator.context.pubsub_faults.delay_s == 0.0
    assert pubsub.get_topic().topic_name == TRIAL_TOPIC


# -- token expiry -----------------------------------------------------------------------


def test_expired_tokens_fail_new_rpcs_but_open_streams_continue(
    emulator_factory: EmulatorFactory,
) -> None:
    emu = emulator_factory()
    with PubSubClient(emu.info()) as client:
        sub, _ = _custom_subscription(client, 10)
        with sub:
            assert emu.context.tokens.expire_all() >= 1
            with pytest.raises(grpc.RpcError) as caught:
                client.get_topic()
            assert_sf_error(caught.value, grpc.StatusCode.UNAUTHENTICATED, "service.auth.error")
            emu.context.bus.publish_record(TRIAL_TOPIC, _record())
            assert len(sub.events(1)) == 1


def test_expiry_with_abort_streams_fails_open_streams(emulator_factory: EmulatorFactory) -> None:
    emu = emulator_factory()
    with PubSubClient(emu.info()) as client:
        sub, _ = _custom_subscription(client, 10)
        with sub:
            emu.context.pubsub_faults.abort_streams_on_expiry.set()
            emu.context.tokens.expire_all()
            error = sub.wait_error()
    assert_sf_error(error, grpc.StatusCode.UNAUTHENTICATED, "service.auth.error")


def _record() -> dict[str, Any]:
    return {"CreatedDate": 1, "CreatedById": "005000000000001AAA", "Workspace_ID__c": "w"}


# -- the admin HTTP API -----------------------------------------------------------------


def test_admin_api_switches_faults_while_running(emulator: Emulator, pubsub: PubSubClient) -> None:
    info = pubsub.info
    sub, _ = _custom_subscription(pubsub, 10)
    with sub:
        snapshot = _admin(
            info,
            "/faults/pubsub/abort",
            {
                "after_events": 1,
                "status": "unavailable",
                "error_code": UNAVAILABLE_CODE,
            },
        )
        assert snapshot["abort"]["status"] == "UNAVAILABLE"
        ids = pubsub.publish_trial_events(3)
        assert [e.replay_id for r in _until_end(sub) for e in r.events] == ids[:1]
        assert_sf_error(sub.wait_error(), grpc.StatusCode.UNAVAILABLE, UNAVAILABLE_CODE)

    sub, _ = _custom_subscription(pubsub, 10)
    with sub:
        assert _admin(info, "/faults/pubsub/silent", {"on": True})["silent"] is True
        ids = pubsub.publish_trial_events(1)
        assert sub.next_or_end(timeout=3 * KEEPALIVE_S) is None
        assert _admin(info, "/faults/pubsub/silent", {"on": False})["silent"] is False
        assert [e.replay_id for e in sub.events(1)] == ids
        assert _admin(info, "/faults/pubsub/redeliver", {"count": 1})["redeliver"] == 1
        assert [e.replay_id for e in sub.events(1)] == ids
        assert _admin(info, "/faults/pubsub/delay", {"delay_ms": 300})["delay_ms"] == 300
        started = time.monotonic()
        pubsub.get_topic()
        assert time.monotonic() - started >= 0.3
        stats = requests.get(f"{info['admin_url']}/stats", timeout=5).json()
        assert stats["topics"][TRIAL_TOPIC]["events"] >= 1
        assert stats["faults"]["delay_ms"] == 300
        cleared = _admin(info, "/faults/clear")
        assert cleared == {"abort": None, "redeliver": 0, "silent": False, "delay_ms": 0}
        assert _admin(info, "/faults/pubsub/cut")["cut"] >= 1
        assert sub.wait_error().code() == grpc.StatusCode.UNAVAILABLE


def test_admin_api_faults_can_target_one_topic(emulator: Emulator, pubsub: PubSubClient) -> None:
    info = pubsub.info
    trial, _ = _custom_subscription(pubsub, 10)
    with trial, pubsub.subscribe(LEAD_TOPIC, 10) as lead:
        assert lead.next().events == []
        body = {"after_events": 0, "status": "UNAVAILABLE", "error_code": UNAVAILABLE_CODE,
                "topic": LEAD_TOPIC}
        assert _admin(info, "/faults/pubsub/abort", body)["abort"]["topic"] == LEAD_TOPIC
        assert_sf_error(lead.wait_error(), grpc.StatusCode.UNAVAILABLE, UNAVAILABLE_CODE)
        ids = pubsub.publish_trial_events(2)
        assert [e.replay_id for e in trial.events(2)] == ids
        _admin(info, "/faults/pubsub/redeliver", {"count": 1, "topic": TRIAL_TOPIC})
        assert [e.replay_id for e in trial.events(1)] == ids[1:]


def test_admin_api_rejects_bad_requests(emulator: Emulator) -> None:
    admin = emulator.info()["admin_url"]
    bad = requests.post(f"{admin}/faults/pubsub/abort", json={"status": "NOPE"}, timeout=5)
    assert bad.status_code == 400
    assert requests.post(f"{admin}/faults/nope", json={}, timeout=5).status_code == 404


def test_admin_api_expires_tokens_and_issues_new_ones(emulator_factory: EmulatorFactory) -> None:
    emu = emulator_factory()
    info = emu.info()
    with PubSubClient(info) as client:
        sub, _ = _custom_subscription(client, 10)
        with sub:
            assert _admin(info, "/faults/tokens/expire", {"abort_streams": True})["expired"] >= 1
            assert_sf_error(sub.wait_error(), grpc.StatusCode.UNAUTHENTICATED, "service.auth.error")
        with pytest.raises(grpc.RpcError) as caught:
            client.get_topic()
        assert_sf_error(caught.value, grpc.StatusCode.UNAUTHENTICATED, "service.auth.error")
        token = _admin(info, "/tokens")["access_token"]
    with PubSubClient(info, access_token=token) as client:
        assert client.get_topic().topic_name == TRIAL_TOPIC
        sub, _ = _custom_subscription(client, 1)  # fresh sessions keep streaming
        with sub:
            client.publish_trial_events(1)
            assert len(sub.events(1)) == 1
