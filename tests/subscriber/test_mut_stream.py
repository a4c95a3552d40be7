"""One topic's stream against the emulator over TLS: what it reports through the hooks (the
daemon's metrics, health and logs) when it becomes ready, lands a batch, or has to log in
again; and a hook that raises is logged by its name and changes nothing."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import pytest
from subscriber_harness import TRIAL, HarnessFactory, RecordingHooks

from subscriber.errors import Fatal
from subscriber.events import BatchStats
from subscriber.settings import ReplayPolicy


@dataclass
class ReadyHooks(RecordingHooks):
    ready: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def topic_ready(self, topic: str) -> None:
        with self.lock:
            self.ready.append(topic)

    def subscribed(self, topic: str) -> None:
        with self.lock:
            self.opened.append(topic)


class RaisingHooks(RecordingHooks):
    def topic_ready(self, topic: str) -> None:
        raise RuntimeError("metrics backend down")

    def batch_stored(self, topic: str, stats: BatchStats) -> None:
        super().batch_stored(topic, stats)
        raise RuntimeError("metrics backend down")


def test_an_expired_session_is_refreshed_and_the_reconnect_says_so(
        harness_factory: HarnessFactory) -> None:
    h = harness_factory(topics=(TRIAL,))
    h.hooks = hooks = ReadyHooks()
    h.start()
    h.publish_trials(1)
    h.wait_count(TRIAL, 1)
    h.emu.context.tokens.expire_all()
    h.emu.context.pubsub_faults.abort_streams_on_expiry.set()
    h.wait_for(lambda: len(hooks.reconnects) >= 1, "the reconnect")
    h.publish_trials(1, start=1)
    h.wait_count(TRIAL, 2)
    h.stop()
    (topic, reason), *_ = hooks.reconnects
    assert topic == TRIAL
    assert reason.startswith(f"Subscribe {TRIAL} failed: UNAUTHENTICATED")
    assert reason.endswith("; session refreshed")
    assert hooks.ready == [TRIAL], "GetTopic's check runs once per stream, not per attempt"


def test_a_hook_that_raises_is_logged_by_name_and_events_still_land(
        harness_factory: HarnessFactory, caplog: pytest.LogCaptureFixture) -> None:
    h = harness_factory(topics=(TRIAL,))
    h.hooks = RaisingHooks()
    with caplog.at_level(logging.ERROR, logger="subscriber.hooks"):
        h.start()
        h.publish_trials(3)
        h.wait_count(TRIAL, 3)
        h.stop()
    failed = {r.getMessage() for r in caplog.records if r.name == "subscriber.hooks"}
    assert failed == {"intake hook topic_ready failed", "intake hook batch_stored failed"}


def test_a_refused_replay_id_under_earliest_resubscribes_and_reports_it(
        harness_factory: HarnessFactory) -> None:
    refused = bytes.fromhex("00000001deadbeef0000")
    h = harness_factory(topics=(TRIAL,), on_invalid_replay="earliest")
    h.hooks = hooks = ReadyHooks()
    h.inbox.advance_checkpoint(TRIAL, refused)
    h.publish_trials(2)
    h.start()
    h.wait_count(TRIAL, 2)
    h.stop()
    assert hooks.rejections == [(TRIAL, refused, ReplayPolicy.EARLIEST)]
    assert hooks.reconnects == [(TRIAL, "replay ID rejected; resubscribing from EARLIEST")]
    # the resubscription that delivered reported itself open (the refused call may have
    # failed before gRPC asked for its second request, so it may or may not have)
    assert hooks.opened[-1:] == [TRIAL]
    assert len(hooks.opened) in (1, 2)
    assert hooks.ready == [TRIAL]


def test_under_the_fail_policy_a_refused_replay_id_stops_with_the_servers_ids(
        harness_factory: HarnessFactory) -> None:
    refused = bytes.fromhex("00000001deadbeef0000")
    h = harness_factory(topics=(TRIAL,))
    h.inbox.advance_checkpoint(TRIAL, refused)
    h.start()
    failure = h.wait_failure()
    assert isinstance(failure, Fatal)
    assert failure.error_code == "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
    assert failure.rpc_id != ""
    assert failure.rpc_id in str(failure)
    assert h.inbox.checkpoint(TRIAL).replay_id == refused, "left for a human"
