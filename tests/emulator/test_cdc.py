"""Change Data Capture from hand-made transactions onto a real event bus.

Events are read back from the store and decoded with fastavro and an independent bitmap
decoder, so each test checks what a Pub/Sub subscriber would receive. The lead conversion
case reproduces the CDC guide's "Change Events for Lead Conversion" example bit for bit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from typing import Any

from test_cdc_decoding import decode_bitmap

from emulator.catalog import Catalog
from emulator.org.cdc import ChangeDataCapture, publish_change_events
from emulator.org.changes import RecordChange, Transaction
from emulator.pubsub.bus import EventBus

TOPIC = "/data/LeadChangeEvent"
LEAD_ID = "00Q5f000005bwLFEAY"
USER = "0055f000005mc66AAA"
ORIGIN = "com/salesforce/api/soap/62.0;client=lifecycle-sync"
TXN = "00006948-0ac9-7da3-edb3-ea0e31b2334a"
T0 = 1714153780000
CONVERTED = dt.date(2024, 4, 26)
LMD_OLD = dt.datetime(2024, 4, 1, 9, 0, tzinfo=dt.UTC)
LMD_NEW = dt.datetime(2024, 4, 26, 17, 49, 40, tzinfo=dt.UTC)





def events(bus: EventBus, after: int = 0) -> list[dict[str, Any]]:
    return [bus.decode(e) for e in bus.store.read_after(TOPIC, after, 1000)]


def schema_text(bus: EventBus) -> str:
    info = bus.store.topic(TOPIC)
    assert info is not None
    found = bus.store.schema(info[1])
    assert found is not None
    return found[1]


def change(obj: str, kind: str, rid: str, before: dict[str, Any] | None,
           after: dict[str, Any] | None, changed: Iterable[str] = (), **kw: Any) -> RecordChange:
    return RecordChange(
        object_name=obj, change_type=kind, record_id=rid, before=before, after=after,  # type: ignore[arg-type]
        changed_fields=frozenset(changed), user_id=kw.get("user", USER),
        origin=kw.get("origin", ORIGIN), commit_timestamp_ms=kw.get("ts", T0),
    )


def lead(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Id": LEAD_ID, "IsDeleted": False, "FirstName": "Ada", "LastName": "Lovelace",
        "Company": "Analytical Engines", "Email": "ada@example.com",
        "Status": "Open - Not Contacted", "IsConverted": False, "HasOptedOutOfEmail": False,
        "IsUnreadByOwner": True, "OwnerId": USER, "CreatedById": USER, "LastModifiedById": USER,
        "CreatedDate": LMD_OLD, "LastModifiedDate": LMD_OLD, "SystemModstamp": LMD_OLD,
    }
    base.update(values)
    return base


def conversion() -> Transaction:
    converted = {
        "Status": "Closed - Converted", "IsConverted": True, "ConvertedDate": CONVERTED,
        "ConvertedAccountId": "0015f00002JUXA8AAP", "ConvertedContactId": "0035f00001xHvZpAAK",
        "ConvertedOpportunityId": "0065f00000BQ4ZQAA1",
    }
    return Transaction(TXN, (
        change("Account", "CREATE", "0015f00002JUXA8AAP", None, {"Name": "Acme"}, {"Name"},
               ts=T0 - 1000),
        change("Contact", "CREATE", "0035f00001xHvZpAAK", None, {"LastName": "L"}, {"LastName"}),
        change("Opportunity", "CREATE", "0065f00000BQ4ZQAA1", None, {"Name": "O"}, {"Name"}),
        change("Lead", "UPDATE", LEAD_ID, lead(),
               lead(**converted, LastModifiedDate=LMD_NEW, SystemModstamp=LMD_NEW),
               {*converted, "LastModifiedDate", "LastModifiedById", "SystemModstamp"}),
    ))


def test_lead_conversion_matches_the_documented_event(bus: EventBus, catalog: Catalog) -> None:
    publish_change_events(bus, catalog, conversion())
    [event] = events(bus)
    header = event.pop("ChangeEventHeader")
    assert header == {
        "entityName": "Lead", "recordIds": [LEAD_ID], "changeType": "UPDATE",
        "changeOrigin": ORIGIN, "transactionKey": TXN, "sequenceNumber": 4,
        "commitTimestamp": T0, "commitNumber": header["commitNumber"], "commitUser": USER,
        "nulledFields": [], "diffFields": [], "changedFields": ["0x08F81000"],
    }
    assert decode_bitmap(schema_text(bus), header["changedFields"]) == [
        "Status", "IsConverted", "ConvertedDate", "ConvertedAccountId", "ConvertedContactId",
        "ConvertedOpportunityId", "LastModifiedDate",
    ]
    assert {k: v for k, v in event.items() if v is not None} == {
        "Status": "Closed - Converted", "IsConverted": True, "ConvertedDate": 1714089600000,
        "ConvertedAccountId": "0015f00002JUXA8AAP", "ConvertedContactId": "0035f00001xHvZpAAK",
        "ConvertedOpportunityId": "0065f00000BQ4ZQAA1",
        "LastModifiedDate": int(LMD_NEW.timestamp() * 1000),
    }


def test_create_carries_every_non_null_field_and_empty_bitmaps(
    bus: EventBus, catalog: Catalog
) -> None:
    after = lead(Street="1 Main St", City="London", Workspace_ID__c="ws-1", AnnualRevenue=5,
                 ConvertedDate=None)
    publish_change_events(bus, catalog, Transaction("t1", (
        change("Lead", "CREATE", LEAD_ID, None, after, set(after)),)))
    [event] = events(bus)
    header = event["ChangeEventHeader"]
    assert (header["changeType"], header["sequenceNumber"]) == ("CREATE", 1)
    assert header["changedFields"] == header["nulledFields"] == header["diffFields"] == []
    assert event["Name"] == {"Salutation": None, "FirstName": "Ada", "LastName": "Lovelace"}
    assert event["Address"] == {"Street": "1 Main St", "City": "London", "State": None,
                                "PostalCode": None, "Country": None}
    assert event["AnnualRevenue"] == 5.0
    assert event["Workspace_ID__c"] == "ws-1"
    assert event["CreatedDate"] == int(LMD_OLD.timestamp() * 1000)
    assert event["IsConverted"] is False
    assert event["ConvertedDate"] is None
    assert "Id" not in event
    assert "SystemModstamp" not in event


def test_update_of_compound_components_uses_nested_entries(bus: EventBus, catalog: Catalog) -> None:
    before = lead()
    after = lead(FirstName="Augusta", Street="12 St James's Sq", LastModifiedDate=LMD_NEW)
    publish_change_events(bus, catalog, Transaction("t2", (
        change("Lead", "UPDATE", LEAD_ID, before, after, {"FirstName", "Street"}),)))
    [event] = events(bus)
    changed = event["ChangeEventHeader"]["changedFields"]
    assert changed == ["0x08000000", "1-0x02", "4-0x01"]
    assert decode_bitmap(schema_text(bus), changed) == [
        "LastModifiedDate", "Name.FirstName", "Address.Street",
    ]
    assert event["Name"] == {"Salutation": None, "FirstName": "Augusta", "LastName": None}
    assert event["Address"]["Street"] == "12 St James's Sq"
    assert event["Email"] is None
    assert event["Company"] is None


def test_nulled_fields_are_reported_and_compound_only_has_no_top_bitmap(
    bus: EventBus, catalog: Catalog
) -> None:
    before = lead(Title="CTO")
    after = lead(Email=None, Title=None, FirstName=None, LastModifiedDate=LMD_NEW)
    publish_change_events(bus, catalog, Transaction("t3", (
        change("Lead", "UPDATE", LEAD_ID, before, after, {"Email", "Title", "FirstName"}),
        change("Lead", "UPDATE", LEAD_ID, after, lead(FirstName=None, LastName="X"),
               {"LastName"}),
        change("Lead", "UPDATE", LEAD_ID, before, lead(FirstName=None, LastName=None),
               {"FirstName", "LastName", "Email"}),  # Email listed but unchanged: not reported
    )))
    first, second, third = (e["ChangeEventHeader"] for e in events(bus))
    schema = schema_text(bus)
    assert decode_bitmap(schema, first["nulledFields"]) == ["Title", "Email", "Name.FirstName"]
    assert decode_bitmap(schema, first["changedFields"]) == [
        "Title", "Email", "LastModifiedDate", "Name.FirstName",
    ]
    assert second["nulledFields"] == []
    assert third["nulledFields"] == ["1-0x06"]
    assert [h["sequenceNumber"] for h in (first, second, third)] == [1, 2, 3]


def test_delete_carries_no_fields(bus: EventBus, catalog: Catalog) -> None:
    publish_change_events(bus, catalog, Transaction("t4", (
        change("Lead", "DELETE", LEAD_ID, lead(), None, set()),)))
    [event] = events(bus)
    header = event.pop("ChangeEventHeader")
    assert header["changeType"] == "DELETE"
    assert header["changedFields"] == header["nulledFields"] == []
    assert all(v is None for v in event.values())


def test_undelete_carries_the_record_like_a_create(bus: EventBus, catalog: Catalog) -> None:
    publish_change_events(bus, catalog, Transaction("t5", (
        change("Lead", "UNDELETE", LEAD_ID, None, lead(), set()),)))
    [event] = events(bus)
    assert event["ChangeEventHeader"]["changeType"] == "UNDELETE"
    assert event["Company"] == "Analytical Engines"


def test_transactions_share_keys_and_commit_numbers_grow(bus: EventBus, catalog: Catalog) -> None:
    cdc = ChangeDataCapture(bus, catalog)
    two = Transaction("k1", (
        change("Lead", "CREATE", LEAD_ID, None, lead(), set()),
        change("Account", "CREATE", "001000000000001AAA", None, {"Name": "A"}, {"Name"}),
        # A different record body: identical creates would be merged into one event.
        change("Lead", "CREATE", "00Q000000000002AAA", None, lead(LastName="Byron"), set()),
    ))
    cdc(two)
    cdc(Transaction("k2", (change("Lead", "DELETE", LEAD_ID, lead(), None, ts=T0 - 5000),)))
    cdc(Transaction("empty", ()))
    headers = [e["ChangeEventHeader"] for e in events(bus)]
    assert [(h["transactionKey"], h["sequenceNumber"]) for h in headers] == [
        ("k1", 1), ("k1", 3), ("k2", 1),
    ]
    assert headers[0]["commitNumber"] == headers[1]["commitNumber"]
    assert headers[2]["commitNumber"] > headers[1]["commitNumber"]
    assert headers[1]["recordIds"] == ["00Q000000000002AAA"]


def test_large_description_update_is_sent_as_a_verifiable_diff(
    bus: EventBus, catalog: Catalog
) -> None:
    old_lines = [f"Line {i}: " + "lorem ipsum dolor sit amet " * 3 for i in range(20)]
    new_lines = list(old_lines)
    new_lines[3] = "Line 3: rewritten"
    new_lines.insert(10, "Inserted line")
    old, new = "\n".join(old_lines), "\n".join(new_lines)
    publish_change_events(bus, catalog, Transaction("t6", (
        change("Lead", "UPDATE", LEAD_ID, lead(Description=old),
               lead(Description=new, LastModifiedDate=LMD_NEW), {"Description"}),
        change("Lead", "UPDATE", LEAD_ID, lead(Description=old),
               lead(Description="short now", LastModifiedDate=LMD_NEW), {"Description"}),
    )))
    diffed, full = events(bus)
    assert decode_bitmap(schema_text(bus), diffed["ChangeEventHeader"]["diffFields"]) == [
        "Description",
    ]
    assert apply_unified_diff(old, diffed["Description"]) == new
    assert diffed["Description"].split("\n")[1] == "+++ " + hashlib.sha256(new.encode()).hexdigest()
    assert full["ChangeEventHeader"]["diffFields"] == []
    assert full["Description"] == "short now"


def apply_unified_diff(old: str, diff: str) -> str:
    """Patch ``old`` with a context-free unified diff, as a subscriber reconstructs a value."""
    lines = old.split("\n")
    body = diff.split("\n")[2:]
    out: list[str] = []
    cursor = 0
    i = 0
    while i < len(body) and body[i].startswith("@@"):
        old_range = body[i].split()[1][1:]
        start, count = (int(x) for x in old_range.split(","))
        start = start - 1 if count else start
        out += lines[cursor:start]
        cursor = start + count
        i += 1
        while i < len(body) and body[i][:1] in ("-", "+"):
            if body[i][0] == "+":
                out.append(body[i][1:])
            i += 1
    return "\n".join(out + lines[cursor:])


def test_objects_without_cdc_publish_nothing(bus: EventBus, catalog: Catalog) -> None:
    publish_change_events(bus, catalog, Transaction("t7", (
        change("Account", "CREATE", "001000000000001AAA", None, {"Name": "A"}, {"Name"}),)))
    assert events(bus) == []


def test_schema_from_get_schema_decodes_the_custom_field_position(
    bus: EventBus, catalog: Catalog
) -> None:
    publish_change_events(bus, catalog, Transaction("t8", (
        change("Lead", "UPDATE", LEAD_ID, lead(), lead(Workspace_ID__c="ws-9"),
               {"workspace_id__c"}),)))
    [event] = events(bus)
    schema = json.loads(schema_text(bus))
    changed = event["ChangeEventHeader"]["changedFields"]
    assert decode_bitmap(schema, changed) == ["LastModifiedDate", "Workspace_ID__c"]
    assert event["Workspace_ID__c"] == "ws-9"
