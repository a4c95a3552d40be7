"""Emulator Pub/Sub authentication: every RPC checks accesstoken, instanceurl and tenantid."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from helpers import EmulatorFactory
from helpers.pubsub_client import TRIAL_TOPIC, PubSubClient, assert_sf_error

from proto import pubsub_api_pb2 as pb

Metadata = tuple[tuple[str, str], ...]


def _get_topic(client: PubSubClient, md: Metadata) -> Any:
    return client.stub.GetTopic(pb.TopicRequest(topic_name=TRIAL_TOPIC), metadata=md)


def _get_schema(client: PubSubClient, md: Metadata) -> Any:
    sid = client.get_topic().schema_id
    return client.stub.GetSchema(pb.SchemaRequest(schema_id=sid), metadata=md)


def _publish(client: PubSubClient, md: Metadata) -> Any:
    return client.stub.Publish(pb.PublishRequest(topic_name=TRIAL_TOPIC), metadata=md)


def _publish_stream(client: PubSubClient, md: Metadata) -> Any:
    requests = iter([pb.PublishRequest(topic_name=TRIAL_TOPIC)])
    return list(client.stub.PublishStream(requests, metadata=md))


def _subscribe(client: PubSubClient, md: Metadata) -> Any:
    with client.subscribe(TRIAL_TOPIC, 1, metadata=md) as sub:
        raise sub.wait_error()


RPCS: dict[str, Callable[[PubSubClient, Metadata], Any]] = {
    "GetTopic": _get_topic,
    "GetSchema": _get_schema,
    "Publish": _publish,
    "PublishStream": _publish_stream,
    "Subscribe": _subscribe,
}

BAD_METADATA: dict[str, dict[str, str]] = {
    "missing-token": {"accesstoken": ""},
    "unknown-token": {"accesstoken": "00D000000000000!not-a-session"},
    "wrong-instanceurl": {"instanceurl": "https://na1.salesforce.com"},
    "wrong-tenantid": {"tenantid": "00D000000000001AAA"},
    "missing-tenantid": {"tenantid": ""},
}


@pytest.mark.parametrize("rpc", RPCS)
@pytest.mark.parametrize("bad", BAD_METADATA)
def test_every_rpc_rejects_bad_credentials(pubsub: PubSubClient, rpc: str, bad: str) -> None:
    md = pubsub.metadata(**BAD_METADATA[bad])
    with pytest.raises(grpc.RpcError) as caught:
        RPCS[rpc](pubsub, md)
    assert_sf_error(caught.value, grpc.StatusCode.UNAUTHENTICATED, "service.auth.error")


def test_credentials_in_their_accepted_forms(pubsub: PubSubClient) -> None:
    info = pubsub.info
    tenant = info["tenant_id"]
    for md in (
        pubsub.metadata(tenantid=tenant[:15]),
        pubsub.metadata(instanceurl=info["instance_url"] + "/"),
    ):
        assert _get_topic(pubsub, md).topic_name == TRIAL_TOPIC


def test_tenant_id_with_a_wrong_checksum_is_rejected(pubsub: PubSubClient) -> None:
    tenant = pubsub.info["tenant_id"]
    wrong = tenant[:15] + ("AAA" if tenant[15:] != "AAA" else "BBB")
    with pytest.raises(grpc.RpcError) as caught:
        _get_topic(pubsub, pubsub.metadata(tenantid=wrong))
    assert_sf_error(caught.value, grpc.StatusCode.UNAUTHENTICATED, "service.auth.error")


def test_no_metadata_at_all_is_unauthenticated(pubsub: PubSubClient) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        pubsub.stub.GetTopic(pb.TopicRequest(topic_name=TRIAL_TOPIC))
    assert_sf_error(caught.value, grpc.StatusCode.UNAUTHENTICATED, "service.auth.error")


def test_tokens_expire_after_their_lifetime(emulator_factory: EmulatorFactory) -> None:
    emu = emulator_factory(token_lifetime_s=0.0)
    with PubSubClient(emu.info()) as client, pytest.raises(grpc.RpcError) as caught:
        client.get_topic()
    assert_sf_error(caught.value, grpc.StatusCode.UNAUTHENTICATED, "service.auth.error")


def test_managed_subscribe_is_not_emulated_and_says_so(pubsub: PubSubClient) -> None:
    requests = iter([pb.ManagedFetchRequest(developer_name="X", num_requested=1)])
    with pytest.raises(grpc.RpcError) as caught:
        list(pubsub.stub.ManagedSubscribe(requests, metadata=pubsub.metadata()))
    assert_sf_error(
        caught.value, grpc.StatusCode.UNIMPLEMENTED, "managed.subscription.developer.name.not.found"
    )
