"""A hand-written subset of the Metadata API WSDL (API 62-66) and a validator for it.

Used by ``tests/test_metadata.py``: for each metadata type, which child elements are allowed, in
which ``xsd:sequence`` order, which are required, and the allowed values of the enumerations we
use.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from emulator.metadata import MD_NS

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

