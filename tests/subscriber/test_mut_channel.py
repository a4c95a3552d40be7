"""The intake's channel and unary calls over real TLS to the emulator: a refused call's error
names the call and its argument (what the operator reads in the log line or ``publish``'s
output); an answer bigger than gRPC's 4 MiB default gets through (``max_receive_bytes``); with
no CA file configured, only the system's roots are trusted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import pytest
from subscriber_harness import EmulatorTokens, intake_settings

from subscriber.auth import SessionProvider
from subscriber.channel import PubSubClient, open_channel
from subscriber.errors import RetryLater, SubscriberError
from subscriber.settings import IntakeSettings

UNKNOWN_TOPIC = "/event/NoSuchTopic__e"


@pytest.fixture
def emu(emulator_factory: Any) -> Any:
    return emulator_factory()


@contextmanager
def _client(emu: Any, settings: IntakeSettings) -> Iterator[PubSubClient]:
    channel = open_channel(settings)
    pubsub = PubSubClient(channel, SessionProvider(EmulatorTokens(emu)), rpc_timeout_s=10.0)
    try:
        yield pubsub
    finally:
        pubsub.close()
        channel.close()


@pytest.fixture
def client(emu: Any) -> Iterator[PubSubClient]:
    with _client(emu, intake_settings(emu)) as pubsub:
        yield pubsub


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


def test_an_answer_bigger_than_grpcs_default_limit_is_received(
        emu: Any, client: PubSubClient) -> None:
    big = {"type": "record", "name": "Big", "doc": "x" * (5 * 1024 * 1024),
           "fields": [{"name": "a", "type": "long"}]}
    schema_id = emu.context.bus.define_topic("/event/Big__e", big)
    assert len(client.get_schema(schema_id)) > 5 * 1024 * 1024


def test_without_a_ca_file_a_server_the_system_roots_do_not_vouch_for_is_refused(
        emu: Any) -> None:
    with _client(emu, intake_settings(emu, ca_file=None)) as pubsub, \
            pytest.raises(RetryLater, match="UNAVAILABLE"):
        pubsub.get_topic("/event/SelfServeTrialEvent__e")


def test_a_unary_call_with_an_expired_session_logs_in_once_more_and_succeeds(emu: Any) -> None:
    tokens = EmulatorTokens(emu)
    channel = open_channel(intake_settings(emu))
    pubsub = PubSubClient(channel, SessionProvider(tokens), rpc_timeout_s=10.0)
    try:
        pubsub.get_topic("/event/SelfServeTrialEvent__e")
        emu.context.tokens.expire_all()
        assert pubsub.get_topic("/event/SelfServeTrialEvent__e").can_subscribe
        assert tokens.logins == 2
    finally:
        pubsub.close()
        channel.close()


def test_a_unary_call_unanswered_within_rpc_timeout_s_is_retried_later(emu: Any) -> None:
    emu.context.pubsub_faults.delay_s = 3.0
    channel = open_channel(intake_settings(emu))
    pubsub = PubSubClient(channel, SessionProvider(EmulatorTokens(emu)), rpc_timeout_s=0.3)
    try:
        with pytest.raises(RetryLater, match="DEADLINE_EXCEEDED"):
            pubsub.get_topic("/event/SelfServeTrialEvent__e")
    finally:
        emu.context.pubsub_faults.delay_s = 0.0
        pubsub.close()
        channel.close()
