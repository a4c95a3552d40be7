"""Salesforce defines a compound type once and refers to it by full name afterwards (every
Address field after the first reads ``"com.sforce.eventbus.Address"``): bitmaps over such a
field name its sub-fields just as over the first."""

from __future__ import annotations

from typing import Any

from subscriber.bitmaps import FieldLayout, field_names

ADDRESS = {"type": "record", "name": "Address", "namespace": "com.sforce.eventbus",
           "fields": [{"name": "Street", "type": ["null", "string"]},
                      {"name": "City", "type": ["null", "string"]}]}


def _layout(*fields: tuple[str, Any]) -> FieldLayout:
    return FieldLayout.from_schema({"type": "record", "name": "AccountChangeEvent",
                                    "fields": [{"name": n, "type": t} for n, t in fields]})


def test_a_compound_field_referring_to_the_type_by_full_name_has_its_sub_fields() -> None:
    layout = _layout(("Name", "string"), ("BillingAddress", ["null", ADDRESS]),
                     ("ShippingAddress", ["null", "com.sforce.eventbus.Address"]))
    assert layout.nested == {1: ("Street", "City"), 2: ("Street", "City")}
    assert field_names(["0x1", "2-0x02", "1-0x01"], layout) == (
        "Name", "ShippingAddress.City", "BillingAddress.Street")


def test_a_reference_by_short_name_works_for_a_type_without_a_namespace() -> None:
    plain = {**ADDRESS}
    del plain["namespace"]
    layout = _layout(("BillingAddress", plain), ("OtherAddress", "Address"))
    assert layout.nested == {0: ("Street", "City"), 1: ("Street", "City")}
    assert field_names(["1-0x3"], layout) == ("OtherAddress.Street", "OtherAddress.City")
