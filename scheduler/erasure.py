"""``forget --email``: erase one person's address from what the daemon keeps.

- Local inbox: every entry whose payload, change header, error or raw bytes mention the
  address (any case) gets it replaced by ``[erased]`` (raw Avro bytes cannot be edited, so
  they are dropped); then the WAL is checkpointed and truncated and the file VACUUMed with
  ``secure_delete`` on, so no old copy of a page survives in the file or its WAL.
- ``Event_Cache__c``: every row is read (long text cannot be filtered in SOQL; 2,000 rows per
  call) and those mentioning the address in ``Event_Data__c``, ``Processing_Notes__c`` or
  ``Review_Reason__c`` are rewritten without it (200 per call).
- Salesforce records that still hold the address (Leads, Contacts, Workspaces) are listed for
  the admin's own erasure process, not changed: they are the org's records.
- The erasure is recorded in ``STATE/jobs.db`` with a SHA-256 of the address, never the
  address.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handlers.soql import query_url, quote_literal
from scheduler.runs import RunStore
from scheduler.sf_ops import JobsSalesforce

ERASED = "[erased]"
CACHE_TEXT_FIELDS = ("Event_Data__c", "Processing_Notes__c", "Review_Reason__c")


@dataclass
class ErasureReport:
    inbox_entries: int = 0
    cache_rows: int = 0
    still_holding: dict[str, list[str]] = field(default_factory=dict)  # object → record IDs

    def summary(self) -> str:
        held = ", ".join(f"{len(ids)} {obj}" for obj, ids in self.still_holding.items() if ids)
        return (f"erased from {self.inbox_entries} inbox entries and {self.cache_rows} "
                f"Event_Cache__c rows; Salesforce records still holding it: {held or 'none'}")


def email_hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def forget(email: str, inbox_file: Path, sf: JobsSalesforce, runs: RunStore,
           now: dt.datetime) -> ErasureReport:
    address = email.strip()
    report = ErasureReport()
    report.inbox_entries = erase_from_inbox(inbox_file, address)
    report.cache_rows = _erase_from_cache(sf, address)
    report.still_holding = _holders(sf, address)
    runs.record_erasure(now, email_hash(address), report.summary())
    return report


def _pattern(address: str) -> re.Pattern[str]:
    return re.compile(re.escape(address), re.IGNORECASE)


def erase_from_inbox(path: Path, address: str) -> int:
    """Rewrite the entries mentioning ``address``; returns how many changed."""
    if not path.exists():
        return 0
    pattern = _pattern(address)
    needle = address.lower().encode()
    changed = 0
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA busy_timeout=10000")
        db.execute("PRAGMA secure_delete=ON")
        db.execute("BEGIN IMMEDIATE")
        rows = db.execute("SELECT id, payload, change, error, raw FROM entries").fetchall()
        for id_, payload, change, error, raw in rows:
            texts = [payload or "", change or "", error or ""]
            hit = any(pattern.search(t) for t in texts) or (raw is not None
                                                            and needle in bytes(raw).lower())
            if not hit:
                continue
            db.execute("UPDATE entries SET payload = ?, change = ?, error = ?, raw = NULL "
                       "WHERE id = ?", (_scrub_json(payload, pattern), _scrub_json(change, pattern),
                                        pattern.sub(ERASED, error or ""), id_))
            changed += 1
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return changed


def _scrub_json(text: str | None, pattern: re.Pattern[str]) -> str | None:
    """The JSON with the address replaced in every string (keys and values)."""
    if text is None:
        return None
    try:
        return json.dumps(_scrub_value(json.loads(text), pattern))
    except ValueError:
        return pattern.sub(ERASED, text)


def _scrub_value(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    if isinstance(value, list):
        return [_scrub_value(v, pattern) for v in value]
    if isinstance(value, dict):
        return {pattern.sub(ERASED, str(k)): _scrub_value(v, pattern) for k, v in value.items()}
    return value


def _erase_from_cache(sf: JobsSalesforce, address: str) -> int:
    pattern = _pattern(address)
    rows = sf.query(f"SELECT Event_Uuid__c, {', '.join(CACHE_TEXT_FIELDS)} FROM Event_Cache__c")
    updates = []
    for row in rows:
        changed = {name: pattern.sub(ERASED, str(row[name])) for name in CACHE_TEXT_FIELDS
                   if isinstance(row.get(name), str) and pattern.search(row[name])}
        if changed:
            updates.append({"Event_Uuid__c": row["Event_Uuid__c"], **changed})
    failed = sf.upsert("Event_Cache__c", "Event_Uuid__c", updates) if updates else {}
    if failed:
        raise ErasureIncomplete(f"{len(failed)} Event_Cache__c row(s) could not be rewritten: "
                                + "; ".join(list(failed.values())[:3]))
    return len(updates)


class ErasureIncomplete(Exception):
    error_class = "erasure incomplete"


def _holders(sf: JobsSalesforce, address: str) -> dict[str, list[str]]:
    literal = quote_literal(address)
    queries = {"Lead": f"SELECT Id FROM Lead WHERE Email = {literal}",
               "Contact": f"SELECT Id FROM Contact WHERE Email = {literal}",
               "Workspace__c": f"SELECT Id FROM Workspace__c WHERE Email__c = {literal}"}
    subrequests = [{"method": "GET", "url": query_url(sf.api_path, q), "referenceId": obj}
                   for obj, q in queries.items()]
    answers = sf.composite(subrequests, all_or_none=False)
    out: dict[str, list[str]] = {}
    for answer in answers:
        found = answer.get("body")
        body: dict[str, Any] = found if isinstance(found, dict) else {}
        out[str(answer.get("referenceId"))] = [str(r["Id"]) for r in body.get("records", [])]
    return out
