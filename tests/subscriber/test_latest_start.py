"""Starting from LATEST: loud every time, recorded in the inbox, checkpointed at once.

Until a LATEST subscription writes its first checkpoint, a reconnect or restart can only jump
to LATEST again, skipping what was published in between; these tests pin down how small and
how visible that window is.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from helpers.inbox_places import BOTH_BACKENDS, InboxPlace
from subscriber_harness import TRIAL, HarnessFactory

from emulator.pubsub.subscribe import StreamSettings
from proto import pubsub_api_pb2 as pb
from subscriber.codec import SchemaCache
from subscriber.events import Jump
from subscriber.hooks import IntakeHooks
from subscriber.inbox_api import InboxStore
from subscriber.settings import IntakeSettings, ReplayPolicy
from subscriber.stream import TopicStream

BOGUS = bytes.fromhex("00000001deadbeef0000")
QUIET = StreamSettings(keepalive_s=60.0, idle_timeout_s=120.0)  # no keepalive during a test
X = "/event/X__e"




@BOTH_BACKENDS
def test_a_latest_start_warns_records_the_jump_and_checkpoints_its_first_keepalive(
    harness_factory: HarnessFactory, caplog: pytest.LogCaptureFixture,
    subscribed: list[threading.Event],
) -> None:
    """Public behaviour: the warning, the durable jump record while the stream has no
    checkpoint, and the first keepalive's replay ID as the checkpoint, ending the jump."""
    h = harness_factory(stream=StreamSettings(keepalive_s=0.3, idle_timeout_s=60.0),
                        topics=(TRIAL,), start_from="latest", keepalive_s=30.0)
    h.start()
    assert subscribed[0].wait(15), "the LATEST subscription"
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "LATEST without a checkpoint" in warning.getMessage()
    assert "may be skipped" in warning.getMessage()
    h.wait_for(lambda: len(h.hooks.keepalives) >= 1, "the first keepalive")
    h.stop()
    assert h.inbox.checkpoint(TRIAL).replay_id == h.hooks.keepalives[-1][1] != b""
    assert h.inbox.pending_jump(TRIAL) is None, "the checkpoint ends the recorded jump"


def _stream(inbox: InboxStore) -> TopicStream:
    """White-box on purpose: the emulator cannot be made to send a keepalive while the client
    holds no credit, so the no-credit rule is checked on the stream's response handler."""
    settings = IntakeSettings(endpoint="127.0.0.1:1", topics=(X,), ca_file=None,
                              start_from="latest")  # type: ignore[arg-type]
    return TopicStream(X, settings, client=None, sessions=None,  # type: ignore[arg-type]
                       schemas=SchemaCache(lambda sid: ""), inbox=inbox, hooks=IntakeHooks())


@BOTH_BACKENDS
def test_the_first_keepalive_of_a_latest_start_is_checkpointed_even_with_no_credit(
    inbox_place: InboxPlace,
) -> None:
    with inbox_place.open() as inbox:
        stream = _stream(inbox)
        assert stream._first_request().replay_preset == pb.LATEST
        assert inbox.pending_jump(X) == Jump("latest", inbox.pending_jump(X).at, b"", 1)
        stream._land(pb.FetchResponse(latest_replay_id=b"\x01" * 10, pending_num_requested=0))
        assert inbox.checkpoint(X).replay_id == b"\x01" * 10
        assert inbox.pending_jump(X) is None


@BOTH_BACKENDS
def test_after_an_event_a_latest_stream_keeps_the_caught_up_rule(
        inbox_place: InboxPlace) -> None:
    with inbox_place.open() as inbox:
        stream = _stream(inbox)
        stream._first_request()
        stream._events_seen = True  # as after an event response on this stream
        stream._land(pb.FetchResponse(latest_replay_id=b"\x01" * 10, pending_num_requested=0))
        assert inbox.checkpoint(X).replay_id is None


@BOTH_BACKENDS
def test_a_jump_to_latest_after_a_refused_replay_id_survives_a_restart(
    harness_factory: HarnessFactory, caplog: pytest.LogCaptureFixture,
    subscribed: list[threading.Event],
) -> None:
    """A restart inside the window carries out the recorded decision (no second rejection)
    and says, at ERROR, since when events may have been skipped."""
    opts: dict[str, Any] = {"topics": (TRIAL,), "on_invalid_replay": "latest",
                            "keepalive_s": 120.0}
    first = harness_factory(stream=QUIET, **opts)
    first.inbox.advance_checkpoint(TRIAL, BOGUS)
    first.start()
    assert subscribed[0].wait(15), "the jump's subscription"  # the refused one is not counted
    jump = first.inbox.pending_jump(TRIAL)
    assert jump is not None
    assert (jump.to, jump.rejected, jump.starts) == ("latest", BOGUS, 1)
    assert first.hooks.rejections == [(TRIAL, BOGUS, ReplayPolicy.LATEST)]
    first.stop()
    first.close()

    second = harness_factory(stream=QUIET, emu=first.emu, **opts)
    second.start()
    assert subscribed[1].wait(15), "the restarted subscription"
    again = second.inbox.pending_jump(TRIAL)
    assert again is not None
    assert (again.at, again.starts) == (jump.at, 2)
    assert any(r.levelno == logging.ERROR and "LATEST again" in r.getMessage()
               and jump.at.isoformat(timespec="seconds") in r.getMessage()
               for r in caplog.records)
    second.publish_trials(1)
    second.wait_count(TRIAL, 1)
    second.stop()
    assert second.hooks.rejections == [], "the recorded jump is carried out, not re-decided"
    assert second.inbox.pending_jump(TRIAL) is None
    assert second.inbox.checkpoint(TRIAL).replay_id not in (None, BOGUS)
