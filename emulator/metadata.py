"""Read custom objects, platform events and custom fields from our SFDX metadata.

The emulator takes its custom schema from the same files an admin deploys
(``salesforce/force-app/main/default/objects``), so the two cannot drift. Fields are read in
file-name order, which is stable and is the order of the Avro record fields.

Change Data Capture selections come from ``platformEventChannelMembers/``: a member of the
``ChangeEvents`` channel whose ``selectedEntity`` is ``LeadChangeEvent`` enables CDC for Lead.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from emulator.catalog import NUMBER_TYPES, FieldDef, FieldType, ObjectDef, ObjectKind

MD_NS = "{http://soap.sforce.com/2006/04/metadata}"
# An installed wheel carries a copy of the SFDX project inside this package (setup.py puts it
# there); a checkout (or an editable install) reads the project itself, beside the packages.
PACKAGED_METADATA_DIR = Path(__file__).resolve().parent / "sfdx"
CHECKOUT_METADATA_DIR = Path(__file__).resolve().parent.parent / "salesforce"
CDC_CHANNEL = "ChangeEvents"
_PREFIX_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Lengths Salesforce fixes for these types; their metadata carries no <length>.
_IMPLICIT_LENGTH = {FieldType.EMAIL: 80, FieldType.PHONE: 40, FieldType.URL: 255}


def default_metadata_dir() -> Path:
    """The SFDX project to read: the wheel's copy when installed, else the checkout's."""
    if (PACKAGED_METADATA_DIR / "sfdx-project.json").is_file():
        return PACKAGED_METADATA_DIR
    return CHECKOUT_METADATA_DIR


DEFAULT_METADATA_DIR = default_metadata_dir()


@dataclass(frozen=True)
class MetadataBundle:
    """What the metadata adds to the org: new objects, and custom fields on standard ones.

    ``cdc_entities`` names every object (standard or custom) selected on the standard
    ``ChangeEvents`` channel; custom objects in ``objects`` already carry ``cdc_enabled``.
    """

    objects: tuple[ObjectDef, ...]
    standard_object_fields: dict[str, tuple[FieldDef, ...]]
    cdc_entities: frozenset[str] = field(default_factory=frozenset)


def read_metadata(sfdx_root: Path = DEFAULT_METADATA_DIR) -> MetadataBundle:
    """Parse every ``objects/*`` folder below the SFDX project's default package directory."""
    default_dir = sfdx_root / "force-app" / "main" / "default"
    cdc = read_cdc_entities(default_dir / "platformEventChannelMembers")
    objects: list[ObjectDef] = []
    extra: dict[str, tuple[FieldDef, ...]] = {}
    for folder in sorted(p for p in (default_dir / "objects").iterdir() if p.is_dir()):
        fields = tuple(_read_field(f) for f in sorted((folder / "fields").glob("*.field-meta.xml")))
        name = folder.name
        if name.endswith(("__c", "__e")):
            objects.append(_read_object(folder, fields, cdc_enabled=name in cdc))
        else:
            extra[name] = fields
    return MetadataBundle(tuple(objects), extra, cdc)


def read_cdc_entities(members_dir: Path) -> frozenset[str]:
    """Object names whose change events are selected on the standard ``ChangeEvents`` channel."""
    if not members_dir.is_dir():
        return frozenset()
    names: set[str] = set()
    for path in sorted(members_dir.glob("*.platformEventChannelMember-meta.xml")):
        root = _parse(path)
        entity = _text(root, "selectedEntity")
        if _text(root, "eventChannel") == CDC_CHANNEL and entity:
            names.add(change_event_object(entity))
    return frozenset(names)


def change_event_object(entity: str) -> str:
    """``LeadChangeEvent`` -> ``Lead``; ``Foo__ChangeEvent`` -> ``Foo__c``."""
    if entity.endswith("__ChangeEvent"):
        return entity[: -len("__ChangeEvent")] + "__c"
    return entity.removesuffix("ChangeEvent")


def _read_object(folder: Path, fields: tuple[FieldDef, ...], *, cdc_enabled: bool) -> ObjectDef:
    root = _parse(folder / f"{folder.name}.object-meta.xml")
    name = folder.name
    kind = ObjectKind.PLATFORM_EVENT if name.endswith("__e") else ObjectKind.CUSTOM
    prefix = custom_key_prefix(name, "e" if kind is ObjectKind.PLATFORM_EVENT else "a")
    system = _system_fields(name, kind, root)
    return ObjectDef(
        name=name,
        kind=kind,
        key_prefix=prefix,
        fields=system + fields,
        label=_text(root, "label") or name,
        cdc_enabled=cdc_enabled and kind is ObjectKind.CUSTOM,
    )


def _system_fields(name: str, kind: ObjectKind, root: ET.Element) -> tuple[FieldDef, ...]:
    """The fields Salesforce adds to every object of this kind."""
    created = (
        FieldDef("CreatedDate", FieldType.DATETIME, "Created Date", system=True),
        FieldDef("CreatedById", FieldType.LOOKUP, "Created By ID", reference_to="User",
                 relationship_name="CreatedBy", system=True),
    )
    if kind is ObjectKind.PLATFORM_EVENT:
        return created
    name_field = root.find(f"{MD_NS}nameField")
    name_type = _text(name_field, "type") if name_field is not None else "Text"
    return (
        FieldDef("Id", FieldType.ID, "Record ID", system=True),
        FieldDef("Name", FieldType.TEXT, _text(name_field, "label") or "Name", length=80,
                 system=name_type == "AutoNumber"),
        FieldDef("OwnerId", FieldType.LOOKUP, "Owner ID", reference_to="User",
                 relationship_name="Owner"),
        FieldDef("IsDeleted", FieldType.CHECKBOX, "Deleted", system=True, default=False),
        *created,
        FieldDef("LastModifiedDate", FieldType.DATETIME, "Last Modified Date", system=True),
        FieldDef("LastModifiedById", FieldType.LOOKUP, "Last Modified By ID",
                 reference_to="User", relationship_name="LastModifiedBy", system=True),
        FieldDef("SystemModstamp", FieldType.DATETIME, "System Modstamp", system=True),
    )


def _read_field(path: Path) -> FieldDef:
    root = _parse(path)
    name = _text(root, "fullName") or path.name.split(".")[0]
    raw_type = _text(root, "type") or "Text"
    # An AutoNumber is text the org assigns; clients never write it.
    ftype = FieldType.TEXT if raw_type == "AutoNumber" else FieldType(raw_type)
    values = _picklist_values(root)
    is_reference = ftype in (FieldType.LOOKUP, FieldType.MASTER_DETAIL)
    return FieldDef(
        name=name,
        type=ftype,
        label=_text(root, "label") or name,
        length=_int(_text(root, "length")) or _IMPLICIT_LENGTH.get(ftype),
        precision=_int(_text(root, "precision")),
        scale=_int(_text(root, "scale")),
        required=_flag(root, "required"),
        unique=_flag(root, "unique"),
        case_sensitive=_flag(root, "caseSensitive"),
        external_id=_flag(root, "externalId"),
        picklist_values=tuple(v for v, _ in values),
        restricted=root.findtext(f"{MD_NS}valueSet/{MD_NS}restricted") == "true",
        reference_to=_text(root, "referenceTo") if is_reference else None,
        # The relationship a child record traverses (Lead__c -> Lead__r); <relationshipName>
        # in the file is the parent's child-relationship name and is not needed here.
        relationship_name=name.removesuffix("__c") + "__r" if is_reference else None,
        system=raw_type == "AutoNumber",
        default=_default(ftype, _text(root, "defaultValue"), values),
    )


def _picklist_values(root: ET.Element) -> tuple[tuple[str, bool], ...]:
    """``(fullName, is_default)`` for each ``valueSet/valueSetDefinition/value``."""
    path = f"{MD_NS}valueSet/{MD_NS}valueSetDefinition/{MD_NS}value"
    return tuple(
        (full_name, _flag(v, "default"))
        for v in root.findall(path)
        if (full_name := _text(v, "fullName"))
    )


def custom_key_prefix(object_name: str, first: str) -> str:
    """A stable three-character key prefix derived from the object's name.

    Real orgs assign prefixes at creation; deriving them from the name keeps record IDs valid
    when objects are added to the metadata later. Platform events get ``e0?`` (publish results
    show IDs like ``e01xx0000000001AAA``), custom objects ``a??``.
    """
    digest = hashlib.sha256(object_name.lower().encode()).digest()
    if first == "e":
        return "e0" + _PREFIX_ALPHABET[digest[0] % 62]
    return first + _PREFIX_ALPHABET[digest[0] % 62] + _PREFIX_ALPHABET[digest[1] % 62]


def _default(
    ftype: FieldType, raw: str | None, values: tuple[tuple[str, bool], ...] = ()
) -> str | bool | float | None:
    if raw is None:
        # A picklist's default is the value flagged <default>true</default>.
        return next((v for v, is_default in values if is_default), None)
    text = raw.strip()
    if ftype is FieldType.CHECKBOX:
        return text.lower() == "true"
    if ftype in NUMBER_TYPES:
        try:
            return float(text)
        except ValueError:  # a formula default; the emulator does not evaluate those
            return None
    return text.strip('"')


def _parse(path: Path) -> ET.Element:
    # Only our own checked-in SFDX files are parsed here, never input from the network.
    return ET.parse(path).getroot()  # noqa: S314


def _text(el: ET.Element | None, tag: str) -> str | None:
    if el is None:
        return None
    child = el.find(f"{MD_NS}{tag}")
    return child.text.strip() if child is not None and child.text is not None else None


def _flag(el: ET.Element, tag: str) -> bool:
    return _text(el, tag) == "true"


def _int(raw: str | None) -> int | None:
    return int(raw) if raw else None
