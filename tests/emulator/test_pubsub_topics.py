"""Emulator Pub/Sub: TLS, GetTopic, GetSchema, schema shapes and schema evolution."""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from helpers import EmulatorFactory
from helpers.pubsub_client import (
    LEAD_TOPIC,
    TRIAL_TOPIC,
    PubSubClient,
    assert_sf_error,
    trial_record,
)

from emulator.ids import is_valid
from emulator.server import Emulator
from proto import pubsub_api_pb2 as pb
from proto import pubsub_api_pb2_grpc as pb_grpc

# Salesforce field type (from the field's ``doc``) -> the Avro type carrying it.
AVRO_TYPE = {
    "Text": "string",
    "TextArea": "string",
    "LongTextArea": "string",
    "Email": "string",
    "Phone": "string",
    "Url": "string",
    "Picklist": "string",
    "Lookup": "string",
    "DateTime": "long",
    "Date": "long",
    "Number": "double",
    "Currency": "double",
    "Percent": "double",
    "Checkbox": "boolean",
}


# -- TLS --------------------------------------------------------------------------------


def test_tls_certificate_is_trusted_through_the_ca_file_for_both_names(emulator: Emulator) -> None:
    info = emulator.info()
    port = int(info["pubsub_endpoint"].rsplit(":", 1)[1])
    tls = ssl.create_default_context(cafile=info["ca_cert"])
    for name in ("127.0.0.1", "localhost"):
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            tls.wrap_socket(raw, server_hostname=name) as conn,
        ):
            assert conn.version() in ("TLSv1.2", "TLSv1.3")


def test_a_client_without_the_ca_cannot_connect(emulator: Emulator) -> None:
    info = emulator.info()
    with grpc.secure_channel(info["pubsub_endpoint"], grpc.ssl_channel_credentials()) as ch:
        stub = pb_grpc.PubSubStub(ch)  # type: ignore[no-untyped-call, unused-ignore]
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetTopic(pb.TopicRequest(topic_name=TRIAL_TOPIC), timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


# -- GetTopic / GetSchema -----------------------------------------------------------------


@pytest.mark.parametrize("topic", [TRIAL_TOPIC, LEAD_TOPIC])
def test_get_topic_reports_org_schema_and_permissions(pubsub: PubSubClient, topic: str) -> None:
    info = pubsub.get_topic(topic)
    assert info.topic_name == topic
    assert info.can_subscribe
    assert info.can_publish == (topic == TRIAL_TOPIC)  # change events are Salesforce's to publish
    assert info.schema_id
    assert info.rpc_id
    assert info.tenant_guid == pubsub.info["tenant_id"]
    assert len(info.tenant_guid) == 18
    assert info.tenant_guid.startswith("00D")
    assert is_valid(info.tenant_guid)
    schema = pubsub.get_schema(info.schema_id)
    assert schema.schema_id == info.schema_id
    assert schema.rpc_id


def test_topic_names_match_ignoring_case(pubsub: PubSubClient) -> None:
    assert pubsub.get_topic(TRIAL_TOPIC.lower()).topic_name == TRIAL_TOPIC


def test_user_ids_are_salesforce_shaped(emulator: Emulator) -> None:
    user = emulator.info()["user_id"]
    assert len(user) == 18
    assert user.startswith("005")
    assert is_valid(user)


def test_platform_event_schema_is_shaped_like_salesforce(pubsub: PubSubClient) -> None:
    schema = json.loads(pubsub.get_schema(pubsub.get_topic(TRIAL_TOPIC).schema_id).schema_json)
    fields = {f["name"]: f for f in schema["fields"]}
    assert schema["type"] == "record"
    assert schema["name"] == "SelfServeTrialEvent__e"
    assert [f["name"] for f in schema["fields"][:2]] == ["CreatedDate", "CreatedById"]
    assert fields["CreatedDate"]["type"] == "long"
    assert fields["CreatedById"]["type"] == "string"
    custom = [f for f in schema["fields"] if f["name"].endswith("__c")]
    assert {f["name"] for f in custom} >= {"Workspace_ID__c", "Event_Type__c"}
    for f in custom:
        assert f["type"][0] == "null", f
        assert "default" in f
        assert f["default"] is None


def test_change_event_schema_is_shaped_like_salesforce(pubsub: PubSubClient) -> None:
    schema = json.loads(pubsub.get_schema(pubsub.get_topic(LEAD_TOPIC).schema_id).schema_json)
    first, rest = schema["fields"][0], schema["fields"][1:]
    assert schema["name"] == "LeadChangeEvent"
    assert first["name"] == "ChangeEventHeader"
    header = {f["name"] for f in first["type"]["fields"]}
    assert header >= {
        "entityName",
        "recordIds",
        "changeType",
        "changeOrigin",
        "transactionKey",
        "sequenceNumber",
        "commitTimestamp",
        "commitNumber",
        "commitUser",
        "nulledFields",
        "diffFields",
        "changedFields",
    }
    assert {"Company", "Email", "Status", "IsConverted"} <= {f["name"] for f in rest}
    for f in rest:
        assert f["type"][0] == "null", f
        assert f["default"] is None


@pytest.mark.parametrize("topic", [TRIAL_TOPIC, LEAD_TOPIC])
def test_field_types_map_to_avro_as_salesforce_maps_them(pubsub: PubSubClient, topic: str) -> None:
    schema = json.loads(pubsub.get_schema(pubsub.get_topic(topic).schema_id).schema_json)
    seen: set[str] = set()
    for f in _leaf_fields(schema["fields"]):
        kind = f.get("doc", "").removeprefix("Data:")
        if kind in AVRO_TYPE:
            assert f["type"] == ["null", AVRO_TYPE[kind]], f
            seen.add(kind)
    assert {"Text", "DateTime"} <= seen
    if topic == LEAD_TOPIC:
        assert {"Date", "Number", "Checkbox"} <= seen


def _leaf_fields(fields: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for f in fields:
        nested = f["type"][1] if isinstance(f["type"], list) else f["type"]
        if isinstance(nested, dict) and nested.get("type") == "record":
            if f["name"] != "ChangeEventHeader":
                yield from _leaf_fields(nested["fields"])
        else:
            yield f


def test_get_schema_for_an_unknown_id_is_not_found(pubsub: PubSubClient) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        pubsub.get_schema("nope")
    assert_sf_error(caught.value, grpc.StatusCode.NOT_FOUND, "schema.not.found")


def test_get_topic_for_an_unknown_topic_is_not_found(pubsub: PubSubClient) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        pubsub.get_topic("/event/Nope__e")
    assert_sf_error(caught.value, grpc.StatusCode.NOT_FOUND, "topic.not.found")


# -- schema evolution -------------------------------------------------------------------


def test_schema_ids_are_stable_and_a_change_gives_a_new_id(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emu = emulator_factory()
    with PubSubClient(emu.info()) as client:
        old_sid = client.get_topic(TRIAL_TOPIC).schema_id
        client.publish_trial_events(1)
        schema = json.loads(client.get_schema(old_sid).schema_json)
        schema["fields"].append(
            {"name": "Plan__c", "type": ["null", "string"], "doc": "Data:Text", "default": None}
        )
        assert emu.context.bus.define_topic(TRIAL_TOPIC, json.loads(json.dumps(schema))) != old_sid
        new_sid = client.get_topic(TRIAL_TOPIC).schema_id
        assert new_sid != old_sid
        event = client.event(TRIAL_TOPIC, trial_record(2, Plan__c="pro"), new_sid)
        assert not client.publish(TRIAL_TOPIC, [event]).results[0].error.msg
        with client.subscribe(TRIAL_TOPIC, 10, pb.EARLIEST) as sub:
            old_event, new_event = sub.events(2)
        assert old_event.event.schema_id == old_sid
        assert new_event.event.schema_id == new_sid
        assert client.decode(new_event.event)["Plan__c"] == "pro"
        assert "Plan__c" not in client.decode(old_event.event)
        assert client.get_schema(old_sid).schema_id == old_sid  # history stays served
        # Defining an identical schema again keeps its ID.
        assert emu.context.bus.define_topic(TRIAL_TOPIC, schema) == new_sid
    emu.stop()
    restarted = emulator_factory(state_dir=tmp_path / "state")
    with PubSubClient(restarted.info()) as client:
        assert client.get_topic(TRIAL_TOPIC).schema_id == old_sid  # catalog schema again
        assert client.get_schema(new_sid).schema_id == new_sid
