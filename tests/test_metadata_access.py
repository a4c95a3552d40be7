"""Our permission sets, list views, report type, reports and dashboard reference only what
exists, grant least privilege, and give sales reps the lifecycle views they need."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from metadata_project import (
    DEFAULT,
    LIST_VIEWS,
    PERMSETS,
    REPORTS,
    _all,
    _field_type,
    _fld,
    _id,
    _obj,
    _path,
    _root,
    _t,
    _texts,
)

from emulator.catalog import Catalog, FieldType, ObjectKind
from emulator.metadata import MD_NS

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


# ----------------------------------------------------------------------------------------------
# Report type, reports, dashboard
# ----------------------------------------------------------------------------------------------

REPORT_FOLDER = "Lifecycle_Sync"
DASHBOARD = DEFAULT / "dashboards" / "Lifecycle_Sync_Dashboards"
DASHBOARD = DASHBOARD / "Lifecycle_Sync.dashboard-meta.xml"
# Each dashboard and the report folder it shows, one component per report: the sales reps'
# lifecycle dashboard, and the admins' error tracking over Event_Cache__c (issue 11).
ADMIN_DASHBOARD = (DEFAULT / "dashboards" / "Lifecycle_Sync_Admin_Dashboards"
                   / "Lifecycle_Sync_Errors.dashboard-meta.xml")
DASHBOARDS = {DASHBOARD: (REPORT_FOLDER, 5), ADMIN_DASHBOARD: ("Lifecycle_Sync_Admin", 4)}


def _report_type(report: ET.Element) -> tuple[str, set[str]]:
    """The report's custom report type: its base object and the fields its sections offer."""
    api_name = _t(report, "reportType")
    assert api_name.endswith("__c"), "custom report types are referenced as Name__c"
    path = DEFAULT / "reportTypes" / f"{api_name.removesuffix('__c')}.reportType-meta.xml"
    assert path.is_file(), f"report type {api_name} does not exist"
    root = _root(path)
    base = _t(root, "baseObject")
    assert set(_texts(root, "sections/columns/table")) == {base}
    return base, set(_texts(root, "sections/columns/field"))


def _report_columns(report: ET.Element) -> list[str]:
    refs = _texts(report, "columns/field") + _texts(report, "filter/criteriaItems/column")
    refs += _texts(report, "groupingsDown/field") + _texts(report, "groupingsAcross/field")
    refs += _texts(report, "sortColumn") + _texts(report, "timeFrameFilter/dateColumn")
    return refs


def test_report_type_fields_exist(catalog: Catalog) -> None:
    for path in sorted((DEFAULT / "reportTypes").glob("*.reportType-meta.xml")):
        root = _root(path)
        base = _t(root, "baseObject")
        for name in _texts(root, "sections/columns/field"):
            _field_type(catalog, base, name)


@pytest.mark.parametrize("path", REPORTS, ids=_id)
def test_report_references_exist(path: Path, catalog: Catalog) -> None:
    report = _root(path)
    base, offered = _report_type(report)
    for ref in _report_columns(report):
        obj, _, name = ref.partition("$")
        assert obj == base, f"{ref}: custom report type columns are {base}$Field"
        assert name in offered, f"{ref} is not in the report type"
        _field_type(catalog, obj, name)
    date_type = _field_type(catalog, base, _t(report, "timeFrameFilter/dateColumn").split("$")[1])
    assert date_type in {FieldType.DATE, FieldType.DATETIME}
    for column in _all(report, "columns"):
        if _texts(column, "aggregateTypes"):
            ftype = _field_type(catalog, base, _t(column, "field").split("$")[1])
            assert ftype in {FieldType.NUMBER, FieldType.CURRENCY, FieldType.PERCENT}
    # Dashboards can only chart a Summary report with at least one grouping.
    assert _t(report, "format") == "Summary"
    assert _all(report, "groupingsDown")


def _criteria(report: ET.Element) -> set[tuple[str, str, str]]:
    return {(_t(c, "column"), _t(c, "operator"), _t(c, "value"))
            for c in _all(report, "filter/criteriaItems")}


@pytest.mark.parametrize(
    ("name", "date_column", "interval", "criteria"),
    [
        ("Trials_Expiring_Next_7_Days", "Trial_Expiration_Date__c", "INTERVAL_NEXT7",
         {("Workspace__c$Self_Serve_Status__c", "equals", "Trial")}),
        ("New_Trials_This_Week", "Trial_Start_Date__c", "INTERVAL_THISWEEK", set()),
        ("Conversions_This_Month", "Conversion_Date__c", "INTERVAL_THISMONTH", set()),
        ("Churned_This_Month", "Churn_Date__c", "INTERVAL_THISMONTH", set()),
        ("Workspaces_Needing_Review", "CreatedDate", "INTERVAL_CUSTOM",
         {("Workspace__c$Needs_Review__c", "equals", "1")}),
    ],
)
def test_dashboard_reports_select_what_the_reps_need(
    name: str, date_column: str, interval: str, criteria: set[tuple[str, str, str]]
) -> None:
    report = _root(DEFAULT / "reports" / REPORT_FOLDER / f"{name}.report-meta.xml")
    assert _t(report, "timeFrameFilter/dateColumn") == f"Workspace__c${date_column}"
    assert _t(report, "timeFrameFilter/interval") == interval
    assert _criteria(report) == criteria


def test_conversions_report_sums_mrr() -> None:
    report = _root(DEFAULT / "reports" / REPORT_FOLDER / "Conversions_This_Month.report-meta.xml")
    sums = [_t(c, "field") for c in _all(report, "columns") if _texts(c, "aggregateTypes")]
    assert sums == ["Workspace__c$MRR__c"]
    assert _texts(report, "columns/aggregateTypes") == ["Sum"]


def test_folders_have_their_metadata_files() -> None:
    assert (DEFAULT / "reports" / f"{REPORT_FOLDER}.reportFolder-meta.xml").is_file()
    for folder in (DEFAULT / "reports").iterdir():
        if folder.is_dir():
            assert (folder.parent / f"{folder.name}.reportFolder-meta.xml").is_file()
    for folder in (DEFAULT / "dashboards").iterdir():
        if folder.is_dir():
            assert (folder.parent / f"{folder.name}.dashboardFolder-meta.xml").is_file()


def _components(dashboard: Path = DASHBOARD) -> list[ET.Element]:
    return _all(_root(dashboard), "dashboardGridLayout/dashboardGridComponents")


def test_every_dashboard_is_checked() -> None:
    assert set(DASHBOARDS) == set((DEFAULT / "dashboards").glob("*/*.dashboard-meta.xml"))


@pytest.mark.parametrize("dashboard", list(DASHBOARDS), ids=_id)
def test_dashboard_has_one_component_per_report(dashboard: Path) -> None:
    folder_name, count = DASHBOARDS[dashboard]
    reports = [_t(c, "dashboardComponent/report") for c in _components(dashboard)]
    expected = {f"{folder_name}/{p.name.removesuffix('.report-meta.xml')}" for p in REPORTS
                if p.parent.name == folder_name}
    assert sorted(reports) == sorted(expected)
    assert len(expected) == count
    for ref in reports:
        folder, _, name = ref.partition("/")
        assert (DEFAULT / "reports" / folder / f"{name}.report-meta.xml").is_file()


@pytest.mark.parametrize("dashboard", list(DASHBOARDS), ids=_id)
def test_dashboard_metrics_summarize_report_columns(dashboard: Path) -> None:
    for component in _components(dashboard):
        comp = component.find(f"{MD_NS}dashboardComponent")
        assert comp is not None
        report = _root(DEFAULT / "reports" / f"{_t(comp, 'report')}.report-meta.xml")
        for summary in _all(comp, "chartSummary"):
            column = _t(summary, "column")
            if column == "RowCount":
                continue
            aggregates = [_texts(c, "aggregateTypes") for c in _all(report, "columns")
                          if _t(c, "field") == column]
            assert aggregates
            assert _t(summary, "aggregate") in aggregates[0]


@pytest.mark.parametrize("dashboard", list(DASHBOARDS), ids=_id)
def test_dashboard_grid_fits_and_does_not_overlap(dashboard: Path) -> None:
    layout = _root(dashboard).find(_path("dashboardGridLayout"))
    assert layout is not None
    width = int(_t(layout, "numberOfColumns"))
    cells: set[tuple[int, int]] = set()
    for c in _components(dashboard):
        col, row = int(_t(c, "columnIndex")), int(_t(c, "rowIndex"))
        span, rows = int(_t(c, "colSpan")), int(_t(c, "rowSpan"))
        assert col + span <= width
        area = {(x, y) for x in range(col, col + span) for y in range(row, row + rows)}
        assert not area & cells, "components overlap"
        cells |= area


ADMIN = DEFAULT / "reports" / "Lifecycle_Sync_Admin"


@pytest.mark.parametrize(
    ("name", "interval", "criteria", "groupings"),
    [
        ("Parked_Events_By_Status_And_Class", "INTERVAL_CUSTOM", set(),
         ["Processing_Status__c", "Review_Reason__c"]),
        ("Parked_Event_Retries", "INTERVAL_CUSTOM",
         {("Event_Cache__c$Retry_Count__c", "greaterThan", "0")}, ["Processing_Status__c"]),
        ("Oldest_Unresolved_Events", "INTERVAL_CUSTOM",
         {("Event_Cache__c$Processing_Status__c", "notEqual", "Completed")},
         ["Processing_Status__c"]),
        ("Events_Needing_Review_This_Week", "INTERVAL_THISWEEK",
         {("Event_Cache__c$Needs_Review__c", "equals", "1")}, ["Event_Type__c"]),
    ],
)
def test_admin_reports_track_parked_events(name: str, interval: str,
                                           criteria: set[tuple[str, str, str]],
                                           groupings: list[str]) -> None:
    report = _root(ADMIN / f"{name}.report-meta.xml")
    assert _t(report, "reportType") == "Lifecycle_Event_Cache__c"
    assert _t(report, "timeFrameFilter/interval") == interval
    assert _criteria(report) == criteria
    assert _texts(report, "groupingsDown/field") == [f"Event_Cache__c${g}" for g in groupings]


def test_oldest_unresolved_sorts_oldest_first_and_retries_are_summed() -> None:
    oldest = _root(ADMIN / "Oldest_Unresolved_Events.report-meta.xml")
    assert (_t(oldest, "sortColumn"), _t(oldest, "sortOrder")) == (
        "Event_Cache__c$Original_Timestamp__c", "Asc")
    retries = _root(ADMIN / "Parked_Event_Retries.report-meta.xml")
    assert _texts(retries, "columns/aggregateTypes") == ["Sum", "Maximum"]


def test_the_parked_events_report_type_leaves_the_payload_out() -> None:
    root = _root(DEFAULT / "reportTypes" / "Lifecycle_Event_Cache.reportType-meta.xml")
    offered = set(_texts(root, "sections/columns/field"))
    assert "Event_Data__c" not in offered  # the payload holds the customer's email
    assert {"Processing_Status__c", "Review_Reason__c", "Retry_Count__c",
            "Original_Timestamp__c", "Needs_Review__c"} <= offered


def test_the_platform_event_publishes_after_commit_and_says_why() -> None:
    root = _root(DEFAULT / "objects" / "SelfServeTrialEvent__e"
                 / "SelfServeTrialEvent__e.object-meta.xml")
    assert _t(root, "publishBehavior") == "PublishAfterCommit"
    assert "PublishAfterCommit" in _t(root, "description")
