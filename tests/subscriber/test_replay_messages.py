"""What a refused replay ID tells the operator: every fact it has, or a plain word for one
it lacks, and what each ``on_invalid_replay`` choice costs."""

from __future__ import annotations

import datetime as dt

from subscriber.errors import ReplayRejected
from subscriber.events import Checkpoint
from subscriber.replay import CHOICES, rejection_message
from subscriber.settings import ReplayPolicy

TOPIC = "/event/X__e"
WINDOW = "It is corrupted or older than the 72-hour retention window."


def test_the_message_names_the_replay_id_when_and_the_server_ids() -> None:
    at = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)
    rejected = ReplayRejected("x", error_code="sfdc.platform.eventbus.grpc.subscription.fetch."
                              "replayid.corrupted", rpc_id="rpc-7")
    message = rejection_message(TOPIC, Checkpoint(b"\x01\xab", at), ReplayPolicy.FAIL, rejected)
    assert message == (
        f"Salesforce rejected the stored replay ID of {TOPIC} (sfdc.platform.eventbus.grpc."
        "subscription.fetch.replayid.corrupted, rpc-id rpc-7): replay ID 01ab, checkpointed "
        f"2026-11-30T07:00:00+00:00. {WINDOW} Stopping. Choose how to resume: {CHOICES}.")


def test_missing_facts_are_said_plainly() -> None:
    message = rejection_message(TOPIC, Checkpoint(None, None), ReplayPolicy.EARLIEST,
                                ReplayRejected("x"))
    assert message.startswith(
        f"Salesforce rejected the stored replay ID of {TOPIC} (no error-code, rpc-id ?): "
        f"replay ID (none), checkpointed never. {WINDOW} Jumping to EARLIEST")


def test_latest_says_events_are_skipped() -> None:
    message = rejection_message(TOPIC, Checkpoint(None, None), ReplayPolicy.LATEST,
                                ReplayRejected("x"))
    assert message.endswith("Jumping to LATEST (on_invalid_replay = 'latest'): every event "
                            "published since the checkpoint is SKIPPED; run a reconciliation.")
