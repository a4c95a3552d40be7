"""Records as Salesforce's REST API writes them: ``attributes`` first, then the fields.

Every record (top level, nested parent, collection item) carries
``attributes: {type, url}`` with ``url`` a path under the request's API version; dateTimes use
Salesforce's ``2013-05-20T20:49:32.000+0000`` form (see :mod:`emulator.org.values`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from emulator.catalog import ObjectDef
from emulator.org.values import to_json


def record_url(version: str, object_name: str, record_id: str) -> str:
    return f"/services/data/v{version}/sobjects/{object_name}/{record_id}"


def attributes(version: str, object_name: str, record_id: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": object_name}
    if record_id:
        out["url"] = record_url(version, object_name, record_id)
    return out


def record_json(
    obj: ObjectDef, record: dict[str, Any], version: str, fields: Iterable[str] | None = None
) -> dict[str, Any]:
    """One record; ``fields`` (canonical names) limits and orders the fields, else all of them."""
    names = [f.name for f in obj.fields] if fields is None else list(fields)
    out: dict[str, Any] = {"attributes": attributes(version, obj.name, record.get("Id"))}
    for name in names:
        out[name] = to_json(record.get(name))
    return out


def select_fields(obj: ObjectDef, raw: str | None) -> list[str] | None:
    """Canonical names for ``fields=a,b``; None when absent; an unknown name raises KeyError."""
    if raw is None or not raw.strip():
        return None
    names = []
    for part in raw.split(","):
        field = obj.field(part.strip())
        if field is None:
            raise KeyError(part.strip())
        names.append(field.name)
    return names


def save_result(record_id: str | None, errors: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """``{id, success, errors}``: the result of a create (REST 201 body, Collections item)."""
    listed = list(errors)
    out: dict[str, Any] = {"id": record_id} if record_id else {}
    out.update({"success": not listed or _only_notices(listed), "errors": listed})
    return out


def _only_notices(errors: list[dict[str, Any]]) -> bool:
    """Platform-event results report OPERATION_ENQUEUED in ``errors`` and still succeed."""
    return all(e.get("statusCode") == "OPERATION_ENQUEUED" for e in errors)
