"""A LATEST start may checkpoint its first keepalive whatever the credit, but only until its
first event: after that the stream keeps the caught-up rule (a keepalive moves the checkpoint
only while the server still holds unused credit, else events may wait that it would skip).
White-box like test_latest_start's, for the same reason: the emulator cannot be made to send
a keepalive while the client holds no credit."""

from __future__ import annotations

from helpers.inbox_places import BOTH_BACKENDS, InboxPlace
from test_latest_start import X, _stream

from proto import pubsub_api_pb2 as pb

EVENT_ID = b"\x00" * 9 + b"\x05"
LATER = b"\x00" * 9 + b"\x09"

pytestmark = BOTH_BACKENDS


def _event_response() -> pb.FetchResponse:
    event = pb.ConsumerEvent(event=pb.ProducerEvent(id="uuid-5", schema_id="s", payload=b"x"),
                             replay_id=EVENT_ID)
    return pb.FetchResponse(events=[event], latest_replay_id=EVENT_ID, pending_num_requested=0)


def test_after_its_first_event_a_latest_stream_keeps_the_caught_up_rule(
        inbox_place: InboxPlace) -> None:
    with inbox_place.open() as inbox:
        stream = _stream(inbox)
        # _first_request and _land, private: the emulator cannot send a keepalive while the
        # client holds no credit (see the docstring), so responses are handed in directly.
        stream._first_request()
        stream._land(_event_response())  # stored (as poison: no schema here) with its ID
        assert inbox.checkpoint(X).replay_id == EVENT_ID
        stream._land(pb.FetchResponse(latest_replay_id=LATER, pending_num_requested=0))
        assert inbox.checkpoint(X).replay_id == EVENT_ID, "no credit: events may be owed"
        stream._land(pb.FetchResponse(latest_replay_id=LATER, pending_num_requested=3))
        assert inbox.checkpoint(X).replay_id == LATER, "caught up: the keepalive's ID is safe"
