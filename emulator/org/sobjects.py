"""Single-record resources under ``sobjects/``: create, get, update, delete, upsert, describe.

Status codes are Salesforce's and matter to clients: create 201 with ``{id, success,
errors}``; update and delete 204 with no body (urllib3 2.x rejects a body on 204); upsert 201
``created: true`` or, from API 46.0, 200 ``created: false`` (204 before 46.0); 300 when an
external ID matches several records; 404 NOT_FOUND for an unknown object, record or external
ID field.
"""

from __future__ import annotations

from emulator.catalog import ObjectDef, ObjectKind
from emulator.ids import is_valid, to18
from emulator.org import dml, events
from emulator.org.assignment import assigner
from emulator.org.calls import Call, Reply
from emulator.org.describe import describe_object, global_describe, object_summary
from emulator.org.errors import (
    ApiError,
    MultipleMatches,
    no_external_id_field,
    no_such_column,
    not_found,
)
from emulator.org.serialize import record_json, record_url, save_result, select_fields

CREATED_FLAG_SINCE = 46.0


def sobject_object(call: Call, name: str) -> ObjectDef:
    """The object named in the path (case-insensitive), or 404."""
    obj = call.tx.catalog.get(name)
    if obj is None:
        raise not_found()
    return obj


def describe_global(call: Call) -> Reply:
    return Reply(200, global_describe(call.tx.catalog, call.version))


def object_root(call: Call) -> Reply:
    """``sobjects/X``: GET the object's summary, POST a new record (or platform event)."""
    obj = sobject_object(call, call.segments[1])
    if call.method == "GET":
        body = {"objectDescribe": object_summary(obj, call.version), "recentItems": []}
        return Reply(200, body)
    if obj.kind is ObjectKind.PLATFORM_EVENT:
        publish_id, notice = events.publish(call.org, call.tx, obj, call.json())
        return Reply(201, save_result(publish_id, [notice.per_record()]))
    new_id = dml.create(call.org, call.tx, obj, call.json(), assigner(call, obj))
    return Reply(201, save_result(new_id))


def describe(call: Call) -> Reply:
    obj = sobject_object(call, call.segments[1])
    return Reply(200, describe_object(call.tx.catalog, obj, call.version))


def record(call: Call) -> Reply:
    """``sobjects/X/{id}``: GET, PATCH (204) or DELETE (204) one record."""
    obj = sobject_object(call, call.segments[1])
    record_id = _record_id(obj, call.segments[2])
    current = call.tx.get(obj.name, record_id, include_deleted=True)
    if current is None or obj.kind is ObjectKind.PLATFORM_EVENT:
        raise not_found()
    if current.get("IsDeleted"):
        raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
    if call.method == "GET":
        return Reply(200, record_json(obj, current, call.version, _fields(call, obj)))
    if call.method == "PATCH":
        dml.update(call.org, call.tx, obj, record_id, call.json())
    else:
        dml.delete(call.org, call.tx, obj, record_id)
    return Reply(204)


def by_external_id(call: Call) -> Reply:
    """``sobjects/X/{Field}/{value}``: GET, upsert (PATCH) or DELETE by external ID."""
    obj = sobject_object(call, call.segments[1])
    field = dml.external_id_field(obj, call.segments[2])
    value = call.segments[3]
    if call.method == "PATCH":
        return _upsert(call, obj, field.name, value)
    matches = dml.match_external_id(call.tx, obj, field.name, value)
    if not matches:
        raise not_found()
    if len(matches) > 1:
        raise MultipleMatches(obj.name, field.name, matches)
    if call.method == "DELETE":
        dml.delete(call.org, call.tx, obj, matches[0])
        return Reply(204)
    found = call.tx.get(obj.name, matches[0])
    assert found is not None
    return Reply(200, record_json(obj, found, call.version, _fields(call, obj)))


def multiple_matches_reply(call: Call, exc: MultipleMatches) -> Reply:
    """300 Multiple Choices: the URLs of the matching records."""
    return Reply(300, [record_url(call.version, exc.object_name, rid) for rid in exc.record_ids])


def _upsert(call: Call, obj: ObjectDef, field_name: str, value: str) -> Reply:
    body = call.json()
    for key in ("Id", field_name):  # "Don't specify Id or an external ID field in the body"
        if isinstance(body, dict) and any(str(k).lower() == key.lower() for k in body):
            raise key_in_body(key)
    update_only = call.args.get("updateOnly", "").strip().lower() == "true"
    record_id, created = dml.upsert(call.org, call.tx, obj, field_name, value, body, update_only,
                                    assigner(call, obj))
    modern = float(call.version) >= CREATED_FLAG_SINCE
    if created:
        body = save_result(record_id)
        return Reply(201, {**body, "created": True} if modern else body)
    if not modern:
        return Reply(204)
    return Reply(200, {**save_result(record_id), "created": False})


def key_in_body(field_name: str) -> ApiError:
    """The docs' "don't specify Id or an external ID field in the request body or an error is
    generated"; the code and wording are the emulator's guess (Salesforce's are undocumented)."""
    if field_name == "Id":
        return ApiError(400, "INVALID_FIELD", "The Id field should not be specified in the "
                        "sobject data of an upsert by external ID")
    return ApiError(400, "INVALID_FIELD",
                    f"The external ID field {field_name} cannot be specified in the body when it "
                    "is used in the URL of an upsert")


def _record_id(obj: ObjectDef, segment: str) -> str:
    """An ID of this object; any other segment is taken for an (unknown) external ID field."""
    if is_valid(segment) and segment[:3] == obj.key_prefix:
        return to18(segment)
    raise no_external_id_field(segment)


def _fields(call: Call, obj: ObjectDef) -> list[str] | None:
    try:
        return select_fields(obj, call.args.get("fields"))
    except KeyError as exc:
        raise no_such_column(obj, str(exc.args[0])) from exc
