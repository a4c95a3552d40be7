"""``lifecycle-sync check``'s judgement of each object's describe (the shape Salesforce's
describe returns): every missing field, inactive picklist value and read-only field named with
how to fix it (mutation testing found the picklist and missing-field rules unpinned)."""

from __future__ import annotations

from typing import Any

from service.org_checks import ASSIGN, DEPLOY, OPPORTUNITY, REQUIRED, Need, org_checks, required


def field(name: str, writable: bool = True, values: list[dict[str, Any]] | None = None
          ) -> dict[str, Any]:
    found: dict[str, Any] = {"name": name, "createable": writable, "updateable": writable}
    if values is not None:
        found["picklistValues"] = values
    return found


NEED = Need(write=("Status", "Subject"), read=("OwnerId",),
            picklists={"Status": ("Not Started", "Done")})


def test_a_complete_object_has_no_problem() -> None:
    describe = {"fields": [field("Status", values=[{"value": "Not Started", "active": True},
                                                   {"value": "Done"}]),  # "active" left out
                           field("Subject"), field("OwnerId", writable=False)]}
    assert org_checks(lambda name: describe, {"Task": NEED}) == [
        ("object Task: 2 writable and 1 readable fields, picklist values", None)]


def test_each_missing_or_read_only_piece_is_named_with_its_fix() -> None:
    describe = {"createable": False,
                "fields": [field("Status", values=[{"value": "Not Started", "active": False},
                                                   {"value": "Done", "active": True}]),
                           field("Subject", writable=False)]}
    need = Need(write=NEED.write, read=NEED.read, picklists=NEED.picklists, create_records=True)
    [(what, problem)] = org_checks(lambda name: describe, {"Task": need})
    assert what == "object Task: 2 writable and 1 readable fields, picklist values, creating " \
                   "records"
    assert problem == (
        f"missing fields OwnerId: {DEPLOY}, and check field-level security (describe shows "
        f"only what the user can see); missing picklist values Status=Not Started: {DEPLOY}; "
        f"not writable by the integration user: (creating records), Subject: {ASSIGN}")


def test_a_missing_object_is_named_and_the_others_still_checked() -> None:
    results = org_checks(lambda name: None if name == "Lead" else {"fields": []},
                         {"Lead": Need(), "Task": Need(write=("Subject",))})
    assert results[0] == ("object Lead", f"missing: {DEPLOY}")
    assert results[1][1] is not None
    assert results[1][1].startswith("missing fields Subject: ")


def test_opportunities_are_checked_only_when_conversion_creates_them() -> None:
    assert required(False) == REQUIRED
    assert required(True) == {**REQUIRED, "Opportunity": OPPORTUNITY}
    assert "Opportunity" not in REQUIRED
