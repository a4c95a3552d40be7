"""Change events of multi-record transactions, received over the Pub/Sub API (issue 13 items 15
and 21): identical changes merge into one event listing every record; one SOAP convertLead
call is one transaction."""

from __future__ import annotations

import uuid
from typing import Any

from helpers.pubsub_client import PubSubClient, Subscription
from test_cdc_emulator import OPTIONS, lead_stream, sf  # noqa: F401  (fixtures)
from test_soap_convert import convert_call, envelope, lead_convert, post, results

from emulator.server import Emulator

MERGED_DOC = ("https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/"
              "change_data_capture/cdc_subscribe_merged_events.htm")


def _headers(pubsub: PubSubClient, sub: Subscription, count: int) -> list[dict[str, Any]]:
    return [pubsub.decode(c.event)["ChangeEventHeader"] for c in sub.events(count)]


def _new_leads(client: Any, count: int, tag: str) -> list[str]:
    records = [{"attributes": {"type": "Lead"}, "LastName": f"Merge{i}{tag}",
                "Company": f"Merge Co {i}"} for i in range(count)]
    created = client.restful("composite/sobjects", method="POST", json={"records": records})
    return [r["id"] for r in created]


def test_identical_updates_in_one_transaction_merge_into_one_event(
    sf: Any, pubsub: PubSubClient, lead_stream: Subscription  # noqa: F811
) -> None:
    tag = uuid.uuid4().hex[:6]
    ids = _new_leads(sf, 3, tag)
    _headers(pubsub, lead_stream, 3)  # the three CREATEs (different names: not merged)
    same = [{"attributes": {"type": "Lead"}, "id": i, "Status": "Working - Contacted"}
            for i in ids]
    sf.restful("composite/sobjects", method="PATCH", json={"records": same}, headers=OPTIONS)
    sf.restful("composite/sobjects", method="PATCH", json={"records": [
        {"attributes": {"type": "Lead"}, "id": ids[0], "Title": "CEO"},
        {"attributes": {"type": "Lead"}, "id": ids[1], "Title": "CTO"}]})

    [merged, ceo, cto] = _headers(pubsub, lead_stream, 3)
    # CDC guide, "Merged Change Events": the same change to several records of one object in
    # one transaction is one event whose recordIds lists them all.
    assert merged["changeType"] == "UPDATE"
    assert merged["recordIds"] == ids
    assert merged["sequenceNumber"] == 1
    # Different values are different changes: one event each, in one transaction.
    assert (ceo["recordIds"], cto["recordIds"]) == ([ids[0]], [ids[1]])
    assert ceo["transactionKey"] == cto["transactionKey"]


def test_changes_merge_only_when_no_change_to_the_record_sits_between(
    sf: Any, pubsub: PubSubClient, lead_stream: Subscription  # noqa: F811
) -> None:
    lead, other = _new_leads(sf, 2, uuid.uuid4().hex[:6])
    _headers(pubsub, lead_stream, 2)
    steps = [(lead, "A"), (lead, "B"), (lead, "A"), (other, "A")]
    sf.restful("composite", method="POST", json={"allOrNone": True, "compositeRequest": [
        {"method": "PATCH", "url": f"/services/data/v62.0/sobjects/Lead/{record_id}",
         "referenceId": f"step{i}", "body": {"Title": title}}
        for i, (record_id, title) in enumerate(steps)]})

    events = [pubsub.decode(c.event) for c in lead_stream.events(3)]

    # CDC guide, "Merged Change Events" (MERGED_DOC): a merged event stands for the same change
    # to several records; applied in sequence order, the events must leave each record as the
    # transaction did (L at A, not B), so the last A on L cannot join the first A event, and no
    # record is listed twice.
    headers = [e["ChangeEventHeader"] for e in events]
    assert [(e["ChangeEventHeader"]["recordIds"], e["Title"]) for e in events] == [
        ([lead], "A"), ([lead], "B"), ([lead, other], "A")], MERGED_DOC
    assert [h["sequenceNumber"] for h in headers] == [1, 2, 3]


def test_deleting_several_records_in_one_call_is_one_event(
    sf: Any, pubsub: PubSubClient, lead_stream: Subscription  # noqa: F811
) -> None:
    ids = _new_leads(sf, 2, uuid.uuid4().hex[:6])
    _headers(pubsub, lead_stream, 2)
    sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(ids)})

    [deleted] = _headers(pubsub, lead_stream, 1)
    # CDC guide, "Merged Change Events": "Deletion of Account records" is an example.
    assert (deleted["changeType"], deleted["recordIds"]) == ("DELETE", ids)


def test_one_convert_lead_call_is_one_transaction(
    sf: Any, pubsub: PubSubClient, lead_stream: Subscription, emulator: Emulator  # noqa: F811
) -> None:
    ids = _new_leads(sf, 2, uuid.uuid4().hex[:6])
    _headers(pubsub, lead_stream, 2)
    info = emulator.info()
    body = convert_call(*(lead_convert(leadId=i, doNotCreateOpportunity=True) for i in ids))

    converted = results(post(info, envelope(info["access_token"], body)))

    assert [r["success"] for r in converted] == [True, True]
    first, second = _headers(pubsub, lead_stream, 2)
    # A SOAP call is one transaction: its change events share one transactionKey (CDC guide,
    # "Change Events for Lead Conversion": the events of a conversion share the key), numbered
    # in order across the call.
    assert first["transactionKey"] == second["transactionKey"]
    assert (first["recordIds"], second["recordIds"]) == ([ids[0]], [ids[1]])
    assert second["sequenceNumber"] > first["sequenceNumber"]
