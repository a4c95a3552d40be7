"""Reads of the local inbox the jobs need (its own read-only SQLite connection, safe beside
the daemon's): the email of a parked event, at no API call. (Usage figures for alerts are not
read here: the inbox prunes applied events; they live on ``Workspace__c.Latest_Usage__c``.)"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

from scheduler.job_inbox import InboxPlace
from subscriber.inbox_file import readonly_uri

_CHUNK = 500  # SQLite's variable limit is far above; keeps statements short


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(readonly_uri(path), uri=True, isolation_level=None)


def _payloads(path: InboxPlace, column: str, values: list[str]
              ) -> list[tuple[str, dict[str, Any]]]:
    """(key, payload) of platform-event entries whose ``column`` is one of ``values``."""
    if not isinstance(path, Path):
        return path.payloads(column, values) if values else []
    if not values or not path.exists():
        return []
    out: list[tuple[str, dict[str, Any]]] = []
    key_sql = {"event_id": "event_id",
               "workspace": "lower(json_extract(payload, '$.Workspace_ID__c'))"}[column]
    with closing(_connect(path)) as db:
        for start in range(0, len(values), _CHUNK):
            chunk = values[start:start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = db.execute(f"SELECT {key_sql}, payload FROM entries "  # noqa: S608
                              f"WHERE payload IS NOT NULL AND {key_sql} IN ({marks})", chunk)
            for key, payload in rows:
                try:
                    out.append((str(key), dict(json.loads(payload))))
                except (ValueError, TypeError):
                    continue
    return out


def emails_by_event(path: InboxPlace, event_ids: Iterable[str]) -> dict[str, str]:
    """``Email__c`` of the events still in the inbox, by event UUID."""
    found = _payloads(path, "event_id", sorted(set(event_ids)))
    return {key: str(p["Email__c"]) for key, p in found
            if isinstance(p.get("Email__c"), str) and p["Email__c"].strip()}
