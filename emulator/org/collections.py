"""sObject Collections: ``composite/sobjects`` create, update, upsert, retrieve and delete.

A well-formed request answers 200 with one result per record, in input order, even when some
records fail; per-record errors use ``statusCode`` (not ``errorCode``). With ``allOrNone``
every record is still checked, then everything rolls back and the records that would have
succeeded report ALL_OR_NONE_OPERATION_ROLLED_BACK. A body that cannot be read as records
(unknown field, wrong JSON type, more than 200 records) fails the whole request with 400. The
whole request is one API call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from emulator.catalog import ObjectDef, ObjectKind
from emulator.ids import is_valid, to18
from emulator.org import dml, events
from emulator.org.api_limits import (
    COLLECTIONS_MAX_RECORDS,
    COLLECTIONS_MAX_RETRIEVE,
    COLLECTIONS_MAX_TYPE_CHUNKS,
)
from emulator.org.assignment import assigner
from emulator.org.calls import Call, Reply
from emulator.org.errors import ApiError, DmlError, ErrorItem, MultipleMatches, no_such_column
from emulator.org.serialize import record_json, save_result
from emulator.org.sobjects import sobject_object

MAX_RECORDS = COLLECTIONS_MAX_RECORDS
MAX_RETRIEVE = COLLECTIONS_MAX_RETRIEVE
ROLLED_BACK = ErrorItem(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
    (),
)
Result = dict[str, Any]


def create(call: Call) -> Reply:
    records, all_or_none = _records(call)
    _check_chunks(records)
    return _each(call, records, all_or_none, lambda r: _create_one(call, r), keep_id=False)


def update(call: Call) -> Reply:
    records, all_or_none = _records(call)
    _check_chunks(records)
    ids = Counter(_raw_id(r) for r in records)
    return _each(call, records, all_or_none, lambda r: _update_one(call, r, ids))


def upsert(call: Call) -> Reply:
    obj = sobject_object(call, call.segments[2])
    if call.segments[3].lower() == "id":
        # Collections upsert page: "Only external ids are supported. Don't use record ids."
        raise ApiError(400, "INVALID_FIELD",
                       "Only external ids are supported in an sObject Collections upsert; "
                       "Id cannot be the key field")
    field = dml.external_id_field(obj, call.segments[3])
    records, all_or_none = _records(call)
    _check_types(call, obj, records)
    keys = Counter(str(r.get(_key(r, field.name)) or "").casefold() for r in records)
    return _each(call, records, all_or_none, lambda r: _upsert_one(call, obj, field.name, r, keys))


def delete(call: Call) -> Reply:
    ids = [i.strip() for i in call.args.get("ids", "").split(",") if i.strip()]
    if len(ids) > MAX_RECORDS:
        raise _too_many()
    all_or_none = call.all_or_none or call.args.get("allOrNone", "false").lower() == "true"
    return _each(call, ids, all_or_none, lambda i: _delete_one(call, i))


def retrieve(call: Call) -> Reply:
    """GET ``?ids=&fields=`` or POST ``{ids, fields}``: records in order, null when not found."""
    obj = sobject_object(call, call.segments[2])
    if call.method == "POST":
        body = call.json() or {}
        ids, fields = list(body.get("ids") or []), list(body.get("fields") or [])
    else:
        ids = [i for i in call.args.get("ids", "").split(",") if i]
        fields = [f for f in call.args.get("fields", "").split(",") if f]
    if not fields:
        raise ApiError(400, "MISSING_ARGUMENT", "The fields parameter is required")
    if len(ids) > MAX_RETRIEVE:
        raise _too_many()
    names = [_field_name(obj, f) for f in fields]
    out: list[Result | None] = []
    for record_id in ids:
        found = call.tx.get(obj.name, to18(record_id)) if _is_id_of(obj, record_id) else None
        out.append(record_json(obj, found, call.version, names) if found else None)
    return Reply(200, out)


def _each(
    call: Call, items: list[Any], all_or_none: bool, one: Callable[[Any], Result],
    keep_id: bool = True,
) -> Reply:
    """Run ``one`` per item with a savepoint each; apply allOrNone at the end.

    Rolled-back results keep the ID of records that existed before (update, delete, upsert
    of an existing record) and lose the ID of records that were never really created.
    """
    start = call.tx.savepoint()
    results: list[Result] = []
    for item in items:
        mark = call.tx.savepoint()
        try:
            results.append(one(item))
        except DmlError as exc:
            call.tx.rollback_to(mark)
            results.append(_failure(item, exc.errors))
    if all_or_none and not all(r["success"] for r in results):
        call.tx.rollback_to(start)
        results = [_rolled_back(r, keep_id) if r["success"] else r for r in results]
    return Reply(200, results)


def _create_one(call: Call, record: dict[str, Any]) -> Result:
    obj = sobject_object(call, _type_of(record))
    body = _fields_only(record)
    if obj.kind is ObjectKind.PLATFORM_EVENT:
        publish_id, notice = events.publish(call.org, call.tx, obj, body)
        return save_result(publish_id, [notice.per_record()])
    return save_result(dml.create(call.org, call.tx, obj, body, assigner(call, obj)))


def _update_one(call: Call, record: dict[str, Any], ids: Counter[str]) -> Result:
    obj = sobject_object(call, _type_of(record))
    raw_id = str(record.get(_key(record, "Id")) or "")
    if not raw_id:
        raise DmlError.one("MISSING_ARGUMENT", "Id not specified in an update call", [])
    if not _is_id_of(obj, raw_id):
        raise DmlError([dml.malformed_id(obj, raw_id)])
    if ids[_raw_id(record)] > 1:
        # Help 000384876: the same Id twice in one batch fails "Duplicate id specified: <id>".
        raise DmlError.one("DUPLICATE_VALUE", f"Duplicate id specified: {to18(raw_id)}", [])
    dml.update(call.org, call.tx, obj, to18(raw_id), _fields_only(record, drop=("id",)))
    return save_result(to18(raw_id))


def _upsert_one(
    call: Call, obj: ObjectDef, field: str, record: dict[str, Any], keys: Counter[str]
) -> Result:
    _type_of(record)
    value = record.get(_key(record, field))
    if value is not None and keys[str(value).casefold()] > 1:
        # salesforce.stackexchange.com/questions/104048: one key twice in one upsert fails every
        # record holding it with "DUPLICATE_VALUE, Duplicate external id specified: ABC123: [Name]".
        raise DmlError.one("DUPLICATE_VALUE", f"Duplicate external id specified: {value}",
                           [field])
    try:
        record_id, created = dml.upsert(call.org, call.tx, obj, field, value, _fields_only(record),
                                        assign=assigner(call, obj))
    except MultipleMatches as exc:
        found = ", ".join(exc.record_ids)
        raise DmlError.one("DUPLICATE_EXTERNAL_ID",
                           f"{field}: more than one record found for external id field: [{found}]",
                           [field]) from exc
    return {**save_result(record_id), "created": created}


def _delete_one(call: Call, raw_id: str) -> Result:
    obj = call.tx.catalog.by_key_prefix(raw_id[:3]) if is_valid(raw_id) else None
    if obj is None:
        raise DmlError.one("MALFORMED_ID", f"malformed id {raw_id}", [])
    dml.delete(call.org, call.tx, obj, to18(raw_id))
    return save_result(to18(raw_id))


def _records(call: Call) -> tuple[list[dict[str, Any]], bool]:
    """The records and the effective ``allOrNone`` (a Composite's ``true`` overrides)."""
    body = call.json()
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise ApiError(400, "JSON_PARSER_ERROR",
                       "The request body must be an object with a records array")
    records = body["records"]
    if len(records) > MAX_RECORDS:
        raise _too_many()
    if not all(isinstance(r, dict) for r in records):
        raise ApiError(400, "JSON_PARSER_ERROR", "Each record must be a JSON object")
    return records, call.all_or_none or bool(body.get("allOrNone", False))


def _raw_id(record: dict[str, Any]) -> str:
    raw = str(record.get(_key(record, "Id")) or "")
    return to18(raw) if is_valid(raw) else raw


def _check_chunks(records: list[dict[str, Any]]) -> None:
    """Mixed types are processed in chunks, one per change of type, at most 10 (Collections
    create and update pages: "A single request can process up to 10 chunks"; an upsert holds
    one type, and the delete page states no such limit). The error text is Apex's for the same
    limit, the code a guess."""
    types = [str((r.get("attributes") or {}).get("type", "")).lower() for r in records]
    chunks = sum(1 for i, t in enumerate(types) if i == 0 or t != types[i - 1])
    if chunks > COLLECTIONS_MAX_TYPE_CHUNKS:
        raise ApiError(400, "INVALID_OPERATION",
                       "Cannot have more than 10 chunks in a single operation. Please rearrange "
                       "the data to reduce chunking.")


def _check_types(call: Call, obj: ObjectDef, records: list[dict[str, Any]]) -> None:
    """Collections upsert page: "The list can contain objects only of the type indicated in the
    request URI." The whole request is refused (400); code and text are the emulator's."""
    for record in records:
        named = call.tx.catalog.get(_type_of(record))
        if named is None or named.name != obj.name:
            raise ApiError(400, "INVALID_TYPE",
                           f"Records in this request must be of type {obj.name}, "
                           f"not {_type_of(record)}")


def _type_of(record: dict[str, Any]) -> str:
    attrs = record.get("attributes")
    type_name = attrs.get("type") if isinstance(attrs, dict) else None
    if not type_name:
        raise ApiError(400, "INVALID_TYPE", "Must send a concrete entity type.")
    return str(type_name)


def _fields_only(record: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "attributes" and k.lower() not in drop}


def _key(record: dict[str, Any], name: str) -> str:
    """The record's own spelling of field ``name`` (keys are case-insensitive)."""
    return next((k for k in record if k.lower() == name.lower()), name)


def _is_id_of(obj: ObjectDef, raw_id: str) -> bool:
    return is_valid(raw_id) and raw_id[:3] == obj.key_prefix


def _field_name(obj: ObjectDef, name: str) -> str:
    field = obj.field(name.strip())
    if field is None:
        raise no_such_column(obj, name)
    return field.name


def _failure(item: Any, errors: list[ErrorItem]) -> Result:
    known_id = item if isinstance(item, str) else None
    if isinstance(item, dict):
        raw = item.get(_key(item, "Id"))
        known_id = to18(str(raw)) if raw and is_valid(str(raw)) else None
    return save_result(known_id, [e.per_record() for e in errors]) | {"success": False}


def _rolled_back(result: Result, keep_id: bool) -> Result:
    existed = keep_id and "id" in result and not result.get("created")
    out: Result = {"id": result["id"]} if existed else {}
    return out | {"success": False, "errors": [ROLLED_BACK.per_record()]}


def _too_many() -> ApiError:
    return ApiError(400, "EXCEEDED_ID_LIMIT",
                    "record limit reached. cannot submit more than 200 records into this call")
