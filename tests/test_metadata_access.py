"""Our permission sets and list views reference only what exists, grant least privilege, and
give sales reps the lifecycle views they need (reports and dashboards:
tests/test_metadata_reports.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from metadata_project import (
    DEFAULT,
    LIST_VIEWS,
    PERMSETS,
    _all,
    _field_type,
    _fld,
    _id,
    _obj,
    _root,
    _t,
    _texts,
)

from emulator.catalog import Catalog, FieldType, ObjectKind

# ----------------------------------------------------------------------------------------------
# Permission sets
# ----------------------------------------------------------------------------------------------

INTEGRATION = DEFAULT / "permissionsets" / "Lifecycle_Sync_Integration.permissionset-meta.xml"
SALES = DEFAULT / "permissionsets" / "Lifecycle_Sync_Sales_Read.permissionset-meta.xml"
OBJECT_FLAGS = ("allowCreate", "allowRead", "allowEdit", "allowDelete", "viewAllRecords",
                "modifyAllRecords")


def _object_perms(path: Path) -> dict[str, str]:
    """``object -> flags`` as letters: C(reate) R(ead) E(dit) D(elete) V(iew all) M(odify all)."""
    out = {}
    for perm in _all(_root(path), "objectPermissions"):
        flags = "".join("CREDVM"[i] for i, f in enumerate(OBJECT_FLAGS) if _t(perm, f) == "true")
        out[_t(perm, "object")] = flags
    return out


def _field_perms(path: Path) -> dict[str, tuple[bool, bool]]:
    return {_t(p, "field"): (_t(p, "readable") == "true", _t(p, "editable") == "true")
            for p in _all(_root(path), "fieldPermissions")}


def _custom_fields(obj: str) -> set[str]:
    return {f"{obj}.{p.name.removesuffix('.field-meta.xml')}"
            for p in (DEFAULT / "objects" / obj / "fields").glob("*.field-meta.xml")}


@pytest.mark.parametrize("path", PERMSETS, ids=_id)
def test_permission_set_references_exist(path: Path, catalog: Catalog) -> None:
    for obj, flags in _object_perms(path).items():
        _obj(catalog, obj)
        assert "R" in flags, f"{obj}: any access needs Read"
        assert "E" in flags or "D" not in flags, f"{obj}: Delete needs Edit"
    for qualified, (readable, editable) in _field_perms(path).items():
        obj, _, name = qualified.partition(".")
        f = _fld(catalog, obj, name)
        assert not f.system, f"{qualified} is set by the org"
        assert not f.required, f"{qualified}: required fields cannot be in field permissions"
        assert readable or not editable
        assert _obj(catalog, obj).kind is not ObjectKind.PLATFORM_EVENT


def test_integration_permission_set_is_least_privilege() -> None:
    assert _object_perms(INTEGRATION) == {
        "Workspace__c": "CRE", "Event_Cache__c": "CRED", "Lead": "CREV",
        "Account": "CRE", "Contact": "CRE", "Opportunity": "CRE", "SelfServeTrialEvent__e": "R",
    }
    users = {_t(p, "name"): _t(p, "enabled") for p in _all(_root(INTEGRATION), "userPermissions")}
    assert users == {"ApiEnabled": "true", "ConvertLeads": "true", "EditTask": "true"}


def test_integration_can_write_every_custom_field_it_syncs() -> None:
    expected = set().union(*(_custom_fields(o) for o in ("Workspace__c", "Event_Cache__c",
                                                         "Account", "Lead")))
    perms = _field_perms(INTEGRATION)
    assert set(perms) == expected
    assert all(perms[f] == (True, True) for f in expected)


def test_sales_permission_set_is_read_only() -> None:
    assert _object_perms(SALES) == {"Workspace__c": "R"}
    perms = _field_perms(SALES)
    assert _custom_fields("Workspace__c") <= set(perms)
    assert all(p == (True, False) for p in perms.values())
    assert not _all(_root(SALES), "userPermissions")


# ----------------------------------------------------------------------------------------------
# List views
# ----------------------------------------------------------------------------------------------

LIST_VIEW_STANDARD_COLUMNS = {"NAME", "CREATED_DATE", "LAST_UPDATE", "OWNER.ALIAS"}


@pytest.mark.parametrize("path", LIST_VIEWS, ids=_id)
def test_list_view_fields_exist(path: Path, catalog: Catalog) -> None:
    obj = path.parent.parent.name
    root = _root(path)
    assert _t(root, "fullName") == path.name.removesuffix(".listView-meta.xml")
    for column in _texts(root, "columns"):
        if column not in LIST_VIEW_STANDARD_COLUMNS:
            assert _field_type(catalog, obj, column) is not FieldType.LONG_TEXT_AREA
    for flt in _all(root, "filters"):
        ftype = _field_type(catalog, obj, _t(flt, "field"))
        value = _t(flt, "value")
        if ftype is FieldType.CHECKBOX:
            assert value in {"0", "1"}
        if ftype is FieldType.PICKLIST:
            values = _fld(catalog, obj, _t(flt, "field")).picklist_values
            assert set(value.split(",")) <= set(values)


def test_review_queue_list_views() -> None:
    def filters(obj: str, name: str) -> list[tuple[str, str, str]]:
        root = _root(DEFAULT / "objects" / obj / "listViews" / f"{name}.listView-meta.xml")
        assert _t(root, "filterScope") == "Everything"
        return [(_t(f, "field"), _t(f, "operation"), _t(f, "value"))
                for f in _all(root, "filters")]

    assert filters("Workspace__c", "Needs_Review") == [("Needs_Review__c", "equals", "1")]
    assert filters("Event_Cache__c", "Needs_Review") == [("Needs_Review__c", "equals", "1")]
    assert filters("Event_Cache__c", "Errors") == [("Processing_Status__c", "equals", "Error")]
