"""Client writes with Salesforce's rules: create, update, upsert by external ID, delete.

Each function works inside a caller's :class:`~emulator.org.records.RecordTransaction`, so REST,
Collections, Composite and SOAP share one set of rules and one transaction model. Failures:

* :class:`ApiError` — the body could not be read as records (unknown field, wrong JSON type,
  not an external ID field): the whole request fails;
* :class:`DmlError` — this record broke a rule; callers decide whether others go on;
* :class:`MultipleMatches` — an upsert's external ID matched several records.

Injected record faults (``UNABLE_TO_LOCK_ROW`` …) are applied here, per operation and object.
"""

from __future__ import annotations

from typing import Any

from emulator.catalog import FieldDef, FieldType, ObjectDef
from emulator.ids import is_valid, to18
from emulator.org.assignment import Assign
from emulator.org.errors import (
    DmlError,
    ErrorItem,
    MultipleMatches,
    json_parser_error,
    no_external_id_field,
    not_found,
)
from emulator.org.records import RecordTransaction
from emulator.org.runtime import Org
from emulator.org.validation import field_errors, missing_required, parse_body, unwritable
from emulator.soql.schema import reference_targets

CONVERTED = ErrorItem("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", ())


def create(org: Org, tx: RecordTransaction, obj: ObjectDef, body: Any,
           assign: Assign | None = None) -> str:
    """Insert one record from a client body; returns the new ID. ``assign``: the assignment
    rule the call's ``Sforce-Auto-Assign`` header selected (its owner wins over the body's)."""
    values = parse_body(obj, body)
    _fault(org, "insert", obj)
    if "Id" in values:
        raise DmlError.one("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call",
                           ["Id"])
    _checkboxes(obj, values)
    errors = _rule_errors(tx, obj, values)
    defaults = {f.name: f.default for f in obj.fields if f.default is not None}
    missing = missing_required(obj, {**defaults, **values})
    errors += [missing] if missing else []
    errors += _lead_with_what(tx, obj, values)
    if errors:
        raise DmlError(errors)
    _check_unique(tx, obj, values, None)
    owner = assign(values) if assign is not None else None
    return tx.insert(obj.name, {**values, "OwnerId": owner} if owner else values)


def update(org: Org, tx: RecordTransaction, obj: ObjectDef, record_id: str, body: Any) -> None:
    """Apply a client body to an existing record."""
    values = parse_body(obj, body)
    if "Id" in values and to18(str(values.pop("Id"))) != record_id:
        raise DmlError.one("INVALID_ID_FIELD",
                           "The Id field should not be specified in the sobject data.", ["Id"])
    before = live_record(tx, obj, record_id)
    _fault(org, "update", obj, record_id)
    if obj.name == "Lead" and before.get("IsConverted"):
        raise DmlError([CONVERTED])
    _checkboxes(obj, values)
    errors = _rule_errors(tx, obj, values)
    missing = missing_required(obj, {**before, **values})
    errors += [missing] if missing else []
    errors += _lead_with_what(tx, obj, {**before, **values})
    if errors:
        raise DmlError(errors)
    _check_unique(tx, obj, values, record_id)
    tx.update(obj.name, record_id, values)


def upsert(
    org: Org, tx: RecordTransaction, obj: ObjectDef, field_name: str, value: Any, body: Any,
    update_only: bool = False, assign: Assign | None = None,
) -> tuple[str, bool]:
    """Update the record whose external ID is ``value``, or create it; returns (id, created).

    ``update_only`` (REST ``?updateOnly=true``) never creates: no match is 404 NOT_FOUND.
    ``assign``: as for :func:`create`, applied when the upsert creates (SOAP
    AssignmentRuleHeader lists upsert() among its calls; REST Sforce-Auto-Assign applies to
    created records). Assignment on update is not modelled (README).
    """
    field = external_id_field(obj, field_name)
    key = None if value is None else str(value).strip()
    if not key:
        raise DmlError.one("MISSING_ARGUMENT", f"{field.name} not specified", [field.name])
    rest = _without(body, field)
    matches = match_external_id(tx, obj, field.name, key)
    if len(matches) > 1:
        raise MultipleMatches(obj.name, field.name, matches)
    if matches:
        update(org, tx, obj, matches[0], rest)
        return matches[0], False
    if update_only:
        raise not_found()
    if field.name == "Id":
        raise DmlError.one("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
    return create(org, tx, obj, {**rest, field.name: key}, assign), True


def _without(body: Any, field: FieldDef) -> dict[str, Any]:
    """The body minus the key field (tolerated in the body; the URL's value wins)."""
    if not isinstance(body, dict):
        raise json_parser_error("Cannot deserialize the request body as a record")
    return {k: v for k, v in body.items() if str(k).lower() != field.name.lower()}


def delete(org: Org, tx: RecordTransaction, obj: ObjectDef, record_id: str) -> None:
    """Move a record to the recycle bin."""
    live_record(tx, obj, record_id)
    _fault(org, "delete", obj, record_id)
    tx.delete(obj.name, record_id)


def external_id_field(obj: ObjectDef, field_name: str) -> FieldDef:
    """The field an upsert or get-by-ID may key on: an external ID field, or Id."""
    field = obj.field(field_name)
    if field is None or not (field.external_id or field.name == "Id"):
        raise no_external_id_field(field_name)
    return field


def match_external_id(
    tx: RecordTransaction, obj: ObjectDef, field_name: str, key: str
) -> list[str]:
    """IDs of live records whose ``field_name`` equals ``key`` (case-insensitively for text)."""
    if field_name == "Id":
        found = tx.get(obj.name, to18(key)) if is_valid(key) else None
        return [to18(key)] if found else []
    return [str(r["Id"]) for r in tx.find(obj.name, field_name, key)]


def live_record(tx: RecordTransaction, obj: ObjectDef, record_id: str) -> dict[str, Any]:
    """The record, or the DmlError Salesforce gives for a deleted or unknown one."""
    record = tx.get(obj.name, record_id, include_deleted=True)
    if record is None:
        raise DmlError.one("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
    if record.get("IsDeleted"):
        raise DmlError.one("ENTITY_IS_DELETED", "entity is deleted", [])
    return record


def malformed_id(obj: ObjectDef, record_id: str) -> ErrorItem:
    """MALFORMED_ID for an ID that is not one of ``obj``'s (Collections' wording)."""
    label = obj.label or obj.name
    message = f"{label} ID: id value of incorrect type: {record_id}"
    return ErrorItem("MALFORMED_ID", message, ("Id",))


def _fault(org: Org, operation: str, obj: ObjectDef, record_id: str | None = None) -> None:
    error = org.faults.record_fault(operation, obj.name, record_id)
    if error is not None:
        raise DmlError([error])


def _checkboxes(obj: ObjectDef, values: dict[str, Any]) -> None:
    """A checkbox set to null is false; Salesforce checkboxes are never null."""
    for name, value in values.items():
        field = obj.field(name)
        if value is None and field is not None and field.type is FieldType.CHECKBOX:
            values[name] = False


def _rule_errors(tx: RecordTransaction, obj: ObjectDef, values: dict[str, Any]) -> list[ErrorItem]:
    blocked = unwritable(obj, values)
    if blocked is not None:
        return [blocked]
    errors = field_errors(obj, values)
    errors += _reference_errors(tx, obj, values)
    return errors


def _reference_errors(
    tx: RecordTransaction, obj: ObjectDef, values: dict[str, Any]
) -> list[ErrorItem]:
    """Lookups must name an existing, live record of the right object; stored as 18 characters."""
    errors: list[ErrorItem] = []
    for name, value in values.items():
        field = obj.field(name)
        if field is None or not field.is_reference or value is None:
            continue
        targets = reference_targets(tx.catalog, field)
        target = next((t for t in targets if t.key_prefix == str(value)[:3]), None)
        label, where = field.label or field.name, (field.name,)
        if not targets or not is_valid(str(value)):
            errors.append(ErrorItem("MALFORMED_ID", f"{label}: id value of incorrect type: {value}",
                                    where))
        elif target is None:
            errors.append(ErrorItem("FIELD_INTEGRITY_EXCEPTION",
                                    f"{label}: id value of incorrect type: {value}", where))
        else:
            values[name] = to18(str(value))
            errors += _target_errors(tx, target, values[name], where)
    return errors


def _lead_with_what(
    tx: RecordTransaction, obj: ObjectDef, record: dict[str, Any]
) -> list[ErrorItem]:
    """Object Reference, Task: "If the WhoId refers to a lead, then the WhatId field must be
    empty." The error's code and text are the emulator's guess."""
    lead = tx.catalog.get("Lead")
    who, what = record.get("WhoId"), record.get("WhatId")
    if obj.name not in ("Task", "Event") or lead is None or not who or not what:
        return []
    if str(who)[:3] != lead.key_prefix:
        return []
    return [ErrorItem("FIELD_INTEGRITY_EXCEPTION",
                      "Related To ID: a task whose Name ID is a lead can't be related to another "
                      "record", ("WhatId",))]


def _target_errors(
    tx: RecordTransaction, target: ObjectDef, ref: str, where: tuple[str, ...]
) -> list[ErrorItem]:
    record = tx.get(target.name, ref, include_deleted=True)
    if record is None:
        return [ErrorItem("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", where)]
    if record.get("IsDeleted"):
        return [ErrorItem("ENTITY_IS_DELETED", "entity is deleted", where)]
    return []


def _check_unique(
    tx: RecordTransaction, obj: ObjectDef, values: dict[str, Any], self_id: str | None
) -> None:
    """DUPLICATE_VALUE when a unique field's value is already used by another live record."""
    for name, value in values.items():
        field = obj.field(name)
        if field is None or not field.unique or value is None:
            continue
        others = [r["Id"] for r in tx.find(obj.name, field.name, value) if r["Id"] != self_id]
        if others:
            raise DmlError([_duplicate(tx, obj, field.name, others[0])])


def _duplicate(tx: RecordTransaction, obj: ObjectDef, field_name: str, other: str) -> ErrorItem:
    """DUPLICATE_VALUE; when the other record is new in this same request Salesforce cannot
    name it: "duplicate value found: <unknown> duplicates value on record with id: <unknown>"
    (salesforcedictionary.com/errors/duplicate-value-found; Internet Creations KB)."""
    if other not in tx.store.committed(obj.name):
        field_name = other = "<unknown>"
    return ErrorItem("DUPLICATE_VALUE",
                     f"duplicate value found: {field_name} duplicates value on record with id: "
                     f"{other}", ())
