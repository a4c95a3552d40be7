"""CDC bitmap decoding, by table: top-level, nested, lower-case hex, nested-only lists, and
entries that do not fit the schema."""

from __future__ import annotations

import pytest

from emulator.avro_schemas import change_event_layout, change_event_schema
from emulator.org.cdc import encode_bitmap
from emulator.schema import build_catalog
from subscriber.bitmaps import BitmapError, FieldLayout, field_names
from subscriber.codec import change_header
from subscriber.events import ChangeHeader

ADDRESS = {"type": "record", "name": "Address", "namespace": "com.sforce.eventbus",
           "fields": [{"name": n, "type": ["null", "string"]} for n in ("Street", "City")]}
SCHEMA = {
    "type": "record", "name": "AccountChangeEvent",
    "fields": [
        {"name": "ChangeEventHeader", "type": "string"},                        # 0
        {"name": "Name", "type": ["null", "string"]},                            # 1
        {"name": "BillingAddress", "type": ["null", ADDRESS]},                   # 2
        {"name": "ShippingAddress", "type": ["null", "com.sforce.eventbus.Address"]},  # 3
        {"name": "Phone", "type": ["null", "string"]},                           # 4
    ] + [{"name": f"F{i}", "type": ["null", "string"]} for i in range(5, 23)],
}
LAYOUT = FieldLayout.from_schema(SCHEMA)


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([], ()),
        (["0x02"], ("Name",)),
        (["0x12"], ("Name", "Phone")),
        (["0x400000"], ("F22",)),
        (["0x400000", "2-0x01"], ("F22", "BillingAddress.Street")),
        (["0x0a"], ("Name", "ShippingAddress")),                     # lower-case hex
        (["0X0A"], ("Name", "ShippingAddress")),
        (["2-0x03"], ("BillingAddress.Street", "BillingAddress.City")),  # only a nested entry
        (["3-0x2"], ("ShippingAddress.City",)),                     # named-type reference
        (["2-0x01", "3-0x01"], ("BillingAddress.Street", "ShippingAddress.Street")),
        (["0x00"], ()),
    ],
)
def test_bitmaps_decode_to_names(entries: list[str], expected: tuple[str, ...]) -> None:
    assert field_names(entries, LAYOUT) == expected


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("0x800000", "names a field beyond the 23 in the schema"),
        ("4-0x01", "field 4 is not a compound field"),
        ("x-0x01", "parent index is not a number"),
        ("1-2-0x01", "field 1 is not a compound field"),  # split at the first "-"
        ("2-0x04", "names a field beyond the 2 in the schema"),
        ("0xZZ", "is not hexadecimal"),
        ("0x", "is not hexadecimal"),
        ("12", "does not start with 0x"),
        ("2-01", "does not start with 0x"),
        ("0x1_0", "is not hexadecimal"),
        ("0x 1", "is not hexadecimal"),
    ],
)
def test_entries_that_do_not_fit_are_errors(entry: str, problem: str) -> None:
    with pytest.raises(BitmapError) as raised:
        field_names([entry], LAYOUT)
    assert str(raised.value).startswith(f"bitmap entry {entry!r}")
    assert problem in str(raised.value)


def test_round_trip_with_the_emulators_lead_bitmaps() -> None:
    lead = build_catalog().get("Lead")
    assert lead is not None
    layout = FieldLayout.from_schema(change_event_schema(lead))
    names = {"Email", "Status", "LastName", "FirstName", "City", "Workspace_ID__c"}
    encoded = encode_bitmap(change_event_layout(lead), names)
    assert field_names(encoded, layout) == (
        "Email", "Status", "Workspace_ID__c", "Name.FirstName", "Name.LastName", "Address.City",
    )


def test_a_change_event_header_is_decoded_field_by_field() -> None:
    """Every header field lands in ChangeHeader under its own name; each of the three bitmaps
    is decoded on its own; absent optional fields become empty, never None."""
    header = {
        "entityName": "Account", "changeType": "UPDATE", "changeOrigin": "com/sf/api/rest/62.0",
        "recordIds": ["001A", "001B"], "transactionKey": "tk-1", "sequenceNumber": 7,
        "commitTimestamp": 1_760_000_000_123, "commitNumber": 2**62 + 5,
        "commitUser": "005000000000001AAA", "changedFields": ["0x02"],
        "nulledFields": ["0x10"], "diffFields": ["2-0x01"],
    }
    assert change_header(header, LAYOUT) == ChangeHeader(
        entity_name="Account", change_type="UPDATE", change_origin="com/sf/api/rest/62.0",
        record_ids=("001A", "001B"), transaction_key="tk-1", sequence_number=7,
        commit_timestamp=1_760_000_000_123, commit_number=2**62 + 5,
        commit_user="005000000000001AAA", changed_fields=("Name",), nulled_fields=("Phone",),
        diff_fields=("BillingAddress.Street",),
    )
    sparse = {k: header[k] for k in ("entityName", "changeType", "transactionKey",
                                     "sequenceNumber", "commitTimestamp", "commitNumber")}
    sparse.update(changeOrigin=None, recordIds=None, commitUser=None, changedFields=None)
    decoded = change_header(sparse, LAYOUT)
    assert (decoded.change_origin, decoded.record_ids, decoded.commit_user) == ("", (), "")
    assert (decoded.changed_fields, decoded.nulled_fields, decoded.diff_fields) == ((), (), ())
