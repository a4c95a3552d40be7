"""The intake's unary calls over real TLS to the emulator: a refused call's error names the
call and its argument (what the operator reads in the log line or ``publish``'s output)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from subscriber_harness import EmulatorTokens, intake_settings

from subscriber.auth import SessionProvider
from subscriber.channel import PubSubClient, open_channel
from subscriber.errors import SubscriberError

UNKNOWN_TOPIC = "/event/NoSuchTopic__e"


@pytest.fixture
def client(emulator_factory: Any) -> Iterator[PubSubClient]:
    emu = emulator_factory()
    channel = open_channel(intake_settings(emu))
    pubsub = PubSubClient(channel, SessionProvider(EmulatorTokens(emu)), rpc_timeout_s=10.0)
    yield pubsub
    pubsub.close()
    channel.close()


@pytest.mark.parametrize(("call", "named"), [
    (lambda c: c.publish(UNKNOWN_TOPIC, []), f"Publish {UNKNOWN_TOPIC} failed: "),
    (lambda c: c.get_topic(UNKNOWN_TOPIC), f"GetTopic {UNKNOWN_TOPIC} failed: "),
    (lambda c: c.get_schema("no-such-schema"), "GetSchema no-such-schema failed: "),
])
def test_a_refused_call_names_the_call_and_what_it_asked_for(
        client: PubSubClient, call: Any, named: str) -> None:
    with pytest.raises(SubscriberError) as refused:
        call(client)
    assert str(refused.value).startswith(named)
    assert grpc.StatusCode.NOT_FOUND.name in str(refused.value)
