"""Lead's change-event layout with the derived top-level ``Name`` in the catalog.

A real ``LeadChangeEvent`` has one ``Name``: the compound record (Salutation, FirstName,
LastName). The read-only ``Name`` the REST API shows is derived and must stay out of the
schema and the bitmaps, so the documented conversion bitmap ``0x08F81000`` still comes out
(``test_cdc.test_lead_conversion_matches_the_documented_event``).
"""

from __future__ import annotations

from test_cdc import LMD_NEW, change, events, lead, schema_text
from test_cdc_decoding import decode_bitmap

from emulator.avro_schemas import change_event_layout, change_event_schema
from emulator.catalog import Catalog
from emulator.org.cdc import publish_change_events
from emulator.org.changes import Transaction
from emulator.pubsub.bus import EventBus


def test_derived_name_is_not_a_change_event_field(catalog: Catalog) -> None:
    obj = catalog.get("Lead")
    assert obj is not None
    name = obj.field("Name")
    layout = change_event_layout(obj)
    schema_names = [f["name"] for f in change_event_schema(obj)["fields"]]

    assert name is not None
    assert (name.derived, name.system) == (True, True)
    assert len(schema_names) == len(set(schema_names))
    assert layout[1][0] == "Name"
    assert [f.name for f in layout[1][1]] == ["Salutation", "FirstName", "LastName"]
    assert "SystemModstamp" not in schema_names
    positions = [entry for entry, _ in layout]
    assert [positions.index(n) for n in ("Status", "IsConverted", "LastModifiedDate")] == [
        12, 19, 27]  # bits of the documented 0x08F81000


def test_a_name_change_is_reported_through_its_components(
    bus: EventBus, catalog: Catalog
) -> None:
    before = lead(Name="Ada Lovelace")
    after = lead(FirstName="Augusta", Name="Augusta Lovelace", LastModifiedDate=LMD_NEW)
    publish_change_events(bus, catalog, Transaction("t-name", (
        change("Lead", "UPDATE", before["Id"], before, after, {"FirstName", "Name"}),)))
    [event] = events(bus)
    changed = event["ChangeEventHeader"]["changedFields"]

    assert changed == ["0x08000000", "1-0x02"]
    assert decode_bitmap(schema_text(bus), changed) == ["LastModifiedDate", "Name.FirstName"]
    assert event["Name"] == {"Salutation": None, "FirstName": "Augusta", "LastName": None}
