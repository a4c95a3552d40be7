"""Where a subscription starts (``choose_start``) for each combination of checkpoint, recorded
jump and settings: the request it sends and the jump it records again."""

from __future__ import annotations

import datetime as dt

from proto import pubsub_api_pb2 as pb
from subscriber.events import Jump
from subscriber.replay import Start, choose_start
from subscriber.settings import IntakeSettings

AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CHECKPOINT = bytes.fromhex("000000000000ab01")
OTHER = bytes.fromhex("000000000000cd02")
DEFAULTS = IntakeSettings()


def test_a_checkpoint_without_a_jump_resumes_after_it() -> None:
    start = choose_start(CHECKPOINT, None, DEFAULTS)
    assert start == Start(pb.CUSTOM, replay_id=CHECKPOINT)
    assert start.request("/event/T__e", 7) == pb.FetchRequest(
        topic_name="/event/T__e", replay_preset=pb.CUSTOM, replay_id=CHECKPOINT, num_requested=7)


def test_an_admin_replay_jump_is_followed_and_carries_the_checkpoint_it_left() -> None:
    jump = Jump("replay-earliest", AT, CHECKPOINT, 1)
    assert choose_start(CHECKPOINT, jump, DEFAULTS) == Start(
        pb.EARLIEST, jump_to="replay-earliest", rejected=CHECKPOINT)
    latest = Jump("replay-latest", AT, b"", 0)  # asked for before any checkpoint
    assert choose_start(None, latest, DEFAULTS) == Start(pb.LATEST, jump_to="replay-latest")


def test_an_admin_jump_from_another_checkpoint_is_stale_and_ignored() -> None:
    jump = Jump("replay-latest", AT, OTHER, 1)
    assert choose_start(CHECKPOINT, jump, DEFAULTS) == Start(pb.CUSTOM, replay_id=CHECKPOINT)


def test_a_refused_checkpoint_jumps_only_while_the_policy_still_says_so() -> None:
    jump = Jump("earliest", AT, CHECKPOINT, 2)
    earliest = IntakeSettings(on_invalid_replay="earliest")  # type: ignore[arg-type]
    assert choose_start(CHECKPOINT, jump, earliest) == Start(
        pb.EARLIEST, jump_to="earliest", rejected=CHECKPOINT)
    assert choose_start(CHECKPOINT, jump, DEFAULTS) == Start(pb.CUSTOM, replay_id=CHECKPOINT)


def test_a_topic_never_checkpointed_starts_from_start_from() -> None:
    latest = IntakeSettings(start_from="latest")  # type: ignore[arg-type]
    assert choose_start(None, None, latest) == Start(pb.LATEST, jump_to="latest")
    assert choose_start(None, None, DEFAULTS) == Start(pb.EARLIEST)
