"""Our report types, reports and dashboards reference only what exists, give sales reps the
lifecycle views they need and admins the error tracking (permission sets and list views:
tests/test_metadata_access.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from metadata_project import (
    DEFAULT,
    REPORTS,
    _all,
    _field_type,
    _id,
    _path,
    _root,
    _t,
    _texts,
)

from emulator.catalog import Catalog, FieldType
from emulator.metadata import MD_NS

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


def test_the_admin_folders_have_no_shares() -> None:
    """docs/privacy.md: the reports over Event_Cache__c and their dashboard sit in folders
    with no shares (administrators only), unlike the reps' folder, which is shared."""
    admin = [DEFAULT / "reports" / "Lifecycle_Sync_Admin.reportFolder-meta.xml",
             DEFAULT / "dashboards" / "Lifecycle_Sync_Admin_Dashboards.dashboardFolder-meta.xml"]
    for path in admin:
        assert _all(_root(path), "folderShares") == [], path.name
    reps = DEFAULT / "reports" / f"{REPORT_FOLDER}.reportFolder-meta.xml"
    assert _all(_root(reps), "folderShares")  # the check can see a share
    used = {_t(c, "dashboardComponent/report").split("/")[0] for c in _components(ADMIN_DASHBOARD)}
    assert used == {"Lifecycle_Sync_Admin"}
