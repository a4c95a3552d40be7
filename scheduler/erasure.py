"""``forget --email``: erase one person's address from what the daemon keeps.

- Whole addresses only (``ann@acme.co`` never matches inside ``joann@acme.co.uk``), in every
  spelling a text may hold: as given, normalised Unicode, ASCII/IDNA (punycode) and
  JSON-escaped (``\\u00fc``), any case.
- Local inbox: every entry whose payload, change header, error or raw bytes mention the
  address (any case) gets it replaced by ``[erased]`` (raw Avro bytes cannot be edited, so
  they are dropped); then the WAL is checkpointed and truncated and the file VACUUMed with
  ``secure_delete`` on, so no old copy of a page survives in the file or its WAL.
- ``Event_Cache__c``: every row is read (long text cannot be filtered in SOQL; 2,000 rows per
  call) and those mentioning the address in ``Event_Data__c``, ``Processing_Notes__c`` or
  ``Review_Reason__c`` are rewritten without it (200 per call).
- Salesforce records that still hold the address (Leads, Contacts, Workspaces) are listed for
  the admin's own erasure process, not changed: they are the org's records.
- The erasure is recorded in ``STATE/jobs.db`` with an HMAC-SHA-256 of the address under the
  state directory's own random key (``STATE/erasure.key``, 0600), never the address.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from email_validator import EmailNotValidError, validate_email

from handlers.soql import query_url, quote_literal
from scheduler.job_inbox import InboxPlace, Scrub
from scheduler.runs import RunLog
from scheduler.sf_ops import JobsSalesforce

ERASED = "[erased]"
ERASURE_KEY_FILE = "erasure.key"
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


# Whole addresses only: "ann@acme.co" must not match inside "joann@acme.co.uk". Before the
# address no local-part character; after it no domain character (a sentence's full stop is
# fine: "." not followed by a domain character).
_BEFORE = r"(?<![\w.!#$%&'*+/=?^`{|}~-])"
_AFTER = r"(?![\w-]|\.[\w-])"
_BYTES_BEFORE = rb"(?<![A-Za-z0-9_.!#$%&'*+/=?^`{|}~\x80-\xff-])"
_BYTES_AFTER = rb"(?![A-Za-z0-9_\x80-\xff-]|\.[A-Za-z0-9_\x80-\xff-])"


def erasure_key(state_dir: Path) -> bytes:
    """The state directory's own random key for :func:`email_hash` (``STATE/erasure.key``,
    0600, created on first use): an unsalted hash of an address could be reversed by hashing
    candidate addresses; a keyed one only by someone who can read the key."""
    path = state_dir / ERASURE_KEY_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # created meanwhile by another process
        return path.read_bytes()
    with os.fdopen(fd, "wb") as out:
        out.write(key)
        out.flush()
        os.fsync(out.fileno())
    return key


def email_hash(email: str, key: bytes) -> str:
    """HMAC-SHA-256 of the canonical (ASCII, lower-case) address under ``key``."""
    return hmac.new(key, _canonical(email).encode(), hashlib.sha256).hexdigest()


def _canonical(email: str) -> str:
    """The ASCII (IDNA) lower-case form the erasure record hashes."""
    try:
        valid = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError:
        return email.strip().lower()
    return (valid.ascii_email or valid.normalized).lower()


def address_forms(email: str) -> list[str]:
    """Every spelling of the address that a stored text may hold, lower-cased: as given, the
    normalised Unicode form (``ann@bücher.de``), the ASCII/IDNA form
    (``ann@xn--bcher-kva.de``) and the JSON-escaped form (``ann@b\\u00fccher.de``: inbox
    payloads and ``Event_Data__c`` are JSON with ASCII escaping)."""
    given = email.strip().lower()
    forms = [given]
    try:
        valid = validate_email(given, check_deliverability=False)
        forms += [valid.normalized.lower(), (valid.ascii_email or valid.normalized).lower()]
    except EmailNotValidError:
        pass
    forms += [json.dumps(form)[1:-1] for form in list(forms)]
    return list(dict.fromkeys(forms))


def forget(email: str, inbox_file: InboxPlace, sf: JobsSalesforce, runs: RunLog,
           now: dt.datetime) -> ErasureReport:
    forms = address_forms(email)
    report = ErasureReport()
    report.inbox_entries = erase_from_inbox(inbox_file, forms)
    report.cache_rows = _erase_from_cache(sf, forms)
    report.still_holding = _holders(sf, forms)
    key = erasure_key(runs.path.parent)
    runs.record_erasure(now, email_hash(email, key), report.summary())
    return report


def _pattern(forms: list[str]) -> re.Pattern[str]:
    spelled = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    return re.compile(f"{_BEFORE}(?:{spelled}){_AFTER}", re.IGNORECASE)


def _bytes_pattern(forms: list[str]) -> re.Pattern[bytes]:
    spelled = b"|".join(re.escape(f.encode()) for f in sorted(forms, key=len, reverse=True))
    return re.compile(_BYTES_BEFORE + b"(?:" + spelled + b")" + _BYTES_AFTER, re.IGNORECASE)


def erase_from_inbox(path: InboxPlace, forms: list[str]) -> int:
    """Rewrite the entries mentioning the address (any of its ``forms``); returns how many
    changed."""
    scrub = _scrubber(forms)
    if not isinstance(path, Path):
        return path.rewrite(scrub)
    if not path.exists():
        return 0
    changed = 0
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA busy_timeout=10000")
        db.execute("PRAGMA secure_delete=ON")
        db.execute("BEGIN IMMEDIATE")
        rows = db.execute("SELECT id, payload, change, error, raw FROM entries").fetchall()
        for id_, payload, change, error, raw in rows:
            new = scrub(payload, change, error, None if raw is None else bytes(raw))
            if new is None:
                continue
            db.execute("UPDATE entries SET payload = ?, change = ?, error = ?, raw = NULL "
                       "WHERE id = ?", (*new, id_))
            changed += 1
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return changed


def _scrubber(forms: list[str]) -> Scrub:
    """One entry's rewrite with the address erased, or None when it is not mentioned."""
    pattern = _pattern(forms)
    needle = _bytes_pattern(forms)

    def scrub(payload: str | None, change: str | None, error: str | None, raw: bytes | None
              ) -> tuple[str | None, str | None, str] | None:
        texts = [payload or "", change or "", error or ""]
        if not (any(pattern.search(t) for t in texts)
                or (raw is not None and needle.search(raw))):
            return None
        return (_scrub_json(payload, pattern), _scrub_json(change, pattern),
                pattern.sub(ERASED, error or ""))

    return scrub


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


def _erase_from_cache(sf: JobsSalesforce, forms: list[str]) -> int:
    pattern = _pattern(forms)
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


def _holders(sf: JobsSalesforce, forms: list[str]) -> dict[str, list[str]]:
    literals = ", ".join(quote_literal(f) for f in forms if "\\" not in f)
    queries = {"Lead": f"SELECT Id FROM Lead WHERE Email IN ({literals})",
               "Contact": f"SELECT Id FROM Contact WHERE Email IN ({literals})",
               "Workspace__c": f"SELECT Id FROM Workspace__c WHERE Email__c IN ({literals})"}
    subrequests = [{"method": "GET", "url": query_url(sf.api_path, q), "referenceId": obj}
                   for obj, q in queries.items()]
    answers = sf.composite(subrequests, all_or_none=False)
    out: dict[str, list[str]] = {}
    for answer in answers:
        found = answer.get("body")
        body: dict[str, Any] = found if isinstance(found, dict) else {}
        out[str(answer.get("referenceId"))] = [str(r["Id"]) for r in body.get("records", [])]
    return out
