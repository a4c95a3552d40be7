"""Describe results: the global ``sobjects`` list, ``sobjects/X`` and ``sobjects/X/describe``.

Generated from the catalog, so clients that discover fields at run time (field lists for
queries, picklist values, which fields are createable) see exactly what the emulator enforces.
"""

from __future__ import annotations

from typing import Any

from emulator.catalog import NUMBER_TYPES, Catalog, FieldDef, FieldType, ObjectDef, ObjectKind
from emulator.org.validation import is_restricted
from emulator.soql.schema import parent_object, reference_targets

_VALUE_DEFAULTS = NUMBER_TYPES | {FieldType.CHECKBOX}
_TYPES: dict[FieldType, tuple[str, str]] = {
    FieldType.ID: ("id", "tns:ID"),
    FieldType.TEXT: ("string", "xsd:string"),
    FieldType.TEXT_AREA: ("textarea", "xsd:string"),
    FieldType.LONG_TEXT_AREA: ("textarea", "xsd:string"),
    FieldType.EMAIL: ("email", "xsd:string"),
    FieldType.PHONE: ("phone", "xsd:string"),
    FieldType.URL: ("url", "xsd:string"),
    FieldType.PICKLIST: ("picklist", "xsd:string"),
    FieldType.NUMBER: ("double", "xsd:double"),
    FieldType.CURRENCY: ("currency", "xsd:double"),
    FieldType.PERCENT: ("percent", "xsd:double"),
    FieldType.CHECKBOX: ("boolean", "xsd:boolean"),
    FieldType.DATE: ("date", "xsd:date"),
    FieldType.DATETIME: ("datetime", "xsd:dateTime"),
    FieldType.LOOKUP: ("reference", "tns:ID"),
    FieldType.MASTER_DETAIL: ("reference", "tns:ID"),
}


def global_describe(catalog: Catalog, version: str) -> dict[str, Any]:
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [object_summary(o, version) for o in sorted(catalog, key=lambda o: o.name)],
    }


def object_summary(obj: ObjectDef, version: str) -> dict[str, Any]:
    """The per-object entry of the global describe (and ``objectDescribe`` of ``sobjects/X``)."""
    event = obj.kind is ObjectKind.PLATFORM_EVENT
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    urls = {"sobject": base, "describe": f"{base}/describe"}
    if not event:
        urls["rowTemplate"] = f"{base}/{{ID}}"
    return {
        "name": obj.name,
        "label": obj.label or obj.name,
        "labelPlural": obj.label or obj.name,
        "keyPrefix": obj.key_prefix,
        "custom": obj.kind is not ObjectKind.STANDARD,
        "createable": True,
        "updateable": not event,
        "deletable": not event,
        "queryable": not event,
        "retrieveable": not event,
        "searchable": not event,
        "triggerable": True,
        "layoutable": not event,
        "urls": urls,
    }


def describe_object(catalog: Catalog, obj: ObjectDef, version: str) -> dict[str, Any]:
    out = object_summary(obj, version)
    out["fields"] = [describe_field(obj, f, catalog) for f in obj.fields]
    out["childRelationships"] = _children(catalog, obj)
    out["recordTypeInfos"] = []
    return out


def describe_field(obj: ObjectDef, field: FieldDef, catalog: Catalog) -> dict[str, Any]:
    kind, soap = _TYPES[field.type]
    writable = not field.system
    targets = sorted(t.name for t in reference_targets(catalog, field) if field.is_reference)
    return {
        "name": field.name,
        "label": field.label or field.name,
        "type": kind,
        "soapType": soap,
        "length": field.length or (18 if kind in ("id", "reference") else 0),
        "precision": field.precision or 0,
        "scale": field.scale or 0,
        "digits": 0,
        "nillable": not field.required and field.type is not FieldType.CHECKBOX and writable,
        "createable": writable,
        "updateable": writable,
        "defaultedOnCreate": field.default is not None or field.name in ("OwnerId", "Id"),
        "unique": field.unique,
        "caseSensitive": field.case_sensitive,
        "externalId": field.external_id,
        "idLookup": field.external_id or field.name == "Id" or field.type is FieldType.EMAIL,
        "custom": field.name.endswith("__c"),
        "calculated": False,
        "filterable": field.type is not FieldType.LONG_TEXT_AREA,
        "sortable": field.type is not FieldType.LONG_TEXT_AREA,
        "restrictedPicklist": field.type is FieldType.PICKLIST and is_restricted(obj, field),
        "picklistValues": [_picklist_entry(field, v) for v in field.picklist_values],
        "referenceTo": targets,
        "polymorphicForeignKey": len(targets) > 1,
        "relationshipName": field.relationship_name,
        "defaultValue": field.default if field.type in _VALUE_DEFAULTS else None,
    }


def _picklist_entry(field: FieldDef, value: str) -> dict[str, Any]:
    return {"active": True, "defaultValue": value == field.default, "label": value,
            "validFor": None, "value": value}


def _children(catalog: Catalog, obj: ObjectDef) -> list[dict[str, Any]]:
    """Lookups from other objects to ``obj`` (name and field only; no child relationship names)."""
    out = []
    for other in catalog:
        for field in other.fields:
            if field.is_reference and parent_object(field) == obj.name and not field.system:
                out.append({"childSObject": other.name, "field": field.name,
                            "relationshipName": None, "cascadeDelete": False})
    return out
