"""What a refused replay ID tells the operator: every fact it has, or a plain word for one
it lacks, and what each ``on_invalid_replay`` choice costs."""

from __future__ import annotations

import datetime as dt
import logging

from subscriber.errors import ReplayRejected
from subscriber.events import Checkpoint, Jump
from subscriber.replay import CHOICES, jump_messages, rejection_message
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


AT = dt.datetime(2026, 11, 30, 7, 0, 5, tzinfo=dt.UTC)
LATEST_FIRST = (
    f"{TOPIC}: subscribing from LATEST without a checkpoint (start_from = 'latest' and no "
    "checkpoint yet, first chosen at 2026-11-30T07:00:05+00:00): events published before this "
    "topic's first checkpoint may be skipped. The checkpoint is written on the first event or "
    "keepalive (at most keepalive_s = 270 s away); a reconnect or restart before then starts "
    "from LATEST again")


def test_a_first_latest_start_is_one_warning() -> None:
    assert jump_messages(TOPIC, Jump("latest", AT, b"", 1), 270.0) == [
        (logging.WARNING, LATEST_FIRST)]


def test_a_repeated_latest_start_adds_an_error_naming_since_when() -> None:
    assert jump_messages(TOPIC, Jump("latest", AT, b"", 2), 270.0) == [
        (logging.WARNING, LATEST_FIRST),
        (logging.ERROR, f"{TOPIC}: starting from LATEST again (start 2 since "
                        "2026-11-30T07:00:05+00:00) with no checkpoint written in between: "
                        "events published since 2026-11-30T07:00:05+00:00 may have been "
                        "skipped; reconcile that period")]


def test_an_earliest_jump_after_a_refusal_names_the_refused_id() -> None:
    assert jump_messages(TOPIC, Jump("earliest", AT, b"\x0a\x0b", 1), 270.0) == [
        (logging.WARNING, f"{TOPIC}: subscribing from EARLIEST (on_invalid_replay = 'earliest' "
                          "after Salesforce refused replay ID 0a0b at 2026-11-30T07:00:05+00:00)"
                          ": retained events are delivered again and deduplicated by the inbox")]
