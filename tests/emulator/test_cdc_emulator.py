"""Lead change events from REST writes, received over the Pub/Sub API like a real subscriber.

Leads are written with simple-salesforce over HTTPS; events are read with a gRPC Subscribe call,
decoded with the schema from GetSchema, and their bitmaps decoded independently. The client name
from ``Sforce-Call-Options`` must come back in ``changeOrigin`` (how a daemon spots its own
writes).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from helpers.pubsub_client import LEAD_TOPIC, PubSubClient, Subscription
from simple_salesforce.api import Salesforce
from test_cdc_decoding import decode_bitmap

from emulator.server import Emulator
from proto import pubsub_api_pb2 as pb

API = "62.0"
CLIENT = "lifecycle-sync"
OPTIONS = {"Sforce-Call-Options": f"client={CLIENT}"}


@pytest.fixture
def sf(emulator: Emulator) -> Salesforce:
    info = emulator.info()
    session = requests.Session()
    session.verify = info["ca_cert"]
    session.trust_env = False  # else REQUESTS_CA_BUNDLE silently replaces session.verify
    return Salesforce(instance_url=info["instance_url"], session_id=info["access_token"],
                      session=session, version=API)


@pytest.fixture
def lead_stream(emulator: Emulator, pubsub: PubSubClient) -> Iterator[Subscription]:
    """A subscription starting right after the newest stored Lead event (no race with writes)."""
    store = emulator.context.bus.store
    newest = store.max_seq(LEAD_TOPIC)
    if newest:
        sub = pubsub.subscribe(LEAD_TOPIC, 100, pb.CUSTOM, store.replay_id(LEAD_TOPIC, newest))
    else:
        sub = pubsub.subscribe(LEAD_TOPIC, 100, pb.EARLIEST)
    with sub:
        yield sub


def received(pubsub: PubSubClient, sub: Subscription, count: int,
             record_id: str) -> list[tuple[dict[str, Any], str]]:
    """The next ``count`` events for ``record_id``: (decoded event, its schema JSON)."""
    out = []
    for consumer in sub.events(count):
        event = pubsub.decode(consumer.event)
        assert event["ChangeEventHeader"]["recordIds"] == [record_id]
        schema = pubsub.get_schema(consumer.event.schema_id).schema_json
        out.append((event, schema))
    return out


def test_rest_create_update_delete_publish_change_events(
    sf: Any, pubsub: PubSubClient, lead_stream: Subscription, emulator: Emulator
) -> None:
    tag = uuid.uuid4().hex[:8]
    lead_id = sf.Lead.create({"FirstName": "Grace", "LastName": f"Hopper{tag}",
                              "Company": "Navy", "Title": "RADM", "City": "Arlington"},
                             headers=OPTIONS)["id"]
    sf.Lead.update(lead_id, {"Email": f"grace.{tag}@example.com", "Title": None},
                   headers=OPTIONS)
    sf.Lead.delete(lead_id, headers=OPTIONS)
    (create, schema), (update, _), (delete, _) = received(pubsub, lead_stream, 3, lead_id)

    origin = f"com/salesforce/api/rest/{API};client={CLIENT}"
    headers = [e["ChangeEventHeader"] for e in (create, update, delete)]
    assert [h["changeType"] for h in headers] == ["CREATE", "UPDATE", "DELETE"]
    assert {h["changeOrigin"] for h in headers} == {origin}
    assert {h["commitUser"] for h in headers} == {emulator.info()["user_id"]}
    assert len({h["transactionKey"] for h in headers}) == 3
    assert [h["sequenceNumber"] for h in headers] == [1, 1, 1]

    assert headers[0]["changedFields"] == headers[0]["nulledFields"] == []
    assert create["Name"] == {"Salutation": None, "FirstName": "Grace",
                              "LastName": f"Hopper{tag}"}
    assert create["Address"]["City"] == "Arlington"
    assert (create["Company"], create["Status"], create["IsConverted"]) == (
        "Navy", "Open - Not Contacted", False)
    assert create["CreatedDate"] == create["LastModifiedDate"]
    assert isinstance(create["CreatedDate"], int)

    assert decode_bitmap(schema, headers[1]["changedFields"]) == [
        "Title", "Email", "LastModifiedDate"]
    assert decode_bitmap(schema, headers[1]["nulledFields"]) == ["Title"]
    assert (update["Email"], update["Title"], update["Company"], update["Name"]) == (
        f"grace.{tag}@example.com", None, None, None)

    assert headers[2]["changedFields"] == []
    assert all(v is None for k, v in delete.items() if k != "ChangeEventHeader")


def test_compound_component_update_and_origin_without_client(
    sf: Any, pubsub: PubSubClient, lead_stream: Subscription
) -> None:
    lead_id = sf.Lead.create({"LastName": f"Curie{uuid.uuid4().hex[:8]}",
                              "Company": "Sorbonne"})["id"]
    sf.Lead.update(lead_id, {"FirstName": "Marie", "Street": "36 Quai de Béthune"})
    (create, _), (update, schema) = received(pubsub, lead_stream, 2, lead_id)
    header = update["ChangeEventHeader"]
    assert create["ChangeEventHeader"]["changeOrigin"] == f"com/salesforce/api/rest/{API}"
    assert header["changedFields"] == ["0x08000000", "1-0x02", "4-0x01"]
    assert decode_bitmap(schema, header["changedFields"]) == [
        "LastModifiedDate", "Name.FirstName", "Address.Street"]
    assert update["Name"] == {"Salutation": None, "FirstName": "Marie", "LastName": None}
    assert update["Address"]["Street"] == "36 Quai de Béthune"
    assert update["Address"]["City"] is None


def test_writes_to_objects_without_cdc_publish_no_lead_events(
    sf: Any, emulator: Emulator
) -> None:
    store = emulator.context.bus.store
    before = store.max_seq(LEAD_TOPIC)
    sf.Account.create({"Name": f"No CDC {uuid.uuid4().hex[:8]}"}, headers=OPTIONS)
    lead_id = sf.Lead.create({"LastName": "Marker", "Company": "M"})["id"]
    events = [emulator.context.bus.decode(e) for e in store.read_after(LEAD_TOPIC, before, 100)]
    assert [e["ChangeEventHeader"]["recordIds"] for e in events] == [[lead_id]]
