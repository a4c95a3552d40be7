"""The emulator's schema: which objects exist, their fields and the rules on them.

Everything the emulator knows about an object (REST validation, SOQL, Avro schemas for the
Pub/Sub topics, CDC bitmaps) is derived from one :class:`Catalog`. Custom objects and platform
events are read from our own SFDX metadata (``salesforce/``) by :mod:`emulator.metadata`;
standard objects come from :mod:`emulator.standard_objects`. Field order matters: it is the
order of the Avro record fields, and so of the bits in CDC ``changedFields`` bitmaps.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field


class FieldType(enum.StrEnum):
    """Salesforce field types the emulator models (Metadata API ``<type>`` values)."""

    ID = "Id"
    TEXT = "Text"
    TEXT_AREA = "TextArea"
    LONG_TEXT_AREA = "LongTextArea"
    EMAIL = "Email"
    PHONE = "Phone"
    URL = "Url"
    PICKLIST = "Picklist"
    NUMBER = "Number"
    CURRENCY = "Currency"
    PERCENT = "Percent"
    CHECKBOX = "Checkbox"
    DATE = "Date"
    DATETIME = "DateTime"
    LOOKUP = "Lookup"
    MASTER_DETAIL = "MasterDetail"


STRING_TYPES = frozenset(
    {
        FieldType.ID,
        FieldType.TEXT,
        FieldType.TEXT_AREA,
        FieldType.LONG_TEXT_AREA,
        FieldType.EMAIL,
        FieldType.PHONE,
        FieldType.URL,
        FieldType.PICKLIST,
        FieldType.LOOKUP,
        FieldType.MASTER_DETAIL,
    }
)
NUMBER_TYPES = frozenset({FieldType.NUMBER, FieldType.CURRENCY, FieldType.PERCENT})
REFERENCE_TYPES = frozenset({FieldType.LOOKUP, FieldType.MASTER_DETAIL})


class ObjectKind(enum.StrEnum):
    """What an object is, which decides its topic and its API behaviour."""

    STANDARD = "standard"
    CUSTOM = "custom"
    PLATFORM_EVENT = "platform_event"


@dataclass(frozen=True)
class FieldDef:
    """One field as Salesforce describes it.

    ``compound`` names the compound field a component belongs to (``Name`` for ``FirstName``,
    ``Address`` for ``Street``): change events group components into one nested record.
    ``system`` fields (Id, CreatedDate, IsConverted...) are set by the org, never by clients.
    ``derived`` fields are computed from others (a Lead's or Contact's ``Name`` from FirstName
    and LastName); change events leave them out, carrying the components instead.
    """

    name: str
    type: FieldType
    label: str = ""
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    required: bool = False
    unique: bool = False
    case_sensitive: bool = False
    external_id: bool = False
    picklist_values: tuple[str, ...] = ()
    # A restricted picklist refuses values outside ``picklist_values``; Salesforce's standard
    # value sets are unrestricted, custom ones say so in ``valueSet/restricted``.
    restricted: bool = False
    reference_to: str | None = None
    # A polymorphic lookup's targets (Task.WhoId: Lead, Contact); "*custom" stands for every
    # custom object. ``reference_to`` stays the first target.
    polymorphic: tuple[str, ...] = ()
    relationship_name: str | None = None
    compound: str | None = None
    system: bool = False
    default: str | bool | float | None = None
    derived: bool = False

    @property
    def is_reference(self) -> bool:
        return self.type in REFERENCE_TYPES

    @property
    def is_integer(self) -> bool:
        """A whole-number field (Number with scale 0): its values are JSON integers."""
        return self.type is FieldType.NUMBER and self.scale == 0


@dataclass(frozen=True)
class ObjectDef:
    """One sObject: its API name, kind, three-character key prefix and ordered fields."""

    name: str
    kind: ObjectKind
    key_prefix: str
    fields: tuple[FieldDef, ...]
    label: str = ""
    cdc_enabled: bool = False
    _by_lower: dict[str, FieldDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_lower", {f.name.lower(): f for f in self.fields})

    def field(self, name: str) -> FieldDef | None:
        """The field called ``name``, matched case-insensitively as Salesforce does."""
        return self._by_lower.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field whose relationship name is ``name`` (``Account`` for AccountId)."""
        lower = name.lower()
        for f in self.fields:
            if f.relationship_name and f.relationship_name.lower() == lower:
                return f
        return None

    @property
    def topic(self) -> str | None:
        """The Pub/Sub topic this object publishes to, if any."""
        if self.kind is ObjectKind.PLATFORM_EVENT:
            return f"/event/{self.name}"
        if self.cdc_enabled:
            return f"/data/{change_event_name(self.name)}"
        return None


def change_event_name(object_name: str) -> str:
    """The change event entity name: ``LeadChangeEvent``, ``Foo__ChangeEvent`` for ``Foo__c``."""
    if object_name.endswith("__c"):
        return object_name[:-3] + "__ChangeEvent"
    return object_name + "ChangeEvent"


class Catalog:
    """All objects of the emulated org, looked up case-insensitively."""

    def __init__(self, objects: list[ObjectDef]) -> None:
        self._objects = {o.name.lower(): o for o in objects}
        self._by_prefix = {o.key_prefix: o for o in objects}

    def get(self, name: str) -> ObjectDef | None:
        return self._objects.get(name.lower())

    def by_key_prefix(self, prefix: str) -> ObjectDef | None:
        return self._by_prefix.get(prefix)

    def __iter__(self) -> Iterator[ObjectDef]:
        return iter(self._objects.values())

    def topics(self) -> dict[str, ObjectDef]:
        """Every Pub/Sub topic the org serves, mapped to the object behind it."""
        return {o.topic: o for o in self._objects.values() if o.topic}
