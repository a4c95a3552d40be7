"""emulator.metadata turns SFDX source into ObjectDefs: checked on small synthetic projects."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.catalog import FieldDef, FieldType, ObjectDef
from emulator.metadata import change_event_object, read_metadata

NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'


def _write(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n')


def _object(root: Path, name: str, name_field: str = "<type>Text</type>") -> None:
    _write(root / "objects" / name / f"{name}.object-meta.xml",
           f"<CustomObject {NS}><label>{name}</label><nameField><label>N</label>{name_field}"
           "</nameField><pluralLabel>Ns</pluralLabel><sharingModel>Private</sharingModel>"
           "</CustomObject>")


def _field(root: Path, obj: str, name: str, body: str) -> None:
    _write(root / "objects" / obj / "fields" / f"{name}.field-meta.xml",
           f"<CustomField {NS}><fullName>{name}</fullName><label>{name}</label>{body}"
           "</CustomField>")


def _member(root: Path, channel: str, entity: str) -> None:
    _write(root / "platformEventChannelMembers"
           / f"{channel}_{entity}.platformEventChannelMember-meta.xml",
           f"<PlatformEventChannelMember {NS}><eventChannel>{channel}</eventChannel>"
           f"<selectedEntity>{entity}</selectedEntity></PlatformEventChannelMember>")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "force-app" / "main" / "default"
    (root / "objects").mkdir(parents=True)
    return root


def _loaded(tmp_path: Path, name: str) -> ObjectDef:
    bundle = read_metadata(tmp_path)
    return next(o for o in bundle.objects if o.name == name)


def _loaded_field(tmp_path: Path, obj: str, name: str) -> FieldDef:
    f = _loaded(tmp_path, obj).field(name)
    assert f is not None
    return f


def test_no_channel_members_means_no_cdc(project: Path, tmp_path: Path) -> None:
    _object(project, "Foo__c")
    bundle = read_metadata(tmp_path)
    assert bundle.cdc_entities == frozenset()
    assert not bundle.objects[0].cdc_enabled


def test_change_events_members_enable_cdc(project: Path, tmp_path: Path) -> None:
    _object(project, "Foo__c")
    _object(project, "Bar__c")
    _member(project, "ChangeEvents", "LeadChangeEvent")
    _member(project, "ChangeEvents", "Foo__ChangeEvent")
    _member(project, "Other__chn", "Bar__ChangeEvent")
    bundle = read_metadata(tmp_path)
    assert bundle.cdc_entities == frozenset({"Lead", "Foo__c"})
    assert {o.name: o.cdc_enabled for o in bundle.objects} == {"Bar__c": False, "Foo__c": True}
    assert _loaded(tmp_path, "Foo__c").topic == "/data/Foo__ChangeEvent"


@pytest.mark.parametrize(("entity", "obj"), [("LeadChangeEvent", "Lead"),
                                             ("Foo__ChangeEvent", "Foo__c"),
                                             ("AccountChangeEvent", "Account")])
def test_change_event_object(entity: str, obj: str) -> None:
    assert change_event_object(entity) == obj


@pytest.mark.parametrize(("name_field", "system"), [
    ("<displayFormat>X-{0000}</displayFormat><type>AutoNumber</type>", True),
    ("<type>Text</type>", False),
])
def test_auto_number_names_are_set_by_the_org(
    project: Path, tmp_path: Path, name_field: str, system: bool
) -> None:
    _object(project, "Foo__c", name_field)
    assert _loaded_field(tmp_path, "Foo__c", "Name").system is system


def test_lookup_relationship_is_the_field_name_with_r(project: Path, tmp_path: Path) -> None:
    _object(project, "Foo__c")
    _field(project, "Foo__c", "Lead__c",
           "<referenceTo>Lead</referenceTo><relationshipLabel>Foos</relationshipLabel>"
           "<relationshipName>Foos</relationshipName><type>Lookup</type>")
    ref = _loaded_field(tmp_path, "Foo__c", "Lead__c")
    assert (ref.reference_to, ref.relationship_name) == ("Lead", "Lead__r")
    assert _loaded(tmp_path, "Foo__c").relationship("lead__r") == ref


@pytest.mark.parametrize(("body", "expected"), [
    ("<defaultValue>false</defaultValue><type>Checkbox</type>", False),
    ("<defaultValue>true</defaultValue><type>Checkbox</type>", True),
    ("<defaultValue>3</defaultValue><precision>4</precision><scale>0</scale><type>Number</type>",
     3.0),
    ("<precision>4</precision><scale>0</scale><type>Number</type>", None),
    ("<type>Picklist</type><valueSet><valueSetDefinition><sorted>false</sorted>"
     "<value><fullName>A</fullName><default>false</default><label>A</label></value>"
     "<value><fullName>B</fullName><default>true</default><label>B</label></value>"
     "</valueSetDefinition></valueSet>", "B"),
])
def test_defaults(project: Path, tmp_path: Path, body: str, expected: object) -> None:
    _object(project, "Foo__c")
    _field(project, "Foo__c", "F__c", body)
    assert _loaded_field(tmp_path, "Foo__c", "F__c").default == expected


def test_picklist_values_come_from_the_value_set(project: Path, tmp_path: Path) -> None:
    _object(project, "Foo__c")
    _field(project, "Foo__c", "F__c",
           "<type>Picklist</type><valueSet><restricted>true</restricted><valueSetDefinition>"
           "<sorted>false</sorted>"
           + "".join(f"<value><fullName>{v}</fullName><default>false</default>"
                     f"<label>{v.upper()}</label></value>" for v in ("x", "y", "z"))
           + "</valueSetDefinition></valueSet>")
    field = _loaded_field(tmp_path, "Foo__c", "F__c")
    assert field.picklist_values == ("x", "y", "z")
    assert field.restricted


def test_picklists_are_unrestricted_unless_the_value_set_says_so(
    project: Path, tmp_path: Path
) -> None:
    _object(project, "Foo__c")
    _field(project, "Foo__c", "F__c",
           "<type>Picklist</type><valueSet><valueSetDefinition><sorted>false</sorted>"
           "<value><fullName>x</fullName><default>false</default><label>x</label></value>"
           "</valueSetDefinition></valueSet>")
    assert not _loaded_field(tmp_path, "Foo__c", "F__c").restricted


@pytest.mark.parametrize(("ftype", "length"), [("Email", 80), ("Phone", 40), ("Url", 255),
                                               ("Date", None)])
def test_fixed_lengths(project: Path, tmp_path: Path, ftype: str, length: int | None) -> None:
    _object(project, "Foo__c")
    _field(project, "Foo__c", "F__c", f"<type>{ftype}</type>")
    assert _loaded_field(tmp_path, "Foo__c", "F__c").length == length


def test_text_attributes(project: Path, tmp_path: Path) -> None:
    _object(project, "Foo__c")
    _field(project, "Foo__c", "F__c",
           "<caseSensitive>true</caseSensitive><externalId>true</externalId>"
           "<length>12</length><required>true</required><type>Text</type><unique>true</unique>")
    f = _loaded_field(tmp_path, "Foo__c", "F__c")
    assert (f.type, f.length, f.required, f.unique, f.case_sensitive, f.external_id) == (
        FieldType.TEXT, 12, True, True, True, True)


def test_auto_number_field_is_system_text(project: Path, tmp_path: Path) -> None:
    _object(project, "Foo__c")
    _field(project, "Foo__c", "Seq__c", "<displayFormat>{0}</displayFormat><type>AutoNumber</type>")
    f = _loaded_field(tmp_path, "Foo__c", "Seq__c")
    assert (f.type, f.system) == (FieldType.TEXT, True)


def test_standard_object_folders_add_fields(project: Path, tmp_path: Path) -> None:
    _field(project, "Account", "Domain__c", "<externalId>true</externalId><length>255</length>"
                                            "<type>Text</type>")
    bundle = read_metadata(tmp_path)
    assert bundle.objects == ()
    assert [f.name for f in bundle.standard_object_fields["Account"]] == ["Domain__c"]
