"""Data replication: ``sobjects/X/deleted`` (Get Deleted) and ``sobjects/X/updated`` (Get Updated).

``GET …/deleted/?start=…&end=…`` answers ``{deletedRecords: [{id, deletedDate}],
earliestDateAvailable, latestDateCovered}``; ``…/updated/`` answers ``{ids, latestDateCovered}``
(REST API guide, resources_getdeleted / resources_getupdated). As in the SOAP calls' rules:

* seconds are ignored (``12:30:15`` is ``12:30:00``), and ``start`` must come before ``end``,
  else 400 INVALID_REPLICATION_DATE; Get Updated looks back at most 30 days;
* a record's change date is its ``SystemModstamp`` (``LastModifiedDate`` without one);
* ``latestDateCovered`` is ``end``, or now when ``end`` is still to come: the next call should
  start there. Nothing is purged here, so ``earliestDateAvailable`` is simply the start of the
  15 days Get Deleted covers.

A missing or unreadable ``start``/``end`` is 400 (MISSING_ARGUMENT / INVALID_REPLICATION_DATE):
the codes are the emulator's choice, the documentation does not give them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from emulator.catalog import ObjectKind
from emulator.org.calls import Call, Reply
from emulator.org.errors import ApiError, not_found
from emulator.org.sobjects import sobject_object
from emulator.org.values import format_datetime, parse_datetime
from emulator.org.writes import now_utc

DELETED_WINDOW = dt.timedelta(days=15)
UPDATED_WINDOW = dt.timedelta(days=30)
INVALID_DATE = "INVALID_REPLICATION_DATE"
_ZONE_SPACE = re.compile(r" (\d{2}:?\d{2})$")


def changed_records(call: Call) -> Reply:
    """GET ``sobjects/X/deleted`` or ``sobjects/X/updated``."""
    obj = sobject_object(call, call.segments[1])
    if obj.kind is ObjectKind.PLATFORM_EVENT:
        raise not_found()
    start, end = _moment(call.args, "start"), _moment(call.args, "end")
    if start >= end:
        raise ApiError(400, INVALID_DATE, "startDate must chronologically precede endDate")
    now = now_utc()
    deleted = call.segments[2] == "deleted"
    if not deleted and start < now - UPDATED_WINDOW:
        raise ApiError(400, INVALID_DATE, "startDate cannot be more than 30 days ago")
    latest = min(end, now)
    rows = [r for r in call.tx.rows(obj.name) if start <= _stamp(r) <= latest]
    rows.sort(key=_stamp)
    return Reply(200, _deleted(rows, now, latest) if deleted else _updated(rows, latest))


def _deleted(rows: list[dict[str, Any]], now: dt.datetime, latest: dt.datetime) -> dict[str, Any]:
    gone = [{"id": r["Id"], "deletedDate": format_datetime(_stamp(r))}
            for r in rows if r.get("IsDeleted")]
    earliest = _to_minute(now - DELETED_WINDOW)
    return {"deletedRecords": gone, "earliestDateAvailable": format_datetime(earliest),
            "latestDateCovered": format_datetime(latest)}


def _updated(rows: list[dict[str, Any]], latest: dt.datetime) -> dict[str, Any]:
    ids = [str(r["Id"]) for r in rows if not r.get("IsDeleted")]
    return {"ids": ids, "latestDateCovered": format_datetime(latest)}


def _moment(args: Mapping[str, str], name: str) -> dt.datetime:
    """A ``start``/``end`` parameter as UTC, seconds dropped.

    A ``+`` left unencoded in the query string arrives as a space: read it as ``+`` again.
    """
    raw = args.get(name, "").strip()
    if not raw:
        raise ApiError(400, "MISSING_ARGUMENT", f"Missing required parameter: {name}")
    moment = parse_datetime(_ZONE_SPACE.sub(r"+\1", raw))
    if moment is None:
        raise ApiError(400, INVALID_DATE, f"Invalid {name} date: {raw}")
    return _to_minute(moment)


def _stamp(record: Mapping[str, Any]) -> dt.datetime:
    stamp = record.get("SystemModstamp") or record.get("LastModifiedDate")
    if not isinstance(stamp, dt.datetime):
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _to_minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)
