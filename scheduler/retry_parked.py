"""retry-parked: re-apply ``Event_Cache__c`` rows that are New or Error and due.

Each cycle reads up to ``batch_size`` due rows in one query, ordered per Workspace by event
time, rebuilds their events and runs them through the apply side's own cycle
(:func:`handlers.cycle.run_cycle`: the same rules, the same gateway, the same batching),
then records every row's attempt in one sObject Collections upsert by ``Event_Uuid__c``:
Completed when it applied; otherwise ``Retry_Count__c`` + 1, ``Next_Attempt_At__c`` pushed
out exponentially and a line in ``Processing_Notes__c``; past ``max_attempts`` the row is
flagged ``Needs_Review__c`` with a bounded reason (:func:`gave_up_reason`; the detail in
the notes). Completed rows stay for audit until retention
purges them. A row that cannot be rebuilt into a valid event (invalid event data, a Trial
whose email is no longer known) is set aside at once (no attempts left, flagged, its own
review reason kept): retrying it could only overwrite that reason. Lead-change rows
(``GAP_OVERFLOW``) are not lifecycle events and are left to the reviewer. A crash between
the re-apply and the bookkeeping repeats the attempt, which the idempotent rules turn into
no writes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from handlers.cycle import CycleResult, run_cycle
from handlers.events import Invalid
from handlers.gateway_api import Gateway
from handlers.parse import parse_entry
from handlers.plan import NOTES_MAX_CHARS, sf_datetime
from handlers.soql import datetime_literal
from scheduler.runner import Idle
from scheduler.settings import RetrySettings
from scheduler.sf_ops import JobsSalesforce
from service.apply_batches import claim_keys
from subscriber.events import EntryKind, EntryStatus, InboxEntry

TRIAL_TOPIC = "/event/SelfServeTrialEvent__e"
FIELDS = ("Id", "Event_Uuid__c", "Event_Type__c", "Workspace_ID__c", "Replay_Id__c",
          "Event_Data__c", "Original_Timestamp__c", "Processing_Status__c", "Retry_Count__c",
          "Processing_Notes__c", "Needs_Review__c", "Review_Reason__c")
MAX_CYCLES_PER_RUN = 10
EmailLookup = Callable[[Iterable[str]], dict[str, str]]
# Claims Workspace/email keys from the apply loop for the body (ApplyLoop.holding), so a
# Workspace is never in an apply cycle and a retry cycle at once.
Hold = Callable[[frozenset[str]], AbstractContextManager[None]]


def no_hold(keys: frozenset[str]) -> AbstractContextManager[None]:
    """``jobs run`` with the daemon stopped: no apply loop to share Workspaces with."""
    del keys
    return contextlib.nullcontext()


@dataclass
class RetryTotals:
    completed: int = 0
    waiting: int = 0
    review: int = 0
    failed_writes: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"{self.completed} completed, {self.waiting} still waiting, {self.review} "
                f"flagged for review, {self.failed_writes} bookkeeping writes refused")
        if not (self.completed or self.waiting or self.review or self.failed_writes):
            return Idle(text)  # nothing due, every 5 min: logged at DEBUG only
        return text


def due_query(now: dt.datetime, settings: RetrySettings) -> str:
    """The due rows, oldest first per Workspace (no value here comes from an event)."""
    return (f"SELECT {', '.join(FIELDS)} FROM Event_Cache__c "
            "WHERE Processing_Status__c IN ('New', 'Error') "
            "AND Event_Type__c IN ('Trial', 'Conversion', 'Churn') "
            f"AND (Retry_Count__c = null OR Retry_Count__c < {int(settings.max_attempts)}) "
            f"AND (Next_Attempt_At__c = null OR Next_Attempt_At__c <= {datetime_literal(now)}) "
            "ORDER BY Workspace_ID__c, Original_Timestamp__c, Event_Uuid__c "
            f"LIMIT {int(settings.batch_size)}")


def retry_parked(now: dt.datetime, sf: JobsSalesforce, gateway: Gateway,
                 settings: RetrySettings, emails: EmailLookup, client_name: str,
                 hold: Hold = no_hold) -> str:
    totals = RetryTotals()
    for _ in range(MAX_CYCLES_PER_RUN):
        rows = sf.query(due_query(now, settings))
        if not rows:
            break
        _cycle(rows, now, _Deps(sf, gateway, settings, emails, client_name, hold), totals)
        if len(rows) < settings.batch_size:
            break
    return totals.summary()


@dataclass(frozen=True)
class _Deps:
    sf: JobsSalesforce
    gateway: Gateway
    settings: RetrySettings
    emails: EmailLookup
    client_name: str
    hold: Hold


def _cycle(rows: list[dict[str, Any]], now: dt.datetime, deps: _Deps, totals: RetryTotals
           ) -> None:
    found = deps.emails(str(r["Event_Uuid__c"]) for r in rows
                        if r.get("Event_Type__c") == "Trial")
    retryable: dict[int, InboxEntry] = {}
    unusable: dict[int, str] = {}
    for n, row in enumerate(rows, 1):
        entry, why_not = rebuild(n, row, now, found, deps.client_name)
        if entry is None:
            unusable[n] = why_not
        else:
            retryable[n] = entry
    keys = frozenset(k for e in retryable.values() for k in claim_keys(e) or ())
    with deps.hold(keys):
        result = (run_cycle(list(retryable.values()), deps.gateway, deps.client_name)
                  if retryable else CycleResult())
        updates = [_set_aside(row, unusable[n], now, deps.settings, totals) if n in unusable
                   else _bookkeeping(row, result, n, now, deps.settings, totals)
                   for n, row in enumerate(rows, 1)]
        refused = deps.sf.upsert("Event_Cache__c", "Event_Uuid__c", updates)
    totals.failed_writes += len(refused)


def rebuild(n: int, row: dict[str, Any], now: dt.datetime, emails: dict[str, str],
            client_name: str) -> tuple[InboxEntry | None, str]:
    """The parked event as the inbox entry it came from, or why it cannot be re-applied
    (the row does not hold what the event needs: a Trial's email, valid event data)."""
    entry = entry_of(n, row, now, emails)
    if entry is None:
        return None, ("a Trial cannot be re-applied without its email, which the row does not "
                      "keep and the local inbox no longer holds")
    parsed = parse_entry(entry, client_name)
    if isinstance(parsed, Invalid):
        return None, f"the parked event cannot be re-applied as it is: {parsed.note}"
    return entry, ""


def entry_of(n: int, row: dict[str, Any], now: dt.datetime, emails: dict[str, str]
             ) -> InboxEntry | None:
    """The parked event as the inbox entry it came from; None for a Trial whose email is
    no longer known (the cache row does not keep it)."""
    uuid = str(row["Event_Uuid__c"])
    email = emails.get(uuid)
    if row.get("Event_Type__c") == "Trial" and email is None:
        return None
    payload = {"Event_Type__c": row.get("Event_Type__c"),
               "Workspace_ID__c": row.get("Workspace_ID__c"),
               "Event_Data__c": row.get("Event_Data__c"), "Email__c": email,
               "Event_Timestamp__c": row.get("Original_Timestamp__c")}
    try:
        replay = bytes.fromhex(str(row.get("Replay_Id__c") or ""))
    except ValueError:
        replay = b""
    return InboxEntry(id=n, topic=TRIAL_TOPIC, kind=EntryKind.EVENT,
                      status=EntryStatus.PENDING, replay_id=replay, event_id=uuid,
                      schema_id="", dedupe_key=uuid, received_at=now, payload=payload)


def _set_aside(row: dict[str, Any], why: str, now: dt.datetime, settings: RetrySettings,
               totals: RetryTotals) -> dict[str, Any]:
    """A row retrying cannot help: no more attempts, flagged for review, its existing review
    reason kept (e.g. "reconcile: GAP_OVERFLOW" or the validation error)."""
    totals.review += 1
    uuid = str(row["Event_Uuid__c"])
    body: dict[str, Any] = {
        "Event_Uuid__c": uuid, "Retry_Count__c": settings.max_attempts,
        "Next_Attempt_At__c": None, "Needs_Review__c": True,
        "Processing_Notes__c": _notes(row, now, f"not retried automatically: {why} "
                                      f"(event {uuid}, replay {row.get('Replay_Id__c') or '?'})")}
    if not row.get("Review_Reason__c"):
        body["Review_Reason__c"] = why[:255]
    return body


def _bookkeeping(row: dict[str, Any], result: CycleResult, n: int, now: dt.datetime,
                 settings: RetrySettings, totals: RetryTotals) -> dict[str, Any]:
    uuid = str(row["Event_Uuid__c"])
    attempt = int(row.get("Retry_Count__c") or 0) + 1
    trace = f"event {uuid}, replay {row.get('Replay_Id__c') or '?'}"
    if n in result.applied:
        totals.completed += 1
        line = f"retry {attempt}: applied ({trace})"
        conflict = result.flagged.get(uuid)
        if conflict is not None:  # the cycle flagged it (a conflict): keep it for review
            return {"Event_Uuid__c": uuid, "Processing_Status__c": "Completed",
                    "Retry_Count__c": attempt, "Next_Attempt_At__c": None,
                    "Needs_Review__c": True, "Review_Reason__c": conflict[:255],
                    "Processing_Notes__c": _notes(row, now, f"{line}; {conflict}")}
        if row.get("Needs_Review__c"):  # out of the reviewers' queue, saying why
            line += (f"; review no longer needed (was: {row.get('Review_Reason__c') or '?'})")
        return {"Event_Uuid__c": uuid, "Processing_Status__c": "Completed",
                "Retry_Count__c": attempt, "Next_Attempt_At__c": None,
                "Needs_Review__c": False, "Review_Reason__c": None,
                "Processing_Notes__c": _notes(row, now, line)}
    why = result.parked.get(n) or result.retry.get(n) or "not applied"
    body: dict[str, Any] = {"Event_Uuid__c": uuid, "Retry_Count__c": attempt}
    if attempt >= settings.max_attempts:
        totals.review += 1
        reason = f"gave up after {attempt} retries: {why}"  # the detail: in the notes
        body.update(Processing_Status__c="Error", Needs_Review__c=True,
                    Review_Reason__c=gave_up_reason(why, n in result.parked),
                    Next_Attempt_At__c=None)
        body["Processing_Notes__c"] = _notes(row, now, f"retry {attempt}: {reason} ({trace})")
        return body
    totals.waiting += 1
    body["Next_Attempt_At__c"] = sf_datetime(now + backoff(attempt, settings))
    body["Processing_Notes__c"] = _notes(row, now, f"retry {attempt}: {why} ({trace})")
    return body


def gave_up_reason(why: str, parked: bool) -> str:
    """``Review_Reason__c`` of a row given up on: a bounded class the admins' dashboard
    groups by (the Salesforce error code, or what kept it parked), never free text with
    IDs; the full message goes into ``Processing_Notes__c``."""
    code = _ERROR_CODE.match(why)
    kind = code.group(1) if code else ("still parked by the rules" if parked else "not applied")
    return f"gave up after retries: {kind}"


_ERROR_CODE = re.compile(r"(?:Salesforce refused the Workspace write: )?"
                         r"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+):")


def backoff(attempt: int, settings: RetrySettings) -> dt.timedelta:
    """``backoff_initial_min`` * 2^(attempt-1), at most ``backoff_max_min``."""
    minutes = min(settings.backoff_max_min, settings.backoff_initial_min * 2 ** (attempt - 1))
    return dt.timedelta(minutes=minutes)


def _notes(row: dict[str, Any], now: dt.datetime, line: str) -> str:
    text = f"{row.get('Processing_Notes__c') or ''}\n{sf_datetime(now)} {line}".strip()
    return text[-NOTES_MAX_CHARS:]
