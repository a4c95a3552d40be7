"""``query`` and ``queryAll``: run SOQL over the org's records and page the result.

The SOQL engine (:mod:`emulator.soql`) returns plain values; this module adds what the REST
API wraps around them: ``attributes`` on every record and nested parent, Salesforce dateTime
strings, and batches of ``batchSize`` rows linked by ``nextRecordsUrl`` *paths* (simple-
salesforce prefixes them with the instance itself). The batch is Salesforce's 2,000 unless the
client sends ``Sforce-Query-Options: batchSize=N`` (200 to 2,000) or the emulator is configured
smaller for tests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from emulator.catalog import Catalog, ObjectKind
from emulator.org.calls import Call, Reply
from emulator.org.errors import ApiError
from emulator.org.serialize import attributes
from emulator.org.values import to_json
from emulator.soql import Query, SoqlError, execute, parse
from emulator.soql.errors import unsupported_type
from emulator.soql.nodes import FieldRef
from emulator.soql.schema import NAME_OBJECT

MIN_BATCH, MAX_BATCH = 200, 2000
Path = tuple[str, ...]


def run_query(call: Call) -> Reply:
    """GET ``query?q=`` / ``queryAll?q=``, or a locator: ``query/01g…-2000``."""
    resource = call.segments[0]
    if len(call.segments) == 2:
        return _more(call, resource, call.segments[1])
    text = call.args.get("q", "")
    if not text.strip():
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    try:
        records, total = _execute(call, text, include_deleted=resource.lower() == "queryall")
    except SoqlError as exc:
        raise ApiError(400, exc.error_code, exc.message) from exc
    batch = _batch_size(call)
    if len(records) <= batch:
        return Reply(200, {"totalSize": total, "done": True, "records": records})
    cursor_id = call.org.cursors.open(records, batch)
    return _page(call, resource, cursor_id, records, 0, batch)


def query_object(text: str) -> str | None:
    """The FROM object of a query, when it parses (for fault matching); else None."""
    try:
        return parse(text).sobject
    except SoqlError:
        return None


def _execute(call: Call, text: str, include_deleted: bool) -> tuple[list[dict[str, Any]], int]:
    query = parse(text)
    catalog = call.tx.catalog
    obj = catalog.get(query.sobject)
    if obj is not None and obj.kind is ObjectKind.PLATFORM_EVENT:
        raise unsupported_type(query.source, query.sobject_offset, query.sobject)
    augmented, wanted = _with_ids(query)
    rows = call.tx.rows(obj.name) if obj is not None else []
    result = execute(
        augmented, catalog, rows, now=dt.datetime.now(dt.UTC),
        resolve=lambda name, rid: _parent(call, name, rid),
        include_deleted=include_deleted,
    )
    if result.is_count:
        return [], result.total_size
    type_name = obj.name if obj is not None else query.sobject
    shaped = [_shape(catalog, call.version, r, type_name, (), wanted) for r in result.records]
    return shaped, result.total_size


def _parent(call: Call, object_name: str, record_id: str) -> dict[str, Any] | None:
    """A parent record; for a polymorphic relationship (object "Name") the record's Name
    fields and its ``Type``, the object the ID belongs to."""
    if object_name != NAME_OBJECT.name:
        return call.tx.get(object_name, record_id, include_deleted=True)
    obj = call.tx.catalog.by_key_prefix(record_id[:3])
    found = call.tx.get(obj.name, record_id, include_deleted=True) if obj else None
    if obj is None or found is None:
        return None
    names = {f.name: found.get(f.name) for f in NAME_OBJECT.fields}
    return {**names, "Id": record_id, "Type": obj.name, "IsDeleted": found.get("IsDeleted")}


def _with_ids(query: Query) -> tuple[Query, set[Path]]:
    """The query plus the Ids that record URLs need, and the paths the client asked for."""
    wanted = {tuple(p.lower() for p in ref.path) for ref in query.fields}
    if query.count:
        return query, wanted
    extra: list[FieldRef] = []
    seen = set(wanted)
    needed = [((), 0)] + [(ref.path[:k], ref.offset) for ref in query.fields
                          for k in range(1, len(ref.path))]
    for prefix, offset in needed:
        key = (*(p.lower() for p in prefix), "id")
        if key not in seen:
            seen.add(key)
            extra.append(FieldRef((*prefix, "Id"), offset))
    return replace(query, fields=query.fields + tuple(extra)), wanted


def _shape(
    catalog: Catalog, version: str, row: dict[str, Any], type_name: str, path: Path,
    wanted: set[Path],
) -> dict[str, Any]:
    """Add ``attributes`` (recursively), format values, drop Ids the client did not select."""
    out: dict[str, Any] = {"attributes": attributes(version, type_name, row.get("Id"))}
    for key, value in row.items():
        sub = (*path, key.lower())
        if isinstance(value, dict):
            parent = catalog.by_key_prefix(str(value.get("Id", ""))[:3])
            out[key] = _shape(catalog, version, value, parent.name if parent else key, sub, wanted)
        elif key != "Id" or sub in wanted:
            out[key] = to_json(value)
    return out


def _batch_size(call: Call) -> int:
    for part in call.header("Sforce-Query-Options").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "batchsize" and value.strip().isdigit():
            return min(MAX_BATCH, max(MIN_BATCH, int(value)))
    return max(1, call.org.settings.query_batch_size)


def _more(call: Call, resource: str, locator: str) -> Reply:
    cursor_id, _, offset = locator.rpartition("-")
    cursor = call.org.cursors.get(cursor_id) if offset.isdigit() else None
    if cursor is None or int(offset) > len(cursor.records):
        raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return _page(call, resource, cursor_id, cursor.records, int(offset), cursor.batch_size)


def _page(
    call: Call, resource: str, cursor_id: str, records: list[dict[str, Any]], start: int, batch: int
) -> Reply:
    end = min(start + batch, len(records))
    body: dict[str, Any] = {"totalSize": len(records), "done": end >= len(records)}
    if end < len(records):
        body["nextRecordsUrl"] = f"/services/data/v{call.version}/{resource}/{cursor_id}-{end}"
    body["records"] = records[start:end]
    return Reply(200, body)
