"""Where a subscription starts, and what a rejected replay ID costs under each policy."""

from __future__ import annotations

from proto import pubsub_api_pb2 as pb
from subscriber.errors import ReplayRejected
from subscriber.events import Checkpoint
from subscriber.settings import ReplayPolicy, StartFrom

_PRESETS = {
    ReplayPolicy.EARLIEST: pb.EARLIEST, ReplayPolicy.LATEST: pb.LATEST,
    StartFrom.EARLIEST: pb.EARLIEST, StartFrom.LATEST: pb.LATEST,
}

CHOICES = (
    "on_invalid_replay = 'fail' (this) stops and leaves the checkpoint for a human; "
    "'earliest' resubscribes from the oldest retained event: nothing inside the 72-hour window "
    "is lost, up to 72 hours of events are delivered again (deduplicated by the inbox, but they "
    "count against the daily delivery allocation) and anything older than the window is gone "
    "anyway; 'latest' resubscribes from new events only: every event published since the "
    "checkpoint is skipped and must be reconciled"
)


def start_request(
    topic: str,
    checkpoint: bytes | None,
    jump_to: ReplayPolicy | None,
    start_from: StartFrom,
    num_requested: int,
) -> pb.FetchRequest:
    """The first FetchRequest of an attempt.

    A pending policy jump wins (the stored replay ID was just rejected); otherwise resume after
    the checkpoint; a topic never checkpointed starts from ``start_from``.
    """
    if jump_to is not None:
        preset = _PRESETS[jump_to]
    elif checkpoint:
        return pb.FetchRequest(
            topic_name=topic, replay_preset=pb.CUSTOM, replay_id=checkpoint,
            num_requested=num_requested,
        )
    else:
        preset = _PRESETS[start_from]
    return pb.FetchRequest(topic_name=topic, replay_preset=preset, num_requested=num_requested)


def rejection_message(
    topic: str, stored: Checkpoint, policy: ReplayPolicy, exc: ReplayRejected
) -> str:
    """What happened, what we do now, and what each choice costs."""
    when = stored.updated_at.isoformat() if stored.updated_at else "never"
    replay_hex = stored.replay_id.hex() if stored.replay_id else "(none)"
    head = (
        f"Salesforce rejected the stored replay ID of {topic} ({exc.error_code or 'no error-code'}"
        f", rpc-id {exc.rpc_id or '?'}): replay ID {replay_hex}, checkpointed {when}. It is "
        "corrupted or older than the 72-hour retention window."
    )
    if policy is ReplayPolicy.FAIL:
        return f"{head} Stopping. Choose how to resume: {CHOICES}."
    if policy is ReplayPolicy.EARLIEST:
        action = ("Jumping to EARLIEST (on_invalid_replay = 'earliest'): retained events are "
                  "delivered again and deduplicated; events older than the window are lost.")
    else:
        action = ("Jumping to LATEST (on_invalid_replay = 'latest'): every event published "
                  "since the checkpoint is SKIPPED; run a reconciliation.")
    return f"{head} {action}"
