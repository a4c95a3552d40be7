"""``salesforce/`` is deployable Metadata API source, and it loads into the emulator.

No org is reachable here. ``tests/test_metadata_deploy.py`` runs the conversion
``sf project deploy start`` does before a deploy; this module checks each file itself, also for
what only the org would reject: nothing outside the root element, and against a hand-written
subset of the Metadata API WSDL (API 62-66) the root element for its suffix, the namespace, which
child elements each type allows, in which order (the WSDL ``xsd:sequence``), which are required,
and the values of the enumerations we use. On top of that: field-type rules, that every field,
object, report type and report referenced elsewhere exists, and what lifecycle-sync needs from
the schema the emulator builds from these same files.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from metadata_project import (
    DEFAULT,
    FIELD_FILES,
    FILES,
    NS_URI,
    SFDX,
    _field_type,
    _fld,
    _id,
    _obj,
    _root,
    _root_with_comments,
    _suffix,
    _t,
    _texts,
    outside_root,
)
from metadata_schema import DESCRIPTION_LIMIT, SUFFIXES, _local, validate

from emulator.catalog import Catalog, FieldDef, FieldType, ObjectKind
from emulator.metadata import MD_NS, read_metadata

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
def test_nothing_but_the_xml_declaration_outside_the_root_element(path: Path) -> None:
    # `sf project deploy start` refuses a list view with a comment before <ListView>.
    assert outside_root(path.read_bytes()) == []


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_file_says_why_it_exists(path: Path) -> None:
    root = _root_with_comments(path)
    limit = DESCRIPTION_LIMIT.get(_local(root)[1])
    if limit is None:
        assert len(root), f"{_id(path)}: empty root element"
        first = root[0]
        assert first.tag is ET.Comment, f"{_id(path)}: root's first child is no explaining comment"
        assert len((first.text or "").split()) >= 8
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


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (f'<?xml version="1.0"?>\n<!-- why -->\n{GOOD_FIELD}', "comment: why"),
        (f'<?xml version="1.0"?>\n{GOOD_FIELD}\n<!-- after -->', "comment: after"),
        (f'<?xml version="1.0"?>\n<?tool x?>\n{GOOD_FIELD}', "pi: tool x"),
    ],
)
def test_outside_root_check_rejects_comments_around_the_root(document: str, problem: str) -> None:
    inside = GOOD_FIELD.replace("<label>", "<!-- inside is fine --><label>")
    assert outside_root(f'<?xml version="1.0"?>\n{inside}\n'.encode()) == []
    assert outside_root(document.encode()) == [problem]
