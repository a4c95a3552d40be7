"""retention: keep personal data only as long as it is needed (README, "Retention").

- ``Event_Cache__c`` rows Completed more than ``completed_days`` ago are deleted (they were
  kept for audit; the Workspace's history lines keep what happened), except conflict review
  rows (Completed with ``Needs_Review__c``) nobody has reviewed yet: deleting those would hide
  the conflict from ``review list``;
- the payload (``Event_Data__c``) of Error rows parked more than ``error_redact_days`` ago is
  replaced by a note (long text cannot be filtered in SOQL, so old Error rows are read and
  only those still holding a payload are written);
- the local inbox: applied entries past ``inbox.retention_days`` are deleted (their dedupe
  keys are no longer needed after the 72-hour replay window), and poison entries older than
  ``error_redact_days`` lose their payload and raw bytes;
- the scheduler's own run records older than ``job_runs_days``.
Deletes and updates go 200 records per call.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import cast

from handlers.plan import sf_datetime
from handlers.soql import datetime_literal
from scheduler.job_inbox import InboxPlace
from scheduler.runs import RunLog
from scheduler.settings import RetentionSettings
from scheduler.sf_ops import JobsSalesforce
from subscriber.inbox import Inbox
from subscriber.inbox_api import InboxStore

REDACTED = "[payload redacted by lifecycle-sync retention]"
MAX_ROWS_PER_RUN = 10_000


def retention(now: dt.datetime, sf: JobsSalesforce, settings: RetentionSettings,
              inbox: InboxStore, runs: RunLog, place: InboxPlace | None = None) -> str:
    """``place``: where the poison payloads are cleared (default: the SQLite inbox's file)."""
    deleted = _purge_completed(now, sf, settings)
    redacted = _redact_errors(now, sf, settings)
    pruned = inbox.prune()
    where = place if place is not None else cast(Inbox, inbox).path
    cleared = redact_poison(where, now - dt.timedelta(days=settings.error_redact_days))
    runs.prune_runs(now - dt.timedelta(days=settings.job_runs_days))
    return (f"{deleted} Completed parked row(s) deleted, {redacted} Error payload(s) redacted, "
            f"{pruned} applied inbox entries pruned, {cleared} poison payload(s) cleared")


def _purge_completed(now: dt.datetime, sf: JobsSalesforce, settings: RetentionSettings) -> int:
    cutoff = now - dt.timedelta(days=settings.completed_days)
    rows = sf.query("SELECT Id FROM Event_Cache__c WHERE Processing_Status__c = 'Completed' "
                    "AND Needs_Review__c = false "
                    f"AND LastModifiedDate < {datetime_literal(cutoff)} "
                    f"LIMIT {MAX_ROWS_PER_RUN}")
    ids = [str(r["Id"]) for r in rows]
    failed = sf.delete(ids) if ids else {}
    return len(ids) - len(failed)


def _redact_errors(now: dt.datetime, sf: JobsSalesforce, settings: RetentionSettings) -> int:
    cutoff = now - dt.timedelta(days=settings.error_redact_days)
    rows = sf.query("SELECT Event_Uuid__c, Event_Data__c, Processing_Notes__c "
                    "FROM Event_Cache__c WHERE Processing_Status__c = 'Error' "
                    f"AND CreatedDate < {datetime_literal(cutoff)} LIMIT {MAX_ROWS_PER_RUN}")
    updates = [{"Event_Uuid__c": r["Event_Uuid__c"], "Event_Data__c": REDACTED,
                "Processing_Notes__c": (f"{r.get('Processing_Notes__c') or ''}\n"
                                        f"{sf_datetime(now)} payload redacted after "
                                        f"{settings.error_redact_days:g} days").strip()}
               for r in rows if r.get("Event_Data__c") and r["Event_Data__c"] != REDACTED]
    failed = sf.upsert("Event_Cache__c", "Event_Uuid__c", updates) if updates else {}
    return len(updates) - len(failed)


def redact_poison(path: InboxPlace, before: dt.datetime) -> int:
    """Clear payload and raw bytes of poison entries received before ``before``."""
    if not isinstance(path, Path):
        return path.redact_poison(before)
    if not path.exists():
        return 0
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA busy_timeout=10000")
        db.execute("PRAGMA secure_delete=ON")
        cur = db.execute("UPDATE entries SET payload = NULL, raw = NULL WHERE status = 'poison' "
                         "AND received_at < ? AND (payload IS NOT NULL OR raw IS NOT NULL)",
                         (before.timestamp(),))
        return cur.rowcount
