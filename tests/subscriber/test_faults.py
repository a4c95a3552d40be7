"""Recovery: aborted streams, cut connections, a silent server, expired sessions, redelivery,
a failing inbox write. In every case nothing is lost and nothing is stored twice."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import certifi
import grpc
import pytest
from helpers.inbox_places import BOTH_BACKENDS, InboxPlace, allow_inserts, refuse_inserts
from subscriber_harness import LEAD, TRIAL, Harness, HarnessFactory, RecordingHooks

from emulator.pubsub.faults import AbortPlan
from emulator.pubsub.subscribe import StreamSettings
from subscriber.errors import Fatal, InboxFailed

SERVICE_UNAVAILABLE = "sfdc.platform.eventbus.grpc.service.unavailable"


def _workspaces(h: Harness) -> list[str]:
    return [e.payload["Workspace_ID__c"] for e in h.inbox.pending(500, TRIAL) if e.payload]


@BOTH_BACKENDS
@pytest.mark.parametrize(
    ("code", "error_code"),
    [
        (grpc.StatusCode.UNAVAILABLE, "RST_STREAM closed stream"),
        (grpc.StatusCode.INTERNAL, SERVICE_UNAVAILABLE),
    ],
)
def test_aborted_stream_resumes_from_checkpoint(
    harness_factory: HarnessFactory, code: grpc.StatusCode, error_code: str
) -> None:
    h = harness_factory()
    h.publish_trials(10)
    h.emu.context.pubsub_faults.arm_abort(AbortPlan(3, code, error_code))
    h.start()
    h.wait_count(TRIAL, 10)
    h.stop()
    assert _workspaces(h) == [f"w{i}" for i in range(10)]
    assert any(code.name in reason and t == TRIAL for t, reason in h.hooks.reconnects)
    assert sum(s.duplicates for _, s in h.hooks.batches) == 0


def test_cut_connection_reconnects(harness_factory: HarnessFactory) -> None:
    h = harness_factory().start()
    h.publish_trials(2)
    h.wait_count(TRIAL, 2)
    assert h.emu.cut_connections() >= 1
    h.wait_for(lambda: len(h.hooks.reconnects) >= 1, "a reconnect")
    h.publish_trials(3, start=2)
    h.wait_count(TRIAL, 5)
    h.stop()
    assert _workspaces(h) == [f"w{i}" for i in range(5)]


def test_silent_stall_trips_the_watchdog(harness_factory: HarnessFactory) -> None:
    h = harness_factory(stream=StreamSettings(keepalive_s=0.2), keepalive_s=0.5,
                        watchdog_margin_s=0.5)
    faults = h.emu.context.pubsub_faults
    h.start()
    h.wait_for(lambda: len(h.hooks.keepalives) >= 2, "keepalives")
    faults.silent.set()
    h.wait_for(lambda: any("watchdog" in r for _, r in h.hooks.reconnects), "the watchdog")
    faults.silent.clear()
    h.publish_trials(2)
    h.wait_count(TRIAL, 2)
    h.stop()


def test_expired_session_is_refreshed_once(
    harness_factory: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h = harness_factory().start()
    h.publish_trials(1)
    h.wait_count(TRIAL, 1)
    old_token = h.sessions.current().access_token
    ctx = h.emu.context
    ctx.tokens.expire_all()
    ctx.pubsub_faults.abort_streams_on_expiry.set()
    h.wait_for(lambda: {t for t, _ in h.hooks.reconnects} == {TRIAL, LEAD}, "both streams")
    h.publish_trials(2, start=1)
    h.wait_count(TRIAL, 3)
    h.stop()
    assert h.tokens.logins == 2, "one refresh for both streams"
    assert all("UNAUTHENTICATED" in r for _, r in h.hooks.reconnects)
    new_token = h.sessions.current().access_token
    for token in (old_token, new_token):
        assert token not in caplog.text


@BOTH_BACKENDS
def test_redelivered_events_are_dropped_at_the_door(harness_factory: HarnessFactory) -> None:
    h = harness_factory().start()
    h.publish_trials(5)
    h.wait_count(TRIAL, 5)
    h.emu.context.pubsub_faults.arm_redeliver(3)
    h.publish_trials(2, start=5)
    h.wait_count(TRIAL, 7)
    h.wait_for(lambda: sum(s.duplicates for _, s in h.hooks.batches) == 3, "3 duplicates")
    h.stop()
    assert _workspaces(h) == [f"w{i}" for i in range(7)]


@BOTH_BACKENDS
def test_failed_inbox_write_stops_the_intake_and_loses_nothing(
    harness_factory: HarnessFactory, inbox_place: InboxPlace,
) -> None:
    """A write that fails (disk full) stops the intake instead of refetching the batch every
    backoff forever (each refetch costs deliveries from the daily allocation)."""
    h = harness_factory().start()
    h.wait_for(lambda: h.inbox.checkpoint(TRIAL).replay_id is not None, "first checkpoint")
    before = h.inbox.checkpoint(TRIAL).replay_id
    said = refuse_inserts(inbox_place)
    h.publish_trials(3)
    failure = h.wait_failure()
    assert isinstance(failure, InboxFailed)
    assert said in str(failure)
    assert "nothing was lost; the checkpoint did not move" in str(failure)
    assert h.hooks.reconnects == [], "must not resubscribe and refetch the batch"
    assert h.count(TRIAL) == 0
    assert h.inbox.checkpoint(TRIAL).replay_id == before, "checkpoint moved without its batch"
    allow_inserts(inbox_place)
    h.start()  # what the service manager's restart does
    h.wait_count(TRIAL, 3)
    h.stop()
    assert _workspaces(h) == ["w0", "w1", "w2"]


def test_unknown_topic_is_fatal(harness_factory: HarnessFactory) -> None:
    h = harness_factory(topics=(TRIAL, "/event/Nope__e")).start()
    failure = h.wait_failure()
    assert isinstance(failure, Fatal)
    assert "/event/Nope__e" in str(failure)
    assert "NOT_FOUND" in str(failure)
    assert "topic.not.found" in failure.error_code


def test_a_topic_the_user_may_not_subscribe_to_is_fatal_before_subscribing(
    deny_subscribe: set[str], harness_factory: HarnessFactory,
    subscribed: list[threading.Event],
) -> None:
    deny_subscribe.add(TRIAL)
    h = harness_factory(topics=(TRIAL,)).start()
    failure = h.wait_failure()
    assert isinstance(failure, Fatal)
    assert f"cannot subscribe to {TRIAL}" in str(failure)
    assert "permission set" in str(failure)
    assert not subscribed[0].is_set(), "Subscribe was called for a topic GetTopic refused"
    assert h.hooks.reconnects == []


def test_a_pubsub_server_the_configured_ca_did_not_sign_is_never_trusted(
    harness_factory: HarnessFactory,
) -> None:
    """README: TLS is verified. With the bundled public roots as the CA file, the emulator's
    certificate fails verification: the intake keeps retrying and stores nothing."""
    h = harness_factory(ca_file=Path(certifi.where()), topics=(TRIAL,))
    h.publish_trials(1)
    h.start()
    h.wait_for(lambda: len(h.hooks.reconnects) >= 2, "two failed attempts")
    h.stop()
    assert h.count(TRIAL) == 0
    assert all("UNAVAILABLE" in reason for _, reason in h.hooks.reconnects), h.hooks.reconnects


class _RaisingHooks(RecordingHooks):
    """Records, then raises: a broken observer (metrics, status) must never stop the intake."""

    def batch_stored(self, topic: str, stats: Any) -> None:
        super().batch_stored(topic, stats)
        raise RuntimeError("metrics backend down")

    def keepalive(self, topic: str, replay_id: bytes) -> None:
        super().keepalive(topic, replay_id)
        raise RuntimeError("metrics backend down")

    def reconnecting(self, topic: str, reason: str, delay_s: float) -> None:
        super().reconnecting(topic, reason, delay_s)
        raise RuntimeError("metrics backend down")

    def replay_rejected(self, topic: str, replay_id: bytes, policy: Any) -> None:
        super().replay_rejected(topic, replay_id, policy)
        raise RuntimeError("metrics backend down")


def test_hooks_that_raise_are_logged_by_name_and_never_stop_the_intake(
    harness_factory: HarnessFactory, caplog: pytest.LogCaptureFixture,
) -> None:
    h = harness_factory(stream=StreamSettings(keepalive_s=0.2), topics=(TRIAL,),
                        on_invalid_replay="earliest")
    h.hooks = _RaisingHooks()
    h.inbox.advance_checkpoint(TRIAL, bytes.fromhex("00000001deadbeef0000"))  # refused
    h.publish_trials(2)
    h.start()
    h.wait_count(TRIAL, 2)
    h.wait_for(lambda: len(h.hooks.keepalives) >= 1, "a keepalive")
    h.emu.context.pubsub_faults.arm_abort(AbortPlan(0, grpc.StatusCode.UNAVAILABLE, "x", TRIAL))
    h.wait_for(lambda: len(h.hooks.reconnects) >= 2, "the reconnect after the abort")
    h.publish_trials(1, start=2)
    h.wait_count(TRIAL, 3)
    h.stop()
    failed = {r.getMessage() for r in caplog.records if r.name == "subscriber.hooks"}
    assert failed == {f"intake hook {name} failed" for name in
                      ("replay_rejected", "reconnecting", "batch_stored", "keepalive")}
