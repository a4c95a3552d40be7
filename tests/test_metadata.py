"""``salesforce/`` is deployable Metadata API source, and it loads into the emulator.

``sf project deploy start`` is not available here, so every file is checked against a hand-written
subset of the Metadata API WSDL (API 62-66): the root element for its suffix, the namespace, which
child elements each type allows, in which order (the WSDL ``xsd:sequence``), which are required,
and the values of the enumerations we use. On top of that: field-type rules, that every field,
object, report type and report referenced elsewhere exists, and what lifecycle-sync needs from
the schema the emulator builds from these same files.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from emulator.catalog import Catalog, FieldDef, FieldType, ObjectDef, ObjectKind
from emulator.metadata import DEFAULT_METADATA_DIR, MD_NS, read_metadata
from emulator.schema import build_catalog

SFDX = DEFAULT_METADATA_DIR
DEFAULT = SFDX / "force-app" / "main" / "default"
NS_URI = MD_NS.strip("{}")

# ----------------------------------------------------------------------------------------------
# The WSDL subset. A sequence entry is "name" (exactly one), "name?" (optional), "name*" (any
# number) or "name+" (at least one), in xsd:sequence order. ``children`` names the spec of each
# complex child; ``enums`` the allowed text of simple children ("bool" and "int" are xsd types).
# ----------------------------------------------------------------------------------------------

BOOL = frozenset({"true", "false"})
FILTER_OPS = frozenset({"equals", "notEqual", "lessThan", "greaterThan", "lessOrEqual",
                        "greaterOrEqual", "contains", "notContain", "startsWith", "includes",
                        "excludes", "within"})
SUMMARY_TYPES = frozenset({"Sum", "Average", "Maximum", "Minimum", "Unique", "Median", "Noop",
                           "None"})
INTERVALS = frozenset({"INTERVAL_CURRENT", "INTERVAL_CUSTOM", "INTERVAL_TODAY", "INTERVAL_LASTWEEK",
                       "INTERVAL_THISWEEK", "INTERVAL_NEXTWEEK", "INTERVAL_LASTMONTH",
                       "INTERVAL_THISMONTH", "INTERVAL_NEXTMONTH", "INTERVAL_LAST7",
                       "INTERVAL_LAST30", "INTERVAL_NEXT7", "INTERVAL_NEXT30", "INTERVAL_CURY"})
METADATA_FIELD_TYPES = frozenset({"AutoNumber", "Lookup", "MasterDetail", "Checkbox", "Currency",
                                  "Date", "DateTime", "Email", "Number", "Percent", "Phone",
                                  "Picklist", "MultiselectPicklist", "Text", "TextArea",
                                  "LongTextArea", "Html", "Url", "EncryptedText", "Summary",
                                  "Time"})


@dataclass(frozen=True)
class Spec:
    seq: tuple[str, ...]
    children: dict[str, str] = field(default_factory=dict)
    enums: dict[str, frozenset[str] | str] = field(default_factory=dict)


_CUSTOM_FIELD_SEQ = (
    "fullName?", "businessOwnerGroup?", "businessOwnerUser?", "businessStatus?", "caseSensitive?",
    "complianceGroup?", "customDataType?", "defaultValue?", "deleteConstraint?", "deprecated?",
    "description?", "displayFormat?", "elementType?", "encryptionScheme?", "escapeMarkup?",
    "externalDeveloperName?", "externalId?", "fieldManageability?", "formula?",
    "formulaTreatBlanksAs?", "inlineHelpText?", "isAIPredictionField?", "isConvertLeadDisabled?",
    "isFilteringDisabled?", "isNameField?", "isSortingDisabled?", "label?", "length?",
    "lookupFilter?", "maskChar?", "maskType?", "metadataRelationshipControllingField?",
    "mktDataLakeFieldAttributes?", "mktDataModelFieldAttributes?", "populateExistingRows?",
    "precision?", "referenceTargetField?", "referenceTo?", "relationshipLabel?",
    "relationshipName?", "relationshipOrder?", "reparentableMasterDetail?", "required?",
    "restrictedAdminField?", "scale?", "securityClassification?", "startingNumber?",
    "stripMarkup?", "summarizedField?", "summaryFilterItems*", "summaryForeignKey?",
    "summaryOperation?", "trackFeedHistory?", "trackHistory?", "trackTrending?", "translateData?",
    "type?", "unique?", "valueSet?", "visibleLines?", "writeRequiresMasterRead?",
)


def _require(seq: tuple[str, ...], *names: str) -> tuple[str, ...]:
    """``seq`` with ``names`` made mandatory (the WSDL marks them optional; deploys need them)."""
    return tuple(s.rstrip("?") if s.rstrip("?") in names else s for s in seq)


_FIELD_ENUMS: dict[str, frozenset[str] | str] = {
    "type": METADATA_FIELD_TYPES, "caseSensitive": "bool", "externalId": "bool",
    "required": "bool", "unique": "bool", "length": "int", "precision": "int", "scale": "int",
    "visibleLines": "int", "deleteConstraint": frozenset({"Cascade", "Restrict", "SetNull"}),
    "isFilteringDisabled": "bool", "isNameField": "bool", "isSortingDisabled": "bool",
}
_FOLDER = Spec(("fullName?", "accessType?", "folderShares*", "name", "publicFolderAccess?",
                "sharedTo?"), {"folderShares": "FolderShare"})

SPECS: dict[str, Spec] = {
    "CustomObject": Spec(
        ("fullName?", "actionOverrides*", "allowInChatterGroups?", "articleTypeChannelDisplay?",
         "businessProcesses*", "compactLayoutAssignment?", "compactLayouts*", "customHelp?",
         "customHelpPage?", "customSettingsType?", "deploymentStatus", "deprecated?",
         "description?", "enableActivities?", "enableBulkApi?", "enableDataTranslation?",
         "enableDivisions?", "enableEnhancedLookup?", "enableFeeds?", "enableHistory?",
         "enableLicensing?", "enablePublishStatusTracking?", "enableReports?", "enableSearch?",
         "enableSharing?", "enableStreamingApi?", "eventType?", "externalDataSource?",
         "externalName?", "externalRepository?", "externalSharingModel?", "fieldSets*", "fields*",
         "gender?", "historyRetentionPolicy?", "household?", "indexes*", "label", "listViews*",
         "mktDataLakeAttributes?", "mktDataModelAttributes?", "nameField?", "pluralLabel",
         "profileSearchLayouts*", "publishBehavior?", "recordTypeTrackFeedHistory?",
         "recordTypeTrackHistory?", "recordTypes*", "searchLayouts?", "sharingModel?",
         "sharingReasons*", "sharingRecalculations*", "startsWith?", "validationRules*",
         "visibility?", "webLinks*"),
        {"nameField": "NameField"},
        {"deploymentStatus": frozenset({"Deployed", "InDevelopment"}),
         "sharingModel": frozenset({"Private", "Read", "ReadWrite", "ControlledByParent"}),
         "eventType": frozenset({"HighVolume", "StandardVolume"}),
         "publishBehavior": frozenset({"PublishAfterCommit", "PublishImmediately"}),
         "visibility": frozenset({"Public", "Protected", "PackageProtected"}),
         **{k: "bool" for k in ("enableActivities", "enableBulkApi", "enableFeeds",
                                "enableHistory", "enableReports", "enableSearch",
                                "enableSharing", "enableStreamingApi")}},
    ),
    "CustomField": Spec(_require(_CUSTOM_FIELD_SEQ, "fullName", "label", "type"),
                        {"valueSet": "ValueSet"}, _FIELD_ENUMS),
    "NameField": Spec(_require(_CUSTOM_FIELD_SEQ, "label", "type"), {},
                      {"type": frozenset({"Text", "AutoNumber"})}),
    "ValueSet": Spec(("controllingField?", "restricted?", "valueSetDefinition?", "valueSetName?",
                      "valueSettings*"), {"valueSetDefinition": "ValueSetValuesDefinition"},
                     {"restricted": "bool"}),
    "ValueSetValuesDefinition": Spec(("sorted", "value*"), {"value": "CustomValue"},
                                     {"sorted": "bool"}),
    "CustomValue": Spec(("fullName", "color?", "default", "description?", "isActive?", "label"),
                        {}, {"default": "bool", "isActive": "bool"}),
    "PermissionSet": Spec(
        ("fullName?", "agentAccesses*", "applicationVisibilities*", "classAccesses*",
         "customMetadataTypeAccesses*", "customPermissions*", "customSettingAccesses*",
         "description?", "emailRoutingAddressAccesses*", "externalCredentialPrincipalAccesses*",
         "externalDataSourceAccesses*", "fieldPermissions*", "flowAccesses*",
         "genComputingSummaryDefAccesses*", "hasActivationRequired?", "label", "license?",
         "objectPermissions*", "pageAccesses*", "recordTypeVisibilities*",
         "servicePresenceStatusAccesses*", "tabSettings*", "userPermissions*"),
        {"fieldPermissions": "FieldPermissions", "objectPermissions": "ObjectPermissions",
         "userPermissions": "UserPermission"},
        {"hasActivationRequired": "bool"},
    ),
    "FieldPermissions": Spec(("editable", "field", "readable?"), {},
                             {"editable": "bool", "readable": "bool"}),
    "ObjectPermissions": Spec(
        ("allowCreate", "allowDelete", "allowEdit", "allowRead", "modifyAllRecords", "object",
         "viewAllFields?", "viewAllRecords"), {},
        {k: "bool" for k in ("allowCreate", "allowDelete", "allowEdit", "allowRead",
                             "modifyAllRecords", "viewAllFields", "viewAllRecords")}),
    "UserPermission": Spec(("enabled", "name"), {}, {"enabled": "bool"}),
    "ListView": Spec(("fullName", "booleanFilter?", "columns*", "division?", "filterScope",
                      "filters*", "label", "language?", "queue?", "sharedTo?"),
                     {"filters": "ListViewFilter"},
                     {"filterScope": frozenset({"Everything", "Mine", "Queue", "MyTerritory",
                                                "MyTeamTerritory", "Team"})}),
    "ListViewFilter": Spec(("field", "operation", "value?"), {}, {"operation": FILTER_OPS}),
    "ReportType": Spec(("fullName?", "autogenerated?", "baseObject", "category", "deployed",
                        "description?", "join?", "label", "sections+"),
                       {"sections": "ReportLayoutSection"},
                       {"category": frozenset({"accounts", "opportunities", "leads", "other",
                                               "activities", "admin", "content"}),
                        "deployed": "bool"}),
    "ReportLayoutSection": Spec(("columns*", "masterLabel"), {"columns": "ReportTypeColumn"}),
    "ReportTypeColumn": Spec(("checkedByDefault", "displayNameOverride?", "field", "table"), {},
                             {"checkedByDefault": "bool"}),
    "Report": Spec(
        ("fullName?", "aggregateFilters*", "aggregates*", "block*", "blockInfo?", "buckets*",
         "chart?", "colorRanges*", "columns*", "crossFilters*", "currency?",
         "customDetailFormulas*", "dataCategoryFilters*", "description?", "division?", "filter?",
         "folderName?", "format", "formattingRules*", "groupingsAcross*", "groupingsDown*",
         "historicalSelector?", "isSmartTotalDisabled?", "name", "numSubscriptions?", "params*",
         "reportType", "reportTypeApiName?", "roleHierarchyFilter?", "rowLimit?", "scope?",
         "showCurrentDate?", "showDetails?", "showGrandTotal?", "showSubTotals?", "sortColumn?",
         "sortOrder?", "territoryHierarchyFilter?", "timeFrameFilter?", "userFilter?"),
        {"columns": "ReportColumn", "filter": "ReportFilter", "groupingsDown": "ReportGrouping",
         "groupingsAcross": "ReportGrouping", "timeFrameFilter": "ReportTimeFrameFilter"},
        {"format": frozenset({"Tabular", "Summary", "Matrix", "MultiBlock"}),
         "scope": frozenset({"organization", "user", "team"}), "rowLimit": "int",
         "sortOrder": frozenset({"Asc", "Desc"}), "showDetails": "bool",
         "showGrandTotal": "bool", "showSubTotals": "bool"},
    ),
    "ReportColumn": Spec(("aggregateTypes*", "field", "isExtendedColumn?", "reverseColors?",
                          "showChanges?"), {}, {"aggregateTypes": SUMMARY_TYPES}),
    "ReportFilter": Spec(("booleanFilter?", "criteriaItems*", "language?"),
                         {"criteriaItems": "ReportFilterItem"}),
    "ReportFilterItem": Spec(("column", "columnToColumn?", "isUnlocked?", "operator",
                              "snapshot?", "value?"), {},
                             {"operator": FILTER_OPS, "columnToColumn": "bool",
                              "isUnlocked": "bool"}),
    "ReportGrouping": Spec(("aggregateType?", "dateGranularity?", "field", "sortByName?",
                            "sortOrder", "sortType?"), {},
                           {"sortOrder": frozenset({"Asc", "Desc"}),
                            "dateGranularity": frozenset({"None", "Day", "Week", "Month",
                                                          "Quarter", "Year"})}),
    "ReportTimeFrameFilter": Spec(("dateColumn", "endDate?", "interval", "startDate?"), {},
                                  {"interval": INTERVALS}),
    "Dashboard": Spec(
        ("fullName?", "backgroundEndColor", "backgroundFadeDirection", "backgroundStartColor",
         "chartTheme?", "colorPalette?", "dashboardChartTheme?", "dashboardColorPalette?",
         "dashboardFilters*", "dashboardGridLayout?", "dashboardResultRefreshedDate?",
         "dashboardResultRunningUser?", "dashboardType?", "description?", "folderName?",
         "isGridLayout?", "leftSection?", "middleSection?", "numSubscriptions?", "owner?",
         "rightSection?", "runningUser?", "textColor", "title", "titleColor", "titleSize"),
        {"dashboardGridLayout": "DashboardGridLayout"},
        {"backgroundFadeDirection": frozenset({"TopToBottom", "LeftToRight", "Diagonal"}),
         "dashboardType": frozenset({"SpecifiedUser", "LoggedInUser", "MyTeamUser"}),
         "isGridLayout": "bool", "titleSize": "int"},
    ),
    "DashboardGridLayout": Spec(("dashboardGridComponents*", "numberOfColumns", "rowHeight"),
                                {"dashboardGridComponents": "DashboardGridComponent"},
                                {"numberOfColumns": "int", "rowHeight": "int"}),
    "DashboardGridComponent": Spec(("colSpan", "columnIndex", "dashboardComponent", "rowIndex",
                                    "rowSpan"), {"dashboardComponent": "DashboardComponent"},
                                   {k: "int" for k in ("colSpan", "columnIndex", "rowIndex",
                                                       "rowSpan")}),
    "DashboardComponent": Spec(
        ("autoselectColumnsFromReport?", "chartAxisRange?", "chartAxisRangeMax?",
         "chartAxisRangeMin?", "chartSummary*", "componentChartTheme?", "componentType",
         "dashboardComponentContents*", "dashboardDynamicValues*", "dashboardFilterColumns*",
         "dashboardTableColumn*", "decimalPrecision?", "displayUnits?", "drillDownUrl?",
         "drillEnabled?", "drillToDetailEnabled?", "enableHover?", "expandOthers?",
         "flexComponentProperties?", "footer?", "gaugeMax?", "gaugeMin?", "groupingColumn*",
         "groupingSortProperties?", "header?", "indicatorBreakpoint1?", "indicatorBreakpoint2?",
         "indicatorHighColor?", "indicatorLowColor?", "indicatorMiddleColor?", "legendPosition?",
         "maxValuesDisplayed?", "metricLabel?", "page?", "pageHeightInPixels?", "report?",
         "scontrol?", "scontrolHeightInPixels?", "showPercentage?", "showPicturesOnCharts?",
         "showPicturesOnTables?", "showRange?", "showTotal?", "showValues?", "sortBy?",
         "sortLegendValues?", "title?", "useReportChart?"),
        {"chartSummary": "ChartSummary"},
        {"componentType": frozenset({"Bar", "Column", "Line", "Pie", "Donut", "Funnel", "Table",
                                     "Metric", "Gauge", "FlexTable"}),
         "displayUnits": frozenset({"Auto", "Integer", "Hundreds", "Thousands", "Millions"}),
         "autoselectColumnsFromReport": "bool", "showRange": "bool"},
    ),
    "ChartSummary": Spec(("aggregate?", "axisBinding?", "column"), {},
                         {"aggregate": SUMMARY_TYPES}),
    "ReportFolder": _FOLDER,
    "DashboardFolder": _FOLDER,
    "FolderShare": Spec(("accessLevel", "sharedTo", "sharedToType"), {},
                        {"accessLevel": frozenset({"View", "EditAllContents", "Manage"}),
                         "sharedToType": frozenset({"Group", "Role", "RoleAndSubordinates",
                                                    "Organization", "User", "AllPrmUsers"})}),
    "PlatformEventChannelMember": Spec(("fullName?", "enrichedFields*", "eventChannel",
                                        "filterExpression?", "selectedEntity")),
}

# Suffix -> (root element, directory pattern relative to force-app/main/default).
SUFFIXES: dict[str, tuple[str, str]] = {
    ".object-meta.xml": ("CustomObject", "objects/*"),
    ".field-meta.xml": ("CustomField", "objects/*/fields"),
    ".permissionset-meta.xml": ("PermissionSet", "permissionsets"),
    ".listView-meta.xml": ("ListView", "objects/*/listViews"),
    ".reportType-meta.xml": ("ReportType", "reportTypes"),
    ".report-meta.xml": ("Report", "reports/*"),
    ".dashboard-meta.xml": ("Dashboard", "dashboards/*"),
    ".reportFolder-meta.xml": ("ReportFolder", "reports"),
    ".dashboardFolder-meta.xml": ("DashboardFolder", "dashboards"),
    ".platformEventChannelMember-meta.xml": ("PlatformEventChannelMember",
                                             "platformEventChannelMembers"),
}
# Metadata types with a <description>, and its length limit; the others explain themselves in a
# leading XML comment instead.
DESCRIPTION_LIMIT = {"CustomObject": 1000, "CustomField": 1000, "PermissionSet": 255,
                     "ReportType": 255, "Report": 255, "Dashboard": 255}


def _parse_seq(seq: tuple[str, ...]) -> list[tuple[str, int, int | None]]:
    out: list[tuple[str, int, int | None]] = []
    for item in seq:
        bounds = {"?": (0, 1), "*": (0, None), "+": (1, None)}.get(item[-1], (1, 1))
        out.append((item.rstrip("?*+"), *bounds))
    return out


def _local(el: ET.Element) -> tuple[str, str]:
    ns, _, name = el.tag.rpartition("}")
    return ns.lstrip("{"), name


def _check_text(name: str, text: str, rule: frozenset[str] | str, where: str) -> list[str]:
    if rule == "bool":
        ok = text in BOOL
    elif rule == "int":
        ok = text.lstrip("-").isdigit()
    else:
        ok = text in rule
    return [] if ok else [f"{where}/{name}: {text!r} is not an allowed value"]


def validate(el: ET.Element, spec_name: str, where: str = "") -> list[str]:
    """Every way ``el`` departs from ``SPECS[spec_name]``, as readable strings."""
    spec, errors = SPECS[spec_name], []
    where = f"{where}/{_local(el)[1]}"
    seq = _parse_seq(spec.seq)
    index = {name: i for i, (name, _, _) in enumerate(seq)}
    counts: dict[str, int] = {}
    last = -1
    for child in el:
        ns, name = _local(child)
        if ns != NS_URI:
            errors.append(f"{where}/{name}: not in the metadata namespace")
        if name not in index:
            errors.append(f"{where}/{name}: not an element of {spec_name}")
            continue
        if index[name] < last:
            errors.append(f"{where}/{name}: out of order (WSDL sequence of {spec_name})")
        last = index[name]
        counts[name] = counts.get(name, 0) + 1
        errors += _check_child(child, name, spec, where)
    for name, low, high in seq:
        n = counts.get(name, 0)
        if n < low or (high is not None and n > high):
            errors.append(f"{where}/{name}: occurs {n} times, allowed {low}..{high or 'n'}")
    return errors


def _check_child(child: ET.Element, name: str, spec: Spec, where: str) -> list[str]:
    if name in spec.children:
        return validate(child, spec.children[name], where)
    if len(child):
        return [f"{where}/{name}: complex element without a spec in this test"]
    text = (child.text or "").strip()
    if not text:
        return [f"{where}/{name}: empty"]
    rule = spec.enums.get(name)
    return _check_text(name, text, rule, where) if rule else []


# ----------------------------------------------------------------------------------------------
# Loading the project
# ----------------------------------------------------------------------------------------------


def _suffix(path: Path) -> str | None:
    return next((s for s in SUFFIXES if path.name.endswith(s)), None)


def _xml_files() -> list[Path]:
    return sorted(p for p in SFDX.rglob("*") if p.is_file() and p.name != "sfdx-project.json")


def _root(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def _path(path: str) -> str:
    return "/".join(MD_NS + part for part in path.split("/"))


def _t(el: ET.Element, path: str) -> str:
    found = el.find(_path(path))
    assert found is not None, f"no <{path}>"
    return (found.text or "").strip()


def _all(el: ET.Element, path: str) -> list[ET.Element]:
    return el.findall(_path(path))


def _texts(el: ET.Element, path: str) -> list[str]:
    return [(e.text or "").strip() for e in _all(el, path)]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return build_catalog()


def _obj(catalog: Catalog, name: str) -> ObjectDef:
    obj = catalog.get(name)
    assert obj is not None, f"unknown object {name}"
    return obj


def _fld(catalog: Catalog, obj: str, name: str) -> FieldDef:
    f = _obj(catalog, obj).field(name)
    assert f is not None, f"{obj}.{name} does not exist"
    return f


def _field_type(catalog: Catalog, obj: str, name: str) -> FieldType:
    return _fld(catalog, obj, name).type


FILES = _xml_files()
FIELD_FILES = [p for p in FILES if p.name.endswith(".field-meta.xml")]
REPORTS = sorted((DEFAULT / "reports").glob("*/*.report-meta.xml"))
PERMSETS = sorted((DEFAULT / "permissionsets").glob("*.permissionset-meta.xml"))
LIST_VIEWS = sorted(DEFAULT.glob("objects/*/listViews/*.listView-meta.xml"))


def _id(path: Path) -> str:
    return str(path.relative_to(DEFAULT))


# ----------------------------------------------------------------------------------------------
# Structure of every file
# ----------------------------------------------------------------------------------------------


def test_project_descriptor() -> None:
    project = json.loads((SFDX / "sfdx-project.json").read_text())
    assert project["packageDirectories"] == [{"path": "force-app", "default": True}]
    assert float(project["sourceApiVersion"]) >= 62.0


def test_every_file_is_a_known_metadata_type_in_its_directory() -> None:
    assert FILES, "no metadata found"
    for path in FILES:
        suffix = _suffix(path)
        assert suffix, f"{_id(path)}: not a metadata type this project uses"
        rel_dir = path.parent.relative_to(DEFAULT)
        assert rel_dir.match(SUFFIXES[suffix][1]), f"{_id(path)}: wrong directory"


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_file_matches_the_metadata_api_schema(path: Path) -> None:
    suffix = _suffix(path)
    assert suffix
    root = _root(path)
    ns, name = _local(root)
    assert (ns, name) == (NS_URI, SUFFIXES[suffix][0])
    spec = "CustomObject" if name == "CustomObject" else name
    assert validate(root, spec) == []


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_file_says_why_it_exists(path: Path) -> None:
    root = _root(path)
    limit = DESCRIPTION_LIMIT.get(_local(root)[1])
    if limit is None:
        comment = re.match(r"<\?xml[^>]*\?>\s*<!--(.+?)-->", path.read_text(), re.DOTALL)
        assert comment, f"{_id(path)}: no explaining comment"
        assert len(comment.group(1).split()) >= 8
        return
    description = root.find(f"{MD_NS}description")
    assert description is not None, f"{_id(path)}: no <description>"
    assert 20 <= len(description.text or "") <= limit


# ----------------------------------------------------------------------------------------------
# Fields
# ----------------------------------------------------------------------------------------------

NO_LENGTH_TYPES = {"Email", "Phone", "Url", "Date", "DateTime", "Checkbox", "Picklist", "Lookup",
                   "MasterDetail", "Number", "Currency", "Percent"}
TYPE_NEEDS = {
    "Text": {"length"}, "LongTextArea": {"length", "visibleLines"},
    "Number": {"precision", "scale"}, "Currency": {"precision", "scale"},
    "Percent": {"precision", "scale"}, "Picklist": {"valueSet"}, "Checkbox": {"defaultValue"},
    "Lookup": {"referenceTo", "relationshipName", "relationshipLabel"},
    "MasterDetail": {"referenceTo", "relationshipName", "relationshipLabel"},
}
EMULATED_TYPES = {t.value for t in FieldType if t is not FieldType.ID}


def field_rule_errors(root: ET.Element) -> list[str]:
    """Type-specific rules the WSDL cannot express (all children are optional there)."""
    ftype = _t(root, "type")
    present = {_local(c)[1] for c in root}
    errors = [f"{ftype} needs <{n}>" for n in sorted(TYPE_NEEDS.get(ftype, set()) - present)]
    if errors:
        return errors  # the checks below read those elements
    if ftype not in EMULATED_TYPES:
        errors.append(f"{ftype} is not a type the emulator models")
    if ftype in NO_LENGTH_TYPES and "length" in present:
        errors.append(f"{ftype} takes no <length>")
    if ftype not in {"Text", "Number", "Email"} and present & {"unique", "externalId"} and (
        "true" in (_texts(root, "unique") + _texts(root, "externalId"))
    ):
        errors.append(f"{ftype} cannot be unique or an external ID")
    if "caseSensitive" in present and _texts(root, "unique") != ["true"]:
        errors.append("caseSensitive only applies to unique fields")
    return errors + _range_errors(ftype, root)


def _range_errors(ftype: str, root: ET.Element) -> list[str]:
    errors = []
    if ftype == "Text" and not 1 <= int(_t(root, "length")) <= 255:
        errors.append("Text length must be 1..255")
    if ftype == "LongTextArea" and not 256 <= int(_t(root, "length")) <= 131072:
        errors.append("LongTextArea length must be 256..131072")
    if ftype in {"Number", "Currency", "Percent"}:
        precision, scale = int(_t(root, "precision")), int(_t(root, "scale"))
        if not (1 <= precision <= 18 and 0 <= scale <= precision):
            errors.append("precision must be 1..18 and scale 0..precision")
    if ftype == "Picklist":
        values = _texts(root, "valueSet/valueSetDefinition/value/fullName")
        defaults = _texts(root, "valueSet/valueSetDefinition/value/default").count("true")
        if not values or len(set(values)) != len(values) or defaults > 1:
            errors.append("picklist needs distinct values and at most one default")
    if ftype == "Lookup" and "__" in _t(root, "relationshipName"):
        errors.append("relationshipName is a plain name (Salesforce appends __r)")
    return errors


@pytest.mark.parametrize("path", FIELD_FILES, ids=_id)
def test_field_type_rules(path: Path) -> None:
    root = _root(path)
    assert _t(root, "fullName") == path.name.removesuffix(".field-meta.xml")
    assert _t(root, "fullName").endswith("__c")
    assert field_rule_errors(root) == []


def test_platform_event_fields_are_unchanged() -> None:
    folder = DEFAULT / "objects" / "SelfServeTrialEvent__e"
    fields = {p.name.removesuffix(".field-meta.xml"): _t(_root(p), "type")
              for p in (folder / "fields").glob("*.field-meta.xml")}
    assert fields == {"Workspace_ID__c": "Text", "Email__c": "Text", "Event_Type__c": "Text",
                      "Event_Data__c": "LongTextArea", "Event_Timestamp__c": "DateTime"}
    event = _root(folder / "SelfServeTrialEvent__e.object-meta.xml")
    assert _t(event, "eventType") == "HighVolume"
    assert _t(event, "publishBehavior") == "PublishAfterCommit"


@pytest.mark.parametrize("name", ["Workspace__c", "Event_Cache__c"])
def test_custom_objects_have_what_a_deploy_requires(name: str) -> None:
    root = _root(DEFAULT / "objects" / name / f"{name}.object-meta.xml")
    for tag in ("label", "pluralLabel", "sharingModel", "nameField/label", "nameField/type"):
        assert _t(root, tag)
    # Bulk API, sharing and Streaming API are enabled or disabled together.
    trio = {_t(root, t) for t in ("enableBulkApi", "enableSharing", "enableStreamingApi")}
    assert len(trio) == 1


def test_event_cache_name_is_an_auto_number() -> None:
    root = _root(DEFAULT / "objects" / "Event_Cache__c" / "Event_Cache__c.object-meta.xml")
    assert _t(root, "nameField/type") == "AutoNumber"
    assert _t(root, "nameField/displayFormat") == "EC-{000000}"


def test_lead_change_data_capture_is_selected() -> None:
    members = DEFAULT / "platformEventChannelMembers"
    root = _root(members / "ChangeEvents_LeadChangeEvent.platformEventChannelMember-meta.xml")
    assert (_t(root, "eventChannel"), _t(root, "selectedEntity")) == ("ChangeEvents",
                                                                      "LeadChangeEvent")
    assert read_metadata().cdc_entities == frozenset({"Lead"})


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


def _components() -> list[ET.Element]:
    return _all(_root(DASHBOARD), "dashboardGridLayout/dashboardGridComponents")


def test_dashboard_has_one_component_per_report() -> None:
    reports = [_t(c, "dashboardComponent/report") for c in _components()]
    expected = {f"{REPORT_FOLDER}/{p.name.removesuffix('.report-meta.xml')}" for p in REPORTS}
    assert sorted(reports) == sorted(expected)
    assert len(expected) == 5
    for ref in reports:
        folder, _, name = ref.partition("/")
        assert (DEFAULT / "reports" / folder / f"{name}.report-meta.xml").is_file()


def test_dashboard_metrics_summarize_report_columns() -> None:
    for component in _components():
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


def test_dashboard_grid_fits_and_does_not_overlap() -> None:
    layout = _root(DASHBOARD).find(_path("dashboardGridLayout"))
    assert layout is not None
    width = int(_t(layout, "numberOfColumns"))
    cells: set[tuple[int, int]] = set()
    for c in _components():
        col, row = int(_t(c, "columnIndex")), int(_t(c, "rowIndex"))
        span, rows = int(_t(c, "colSpan")), int(_t(c, "rowSpan"))
        assert col + span <= width
        area = {(x, y) for x in range(col, col + span) for y in range(row, row + rows)}
        assert not area & cells, "components overlap"
        cells |= area


# ----------------------------------------------------------------------------------------------
# What the emulator (and so lifecycle-sync's tests) get from these files
# ----------------------------------------------------------------------------------------------


def _props(f: FieldDef, *names: str) -> tuple[object, ...]:
    return tuple(getattr(f, n) for n in names)


def test_workspace_schema(catalog: Catalog) -> None:
    assert _obj(catalog, "Workspace__c").kind is ObjectKind.CUSTOM
    key = _fld(catalog, "Workspace__c", "Workspace_ID__c")
    assert _props(key, "unique", "external_id", "case_sensitive", "length") == (True, True,
                                                                                 False, 64)
    status = _fld(catalog, "Workspace__c", "Self_Serve_Status__c")
    assert status.picklist_values == ("Trial", "Paid", "Churned")
    for name, to in (("Lead__c", "Lead"), ("Account__c", "Account"), ("Contact__c", "Contact")):
        ref = _fld(catalog, "Workspace__c", name)
        assert _props(ref, "type", "reference_to") == (FieldType.LOOKUP, to)
        assert _obj(catalog, "Workspace__c").relationship(name.replace("__c", "__r")) is ref
    expected = {
        "Trial_Expiration_Date__c": FieldType.DATE, "Last_Event_Time__c": FieldType.DATETIME,
        "Expiration_Alert_Sent_For__c": FieldType.DATE, "MRR__c": FieldType.CURRENCY,
        "Trial_History__c": FieldType.LONG_TEXT_AREA, "Email__c": FieldType.EMAIL,
        "Needs_Review__c": FieldType.CHECKBOX, "Review_Reason__c": FieldType.TEXT,
    }
    assert {n: _field_type(catalog, "Workspace__c", n) for n in expected} == expected
    assert _fld(catalog, "Workspace__c", "Needs_Review__c").default is False


def test_event_cache_schema(catalog: Catalog) -> None:
    uuid = _fld(catalog, "Event_Cache__c", "Event_Uuid__c")
    assert _props(uuid, "unique", "external_id") == (True, True)
    status = _fld(catalog, "Event_Cache__c", "Processing_Status__c")
    assert status.picklist_values == ("New", "Processing", "Completed", "Error")
    assert status.default == "New"
    retries = _fld(catalog, "Event_Cache__c", "Retry_Count__c")
    assert _props(retries, "type", "precision", "scale", "default") == (FieldType.NUMBER, 4, 0,
                                                                        0.0)
    assert _fld(catalog, "Event_Cache__c", "Name").system, "an AutoNumber Name is set by the org"
    for n in ("Original_Timestamp__c", "Next_Attempt_At__c"):
        assert _field_type(catalog, "Event_Cache__c", n) is FieldType.DATETIME


def test_standard_object_extensions(catalog: Catalog) -> None:
    domain = _fld(catalog, "Account", "Email_Domain__c")
    assert _props(domain, "external_id", "unique", "length") == (True, False, 255)
    lead = _obj(catalog, "Lead")
    assert lead.cdc_enabled
    assert lead.topic == "/data/LeadChangeEvent"
    ws_id = _fld(catalog, "Lead", "Workspace_ID__c")
    assert _props(ws_id, "external_id", "length") == (True, 64)


def test_platform_event_schema(catalog: Catalog) -> None:
    event = _obj(catalog, "SelfServeTrialEvent__e")
    assert event.topic == "/event/SelfServeTrialEvent__e"
    custom = [(f.name, f.type) for f in event.fields if f.name.endswith("__c")]
    assert custom == [("Email__c", FieldType.TEXT), ("Event_Data__c", FieldType.LONG_TEXT_AREA),
                      ("Event_Timestamp__c", FieldType.DATETIME),
                      ("Event_Type__c", FieldType.TEXT), ("Workspace_ID__c", FieldType.TEXT)]


# ----------------------------------------------------------------------------------------------
# The checks above can fail: each broken document is rejected
# ----------------------------------------------------------------------------------------------

_NS_ATTR = f'xmlns="{NS_URI}"'
GOOD_FIELD = (f"<CustomField {_NS_ATTR}><fullName>X__c</fullName><label>X</label>"
              "<length>10</length><type>Text</type></CustomField>")


@pytest.mark.parametrize(
    ("xml", "spec", "problem"),
    [
        (GOOD_FIELD.replace("<label>X</label>", ""), "CustomField", "occurs 0 times"),
        (GOOD_FIELD.replace("<length>", "<colour>").replace("</length>", "</colour>"),
         "CustomField", "not an element"),
        (GOOD_FIELD.replace("<label>X</label><length>10</length>",
                            "<length>10</length><label>X</label>"), "CustomField", "out of order"),
        (GOOD_FIELD.replace("<type>Text</type>", "<type>Text</type><type>Text</type>"),
         "CustomField", "occurs 2 times"),
        (GOOD_FIELD.replace("<type>Text", "<type>Texty"), "CustomField", "not an allowed value"),
        (GOOD_FIELD.replace("<length>10", "<length>ten"), "CustomField", "not an allowed value"),
        (GOOD_FIELD.replace(f"<CustomField {_NS_ATTR}>", "<CustomField>"), "CustomField",
         "namespace"),
        (f"<ListView {_NS_ATTR}><fullName>A</fullName><filterScope>Everything</filterScope>"
         "<filters><field>F__c</field><value>1</value></filters><label>A</label></ListView>",
         "ListView", "filters/operation: occurs 0 times"),
    ],
)
def test_schema_check_rejects_broken_documents(xml: str, spec: str, problem: str) -> None:
    assert validate(ET.fromstring(GOOD_FIELD), "CustomField") == []
    errors = validate(ET.fromstring(xml), spec)
    assert any(problem in e for e in errors), errors


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("<length>10</length>", "", "needs <length>"),
        ("<length>10</length>", "<length>300</length>", "1..255"),
        ("<type>Text</type>", "<type>Email</type>", "takes no <length>"),
        ("<type>Text</type>", "<type>Time</type>", "not a type the emulator models"),
        ("<type>Text</type>", "<type>Lookup</type><referenceTo>Lead</referenceTo>",
         "needs <relationshipLabel>"),
        ("<type>Text</type>", "<type>Text</type><caseSensitive>true</caseSensitive>",
         "caseSensitive"),
    ],
)
def test_field_rules_reject_broken_fields(old: str, new: str, problem: str) -> None:
    assert field_rule_errors(ET.fromstring(GOOD_FIELD)) == []
    errors = field_rule_errors(ET.fromstring(GOOD_FIELD.replace(old, new)))
    assert any(problem in e for e in errors), errors
