"""``lifecycle-sync publish`` as the event it puts on the bus: read back from the emulator
over TLS (a Subscribe started before it), every field is what the product would publish
(mutation testing found the record's field names, the test data and the times unpinned)."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.pubsub_client import PubSubClient, Subscription

from emulator.server import Emulator
from proto import pubsub_api_pb2 as pb
from service.cli import main
from service.publish_cmd import TOPIC, default_data


@pytest.fixture
def trial_stream(emulator: Emulator, pubsub: PubSubClient) -> Iterator[Subscription]:
    """A subscription starting right after the newest stored trial event."""
    store = emulator.context.bus.store
    newest = store.max_seq(TOPIC)
    sub = (pubsub.subscribe(TOPIC, 10, pb.CUSTOM, store.replay_id(TOPIC, newest)) if newest
           else pubsub.subscribe(TOPIC, 10, pb.EARLIEST))
    with sub:
        yield sub


def publish(emulator: Emulator, tmp_path: Path, *args: str) -> int:
    info = tmp_path / "info.json"
    emulator.write_info(info)
    return main(["publish", *args, "--emulator-info", str(info), "--state",
                 str(tmp_path / "state")])


def published(pubsub: PubSubClient, stream: Subscription) -> tuple[str, dict[str, Any]]:
    (event,) = stream.events(1)
    uuid.UUID(event.event.id)  # each published event gets its own UUID
    return event.replay_id.hex(), pubsub.decode(event.event)


def test_publish_conversion_puts_the_products_record_with_test_data_on_the_bus(
        emulator: Emulator, pubsub: PubSubClient, trial_stream: Subscription,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before_ms = int(time.time() * 1000)
    code = publish(emulator, tmp_path, "conversion", "--workspace-id", "ws-pub-1",
                   "--email", "ann@acme.example", "--at", "2026-11-30T09:00:00Z")
    after_ms = int(time.time() * 1000)
    out = capsys.readouterr()
    assert (code, out.err) == (0, "")
    replay_id, record = published(pubsub, trial_stream)
    assert out.out == f"published Conversion for workspace ws-pub-1: replay ID {replay_id}\n"
    assert record["Workspace_ID__c"] == "ws-pub-1"
    assert record["Email__c"] == "ann@acme.example"
    assert record["Event_Type__c"] == "Conversion"
    assert json.loads(record["Event_Data__c"]) == {
        "subscription_id": "sub-test-ws-pub-1", "plan_type": "Team", "mrr": 99.0}
    assert record["Event_Timestamp__c"] == 1_796_029_200_000  # --at, in epoch milliseconds
    assert before_ms <= record["CreatedDate"] <= after_ms  # published now, in milliseconds
    assert record["CreatedById"] == "005000000000000AAA"


def test_publish_with_data_sends_it_as_given_and_a_naive_time_as_utc(
        emulator: Emulator, pubsub: PubSubClient, trial_stream: Subscription,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = publish(emulator, tmp_path, "churn", "--workspace-id", "ws-pub-2", "--email",
                   "bob@acme.example", "--data", '{"churn_reason": "price"}',
                   "--at", "2026-11-30T09:00:00")
    assert code == 0
    _, record = published(pubsub, trial_stream)
    assert record["Event_Type__c"] == "Churn"
    assert json.loads(record["Event_Data__c"]) == {"churn_reason": "price"}
    assert record["Event_Timestamp__c"] == 1_796_029_200_000
    assert capsys.readouterr().out.startswith("published Churn for workspace ws-pub-2: ")


def test_default_test_data_is_valid_for_each_event_type() -> None:
    today = dt.date(2026, 11, 30)
    assert default_data("trial", "w", today) == {"trial_expiration": "2026-12-14"}
    assert default_data("conversion", "w-1", today) == {
        "subscription_id": "sub-test-w-1", "plan_type": "Team", "mrr": 99.0}
    assert default_data("churn", "w", today) == {"churn_date": "2026-11-30",
                                                  "churn_reason": "test"}
