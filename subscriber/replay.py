"""Where a subscription starts, and what a rejected replay ID costs under each policy."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from proto import pubsub_api_pb2 as pb
from subscriber.errors import ReplayRejected
from subscriber.events import Checkpoint, Jump
from subscriber.settings import IntakeSettings, ReplayPolicy, StartFrom

_PRESETS: dict[ReplayPolicy | StartFrom, pb.ReplayPreset] = {
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


# Jumps recorded by `lifecycle-sync replay --from earliest|latest` (service/replay_cmd.py).
ADMIN_PRESETS = {"replay-earliest": pb.EARLIEST, "replay-latest": pb.LATEST}


@dataclass(frozen=True)
class Start:
    """Where one attempt subscribes from, and the jump it carries out (if any)."""

    preset: pb.ReplayPreset
    replay_id: bytes = b""
    jump_to: str | None = None  # a preset chosen instead of a checkpoint: record it durably
    rejected: bytes = b""

    def request(self, topic: str, num_requested: int) -> pb.FetchRequest:
        return pb.FetchRequest(topic_name=topic, replay_preset=self.preset,
                               replay_id=self.replay_id, num_requested=num_requested)


def choose_start(checkpoint: bytes | None, jump: Jump | None, settings: IntakeSettings) -> Start:
    """Resume after the checkpoint, unless a recorded jump away from exactly that (refused)
    checkpoint is pending and ``on_invalid_replay`` still says so; a topic never checkpointed
    starts from ``start_from`` (a LATEST start is a jump too: recorded until the first
    checkpoint). An admin's ``lifecycle-sync replay --from earliest|latest`` is a jump away
    from the checkpoint it found, followed whatever the policy says."""
    admin = ADMIN_PRESETS.get(jump.to) if jump is not None else None
    if jump is not None and admin is not None and jump.rejected == (checkpoint or b""):
        return Start(admin, jump_to=jump.to, rejected=jump.rejected)
    if checkpoint:
        policy = settings.on_invalid_replay
        if jump is not None and jump.rejected == checkpoint and jump.to == policy.value:
            return Start(_PRESETS[policy], jump_to=jump.to, rejected=checkpoint)
        return Start(pb.CUSTOM, replay_id=checkpoint)
    if settings.start_from is StartFrom.LATEST:
        return Start(pb.LATEST, jump_to=StartFrom.LATEST.value)
    return Start(_PRESETS[settings.start_from])


def jump_messages(topic: str, record: Jump, keepalive_s: float) -> list[tuple[int, str]]:
    """What to log (level, message) when an attempt starts from a recorded jump."""
    when = record.at.isoformat(timespec="seconds")
    if record.to in ADMIN_PRESETS:
        return [(logging.WARNING, f"{topic}: subscribing from "
                 f"{record.to.removeprefix('replay-').upper()} as `lifecycle-sync replay` "
                 f"asked at {when}; events already in the inbox are deduplicated")]
    if record.rejected:
        why = (f"on_invalid_replay = '{record.to}' after Salesforce refused replay ID "
               f"{record.rejected.hex()} at {when}")
    else:
        why = f"start_from = 'latest' and no checkpoint yet, first chosen at {when}"
    if record.to != StartFrom.LATEST.value:
        return [(logging.WARNING, f"{topic}: subscribing from {record.to.upper()} ({why}): "
                 "retained events are delivered again and deduplicated by the inbox")]
    found = [(logging.WARNING, (
        f"{topic}: subscribing from LATEST without a checkpoint ({why}): events published "
        "before this topic's first checkpoint may be skipped. The checkpoint is written on the "
        f"first event or keepalive (at most keepalive_s = {keepalive_s:.0f} s away); a "
        "reconnect or restart before then starts from LATEST again"))]
    if record.starts > 1:
        found.append((logging.ERROR, (
            f"{topic}: starting from LATEST again (start {record.starts} since {when}) with no "
            f"checkpoint written in between: events published since {when} may have been "
            "skipped; reconcile that period")))
    return found


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
